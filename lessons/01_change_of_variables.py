# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 1 — Change of variables in 1-D and 2-D (thesis section 2.1, eq. 1-2)
#
# A normalizing flow is one idea: push a simple density through an invertible map and
# keep track of how the map stretches space. If $z = f(x)$ and $Z \sim p_Z$, then
#
# $$p_X(x) = p_Z(f(x)) \left|\frac{d f(x)}{dx}\right| \qquad \text{(eq. 1, 1-D)}$$
#
# $$p_X(x) = p_Z(f(x)) \left|\det J_f(x)\right| \qquad \text{(eq. 2, } D \text{ dimensions)}$$
#
# Here $f$ is made by hand (no learning yet). We check the formula against a histogram
# of transformed samples: the direction convention of minflow is $f$: data $x \to$ latent $z$,
# so we *sample* by running $f^{-1}$ on $z \sim \mathcal{N}(0, I)$ (section 2.1.4).
#
# Run: `.venv/bin/python lessons/01_change_of_variables.py` (`--help` lists the options).

# %%
import _lesson  # first: headless plotting, one BLAS thread

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from autograd import jacobian
from autograd import numpy as anp
from scipy import integrate, stats


@dataclass(frozen=True)
class Config:
    """Lesson 1: the change-of-variables formula against histograms of transformed samples."""

    seed: int = 0
    n_samples: int = 400_000    # samples pushed through f^{-1}
    bins: int = 60              # histogram bins per axis
    shift: float = 0.5          # 1-D map: x = sinh(z + shift)
    scale: float = 1.5          # 2-D map: x1 = scale * z1
    bend: float = 0.6           # 2-D map: x2 = z2 exp(stretch z1) + bend z1^2
    stretch: float = 0.4


lesson = _lesson.Lesson("01_change_of_variables", Config, tiny=dict(n_samples=20_000, bins=30),
                        thesis=dict(n_samples=4_000_000, bins=100))
cfg = lesson.config
rng = np.random.default_rng(cfg.seed)

# %% [markdown]
# ## 2.1 — One dimension (eq. 1)
#
# Take the latent variable $Z \sim \mathcal{N}(0, 1)$ and the bijection $x = f^{-1}(z) = \sinh(z + \text{shift})$.
# Its inverse, the flow direction, is $z = f(x) = \operatorname{asinh}(x) - \text{shift}$, with derivative
# $f'(x) = 1/\sqrt{1 + x^2}$. The density of $X$ follows from eq. 1, without ever sampling.
#
# **Where eq. 1 comes from.** This $f$ is increasing, so $X \le x$ exactly when $Z = f(X) \le f(x)$: the
# distribution functions agree, $F_X(x) = \Phi(f(x))$, with $\Phi$ the distribution function of $p_Z$.
# Differentiate both sides (chain rule):
#
# $$p_X(x) = \frac{d}{dx}\,\Phi(f(x)) = p_Z(f(x))\, f'(x).$$
#
# For a decreasing $f$ the inequality flips, $F_X(x) = 1 - \Phi(f(x))$, and the derivative gains a minus sign:
# $-f'(x) = |f'(x)|$. Both cases together are eq. 1. The cell below checks the result both ways: each
# histogram bin's mass from integrating eq. 1 over the bin, and from the distribution function,
# $\Phi(f(b)) - \Phi(f(a))$ for the bin $[a, b]$.

# %%
def f_1d(x):
    """data -> latent: z = asinh(x) - shift."""
    return np.arcsinh(x) - cfg.shift


def f_inv_1d(z):
    """latent -> data: x = sinh(z + shift)."""
    return np.sinh(z + cfg.shift)


def density_1d(x):
    # eq. 1: p_X(x) = p_Z(f(x)) |f'(x)|, with f'(x) = 1 / sqrt(1 + x^2)
    return stats.norm.pdf(f_1d(x)) / np.sqrt(1.0 + x * x)


z = rng.standard_normal(cfg.n_samples)
x = f_inv_1d(z)
edges = np.linspace(np.quantile(x, 0.005), np.quantile(x, 0.995), cfg.bins + 1)
counts, _ = np.histogram(x, bins=edges)

# The mass of each bin by integrating the formula (eq. 1), against the counts.
mass = np.array([integrate.quad(density_1d, a, b)[0] for a, b in zip(edges[:-1], edges[1:])])
expected = cfg.n_samples * mass
z_scores = (counts - expected) / np.sqrt(expected)
lesson.record("1d_max_abs_bin_z_score", float(np.abs(z_scores).max()), ".2f")

# The density integrates to one (it is a density), and the mass of an interval is the
# prior's mass of its image, Phi(f(b)) - Phi(f(a)): the same number by another route.
total = integrate.quad(density_1d, -np.inf, np.inf)[0]
route_2 = stats.norm.cdf(f_1d(edges[1:])) - stats.norm.cdf(f_1d(edges[:-1]))
lesson.record("1d_integral_of_density", total, ".12f")
lesson.record("1d_max_bin_mass_difference_two_routes", float(np.abs(mass - route_2).max()), ".2e")

# %% [markdown]
# Forgetting the factor $|f'(x)|$ gives $p_Z(f(x))$: the right *shape of the latent*, the wrong
# density in $x$ — it does not even integrate to one.

# %%
forgot = integrate.quad(lambda v: stats.norm.pdf(f_1d(v)), -np.inf, np.inf)[0]
lesson.record("1d_integral_without_jacobian", forgot, ".4f")

centres = 0.5 * (edges[:-1] + edges[1:])
grid = np.linspace(edges[0], edges[-1], 400)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), layout="constrained")
axes[0].hist(z, bins=cfg.bins, density=True, color="0.75", label="samples z ~ N(0, 1)")
zz = np.linspace(-4, 4, 200)
axes[0].plot(zz, stats.norm.pdf(zz), "k", label="p_Z(z)")
axes[0].set(title="latent space", xlabel="z", ylabel="density p_Z(z)")
axes[1].bar(centres, counts / (cfg.n_samples * np.diff(edges)), width=np.diff(edges), color="0.75",
            label="histogram of x = sinh(z + shift)")
axes[1].plot(grid, density_1d(grid), "C0", lw=2, label="eq. 1: p_Z(f(x)) |f'(x)|")
axes[1].plot(grid, stats.norm.pdf(f_1d(grid)), "C3--", label="p_Z(f(x)) without |f'(x)| (wrong)")
axes[1].set(title="data space", xlabel="x", ylabel="density p_X(x)")
# the legends below the panels, where they cover no data: the latent panel's column first, then the data panel's
(h_z, l_z), (h_x, l_x) = axes[0].get_legend_handles_labels(), axes[1].get_legend_handles_labels()
order = [l_x.index(label) for label in ("histogram of x = sinh(z + shift)", "eq. 1: p_Z(f(x)) |f'(x)|",
                                        "p_Z(f(x)) without |f'(x)| (wrong)")]
fig.legend(h_z + [h_x[k] for k in order], l_z + [l_x[k] for k in order], loc="outside lower center", ncol=3, fontsize=8)
lesson.savefig(fig, "change_of_variables_1d",
               "1-D change of variables (eq. 1): the histogram of x = sinh(z + shift), z ~ N(0, 1), "
               "matches p_Z(f(x)) |f'(x)| (blue); without the derivative factor (red, dashed) it does not.")

# %% [markdown]
# ## 2.1 — Two dimensions (eq. 2)
#
# The hand-made 2-D bijection (latent $\to$ data) is
#
# $$x_1 = \text{scale}\cdot z_1, \qquad x_2 = z_2\, e^{\text{stretch}\cdot z_1} + \text{bend}\cdot z_1^2$$
#
# so the flow direction, data $\to$ latent, is $z_1 = x_1/\text{scale}$,
# $z_2 = (x_2 - \text{bend}\, z_1^2)\, e^{-\text{stretch}\, z_1}$. Its Jacobian is lower triangular ($z_1$ does not
# depend on $x_2$), so $\det J_f(x) = e^{-\text{stretch}\, z_1}/\text{scale}$ — the shape of a coupling layer (lesson 2).
#
# ### Where eq. 2 comes from, in $D$ dimensions
#
# Take any region $A$ of data space. $X \in A$ exactly when $Z = f(X) \in f(A)$, so
#
# $$P(X \in A) = \int_{f(A)} p_Z(z)\, dz = \int_A p_Z(f(x))\, \left|\det J_f(x)\right| dx .$$
#
# The second step is the substitution $z = f(x)$ of multivariable calculus: near $x$, $f$ acts like the linear
# map $J_f(x)$, the $D \times D$ matrix of $\partial f_i / \partial x_j$, which sends a small box of volume $dx$ to a
# parallelepiped of volume $|\det J_f(x)|\, dx$. As this holds for every region $A$, the integrand is the
# density of $X$: eq. 2. For $D = 1$, $J_f(x) = f'(x)$ and eq. 2 is eq. 1.
#
# ### A flow is a composition, so its log-determinants add
#
# A flow chains simple maps, $f = f_K \circ \dots \circ f_1$: $h_0 = x$, $h_k = f_k(h_{k-1})$, $z = h_K$. The chain
# rule multiplies their Jacobians, each taken at its own input, and the determinant of a product is the
# product of the determinants:
#
# $$J_f(x) = J_{f_K}(h_{K-1}) \cdots J_{f_1}(h_0)
# \quad\Longrightarrow\quad
# \log p_X(x) = \log p_Z(z) + \sum_{k=1}^{K} \log\left|\det J_{f_k}(h_{k-1})\right| .$$
#
# So each layer only needs its own log-determinant. The map above is such a chain of $K = 3$ steps:
# $f_1(x) = (x_1/\text{scale},\ x_2)$ with $\log|\det J_{f_1}| = -\log \text{scale}$;
# $f_2(u) = (u_1,\ u_2 - \text{bend}\, u_1^2)$, a shear, with $\log|\det J_{f_2}| = 0$;
# $f_3(v) = (v_1,\ v_2\, e^{-\text{stretch}\, v_1})$ with $\log|\det J_{f_3}| = -\text{stretch}\, v_1 = -\text{stretch}\, z_1$.
# Below, autograd's Jacobians of the three steps multiply to that of the whole map, their log-determinants
# add up to the analytic $\log|\det J_f(x)|$, and that equals the `slogdet` of the whole map's Jacobian.

# %%
def f_2d(x):
    """data -> latent, x: (N, 2) -> z: (N, 2)."""
    z1 = x[:, 0] / cfg.scale
    z2 = (x[:, 1] - cfg.bend * z1**2) * anp.exp(-cfg.stretch * z1)
    return anp.stack([z1, z2], axis=1)


def f_inv_2d(z):
    """latent -> data, z: (N, 2) -> x: (N, 2)."""
    x1 = cfg.scale * z[:, 0]
    x2 = z[:, 1] * np.exp(cfg.stretch * z[:, 0]) + cfg.bend * z[:, 0] ** 2
    return np.stack([x1, x2], axis=1)


def log_det_2d(x):
    # det J_f(x) = (1 / scale) * exp(-stretch * z1): the product of the triangular diagonal
    return -np.log(cfg.scale) - cfg.stretch * x[:, 0] / cfg.scale


def log_density_2d(x):
    # eq. 2: log p_X(x) = log p_Z(f(x)) + log |det J_f(x)|
    return stats.multivariate_normal(np.zeros(2), np.eye(2)).logpdf(f_2d(x)) + log_det_2d(x)


z2 = rng.standard_normal((cfg.n_samples, 2))
x2 = f_inv_2d(z2)

# The analytic log-determinant against autograd's full 2 x 2 Jacobian at a few points.
points = x2[:50]
J_full = [jacobian(lambda v: f_2d(v[None, :])[0])(p) for p in points]
brute = np.array([np.linalg.slogdet(J)[1] for J in J_full])
lesson.record("2d_max_logdet_difference_autograd", float(np.abs(brute - log_det_2d(points)).max()), ".2e")

# The same map as a chain of K = 3 steps (data -> latent), f = f3 o f2 o f1, one point v = (v1, v2) at a time.
STEPS = (lambda v: anp.stack([v[0] / cfg.scale, v[1]]),                        # f1: log|det| = -log(scale)
         lambda v: anp.stack([v[0], v[1] - cfg.bend * v[0] ** 2]),              # f2: a shear, log|det| = 0
         lambda v: anp.stack([v[0], v[1] * anp.exp(-cfg.stretch * v[0])]))      # f3: log|det| = -stretch v1
chain_jacobian_error = chain_logdet_error = chain_output_error = 0.0
for p, J in zip(points, J_full):
    h, product, log_dets = p, np.eye(2), []
    for step in STEPS:
        J_k = jacobian(step)(h)  # the step's Jacobian at its own input h_{k-1}
        product, h = J_k @ product, step(h)
        log_dets.append(np.linalg.slogdet(J_k)[1])
    chain_output_error = max(chain_output_error, float(np.abs(h - f_2d(p[None, :])[0]).max()))
    # chain rule: J_f(x) = J_f3(h2) J_f2(h1) J_f1(x); det of a product = product of dets, so log-dets add
    chain_jacobian_error = max(chain_jacobian_error, float(np.abs(product - J).max()))
    chain_logdet_error = max(chain_logdet_error, abs(sum(log_dets) - float(log_det_2d(p[None, :])[0])))
lesson.record("2d_chain_max_jacobian_difference", chain_jacobian_error, ".1e")
lesson.record("2d_chain_max_logdet_sum_difference", chain_logdet_error, ".1e")
# How much the volume change varies over the samples: 0 exactly when det J is the same everywhere.
lesson.record("2d_logdet_spread", float(np.ptp(log_det_2d(x2))), ".3f")

# Histogram in 2-D against the formula: both as probabilities per cell.
lo, hi = np.quantile(x2, 0.01, axis=0), np.quantile(x2, 0.99, axis=0)
ex, ey = np.linspace(lo[0], hi[0], cfg.bins + 1), np.linspace(lo[1], hi[1], cfg.bins + 1)
hist2, _, _ = np.histogram2d(x2[:, 0], x2[:, 1], bins=(ex, ey))
cx, cy = np.meshgrid(0.5 * (ex[:-1] + ex[1:]), 0.5 * (ey[:-1] + ey[1:]), indexing="ij")
cell = (ex[1] - ex[0]) * (ey[1] - ey[0])
p_cell = np.exp(log_density_2d(np.stack([cx.ravel(), cy.ravel()], axis=1))).reshape(cx.shape) * cell
MIN_EXPECTED = 50  # points a cell must expect for its relative error to mean something
busy = p_cell * cfg.n_samples > MIN_EXPECTED
lesson.record("2d_cells_compared", int(busy.sum()))
# Midpoint rule per cell: its error is second order in the cell size, so compare loosely.
rel = np.abs(hist2[busy] / cfg.n_samples - p_cell[busy]) / p_cell[busy]
# Few samples spread over many cells can leave no cell with enough points (e.g. --n-samples 4000 over the
# 60 x 60 grid): then there is nothing to compare, and the run says so instead of taking the median of nothing.
median_rel = float(np.median(rel)) if busy.any() else None
if median_rel is None:
    print(f"  no cell of the {cfg.bins} x {cfg.bins} grid expects more than {MIN_EXPECTED} of the {cfg.n_samples:,} "
          f"points (the busiest expects {p_cell.max() * cfg.n_samples:.1f}): the 2-D histogram cannot be compared "
          "cell by cell; fewer --bins or more --n-samples")
lesson.record("2d_median_relative_cell_error", median_rel, ".3f" if median_rel is not None else None)

# The density integrates to one over a wide grid (eq. 2 is a density).
gx, gy = np.linspace(-9, 9, 721), np.linspace(-12, 30, 1681)
GX, GY = np.meshgrid(gx, gy, indexing="ij")
dens = np.exp(log_density_2d(np.stack([GX.ravel(), GY.ravel()], axis=1))).reshape(GX.shape)
total_2d = float(dens.sum() * (gx[1] - gx[0]) * (gy[1] - gy[0]))
lesson.record("2d_integral_of_density", total_2d, ".6f")

fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
show = slice(0, 3000)
axes[0].scatter(z2[show, 0], z2[show, 1], s=2, alpha=0.4)
axes[0].set(title="latent samples z ~ N(0, I)", xlabel="z1", ylabel="z2", aspect="equal")
axes[1].scatter(x2[show, 0], x2[show, 1], s=2, alpha=0.4, color="C1")
axes[1].set(title="x = f^{-1}(z)", xlabel="x1", ylabel="x2", xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))
im = axes[2].pcolormesh(ex, ey, (hist2 / (cfg.n_samples * cell)).T, cmap="Greys", shading="flat")
fig.colorbar(im, ax=axes[2], label="histogram density")
axes[2].contour(cx, cy, p_cell / cell, levels=6, colors="C0")
axes[2].set(title="histogram (grey) vs eq. 2 (blue contours)", xlabel="x1", ylabel="x2")
lesson.savefig(fig, "change_of_variables_2d",
               "2-D change of variables (eq. 2): samples of N(0, I) (left) pushed through a hand-made "
               "triangular bijection (middle); their histogram (right, grey) against the contours of "
               "p_Z(f(x)) |det J_f(x)| (blue).")

# %% [markdown]
# ## What this run showed

# %%
lesson.claim("the 1-D density of eq. 1 integrates to 1", abs(total - 1) < 1e-8, f"{total:.12f}")
lesson.claim("every 1-D histogram bin agrees with eq. 1 within 5 standard deviations",
             np.abs(z_scores).max() < 5, f"max |z| = {np.abs(z_scores).max():.2f}", depends_on_settings=True)
lesson.claim("integrating eq. 1 over a bin equals the prior mass of its image (two routes)",
             np.abs(mass - route_2).max() < 1e-9, f"{np.abs(mass - route_2).max():.1e}")
lesson.claim("without the derivative factor the 'density' does not integrate to 1", abs(forgot - 1) > 0.05,
             f"{forgot:.3f}")
lesson.claim("the analytic log|det J| equals autograd's slogdet to machine precision",
             np.abs(brute - log_det_2d(points)).max() < 1e-12)
lesson.claim("the 2-D map is the chain f3 o f2 o f1: the steps' Jacobians multiply to the map's (chain rule) "
             "and their log|det|s add up to log|det J_f|",
             max(chain_output_error, chain_jacobian_error, chain_logdet_error) < 1e-12,
             f"{max(chain_jacobian_error, chain_logdet_error):.1e}")
lesson.claim("the 2-D density of eq. 2 integrates to 1 (grid sum)", abs(total_2d - 1) < 2e-3, f"{total_2d:.5f}")
lesson.claim("the 2-D histogram matches eq. 2 cell by cell (median relative error < 10%)",
             median_rel is not None and median_rel < 0.10,
             f"{median_rel:.3f} over {busy.sum()} cells" if median_rel is not None else
             f"no cell expects {MIN_EXPECTED} points: nothing to compare", depends_on_settings=True)

# %% [markdown]
# ## Try this
# - `--stretch 0`: the 2-D map stops stretching $z_2$ by $e^{\text{stretch}\, z_1}$, so $\det J = 1/\text{scale}$ everywhere. You
#   should see `2d_logdet_spread = 0.000` (the default run's is several nats) and every claim still holding.
# - On paper: replace sinh by a map that is *not* one-to-one, $x = z^2$. Both $z$ and $-z$ land on the same $x$, so $f$
#   has no inverse and eq. 1 needs one term per preimage: $p_X(x) = [p_Z(\sqrt{x}) + p_Z(-\sqrt{x})] / (2 \sqrt{x})$.
#   You should find that eq. 1 with one term only gives a "density" that integrates to 1/2.
# - `--n-samples 4000` makes the histograms noisy. You should see the largest 1-D bin |z-score| stay below 5
#   (the z-scores are in units of the noise), but `2d_cells_compared = 0`: no cell of the 60 x 60 grid expects
#   the 50 points the 2-D comparison needs, and the run says so. With `--n-samples 4000 --bins 20` it compares
#   again: you should see the median relative cell error under 10%.
# - At thesis-like precision: `.venv/bin/python lessons/01_change_of_variables.py --thesis` (4 million samples,
#   100 bins): you should see every claim hold, with a smaller median relative 2-D cell error than the default run's.

# %%
lesson.finish()
