# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 2 — The affine coupling layer (thesis sections 2.1.1-2.1.2, eq. 3-6)
#
# A coupling layer splits $x$ into a part $x_a = x_{1:d}$ that it copies and a part
# $x_b = x_{d+1:D}$ that it scales and shifts, with scale and shift computed from $x_a$ only:
#
# $$y_a = x_a, \qquad y_b = x_b \odot \exp(s(x_a)) + t(x_a) \qquad \text{(eq. 3)}$$
#
# $$x_a = y_a, \qquad x_b = (y_b - t(y_a)) \odot \exp(-s(y_a)) \qquad \text{(eq. 4)}$$
#
# Because $y_a$ does not depend on $x_b$, the Jacobian is block lower triangular (eq. 5-6),
# its diagonal is $(1, \dots, 1, e^{s_1}, \dots, e^{s_{D-d}})$, and
# $\log|\det J| = \sum_j s_j(x_a)$: $O(D)$ work instead of the $O(D^3)$ of a general determinant.
# $s$ and $t$ can be any network — the inverse never inverts the network, it only re-evaluates it.
#
# **One change to eq. 3 that minflow makes (the thesis does not):** the scale is bounded,
# $s(x_a) = s_{\max} \tanh(s_{\mathrm{raw}}(x_a) / s_{\max})$ with $s_{\max} = 2$ by default, where $s_{\mathrm{raw}}$ is the
# network's output. Why: $e^{s}$ multiplies $x_b$, and an unbounded $s$ lets one bad training step (a large
# $s_{\mathrm{raw}}$) overflow $e^{s}$ or send log-likelihoods to $\pm\infty$; with the bound each layer scales by at most
# $e^{\pm 2} \approx 7.4$ or $1/7.4$. Near zero $s \approx s_{\mathrm{raw}}$, so a small $s$ is eq. 3 unchanged; the Jacobian's
# structure and $\log|\det J| = \sum_j s_j$ (eq. 6) hold for the bounded $s$ exactly as written. A deeper
# flow can still scale by more in total (8 layers: up to $e^{16}$). Lesson 12 asks whether a trained
# model pushes any scale to the bound.
#
# Run: `.venv/bin/python lessons/02_affine_coupling.py` (`--help` lists the options).

# %%
import _lesson  # first: headless plotting, one BLAS thread

import time
import timeit
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from autograd import jacobian
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

import minflow


@dataclass(frozen=True)
class Config:
    """Lesson 2: forward, inverse and the triangular Jacobian of one affine coupling layer."""

    seed: int = 0
    dim: int = 6                  # D; the layer copies the first d = D // 2 coordinates
    hidden: tuple = (16, 16)      # widths of the conditioner MLP that outputs s and t
    n_points: int = 200           # rows of the batch used for the round trip
    param_scale: float = 0.5      # size of the random parameters (a new layer is the identity)
    timing_dims: tuple = (16, 64, 256, 1024)
    mask_dims: tuple = (6, 7)     # the mask diagram: RealNVP flows of these D (one even, one odd) ...
    mask_layers: int = 4          # ... with this many coupling layers


lesson = _lesson.Lesson("02_affine_coupling", Config, tiny=dict(n_points=20, timing_dims=(16, 64)),
                        thesis=dict(dim=100, hidden=(64, 64)))
cfg = lesson.config
rng = np.random.default_rng(cfg.seed)

# %% [markdown]
# ## 2.1.1 — Construction: forward (eq. 3) and inverse (eq. 4)
#
# `minflow.AffineCoupling` holds only the structure; its numbers live in `params`, a list of
# $(W, b)$ pairs of the MLP. A new layer has a zero output layer — it is the identity, which
# would make this lesson dull — so we replace every parameter by random noise.
# `layer.forward` and `layer.inverse` below are the readable reference code of
# `minflow/bijectors/`; a whole flow (lesson 3 on) also has an `engine` that chooses which code
# computes its `log_prob` and training gradient ("reference": this code).

# %%
layer = minflow.AffineCoupling(cfg.dim, cfg.hidden)
params = [(cfg.param_scale * rng.standard_normal(W.shape), cfg.param_scale * rng.standard_normal(b.shape))
          for W, b in layer.init(rng)]
d = layer.split.d_a
lesson.record("copied_coordinates_d", d)  # the layer copies x_{1:d} and transforms the other D - d
x = rng.standard_normal((cfg.n_points, cfg.dim))

y, log_det = layer.forward(params, x)
x_back, log_det_inv = layer.inverse(params, y)

# eq. 3: y_{1:d} = x_{1:d} — the copied half is untouched, bit for bit
copied_exactly = np.array_equal(y[:, :d], x[:, :d])
# eq. 4 undoes eq. 3: x = f^{-1}(f(x))
round_trip = float(np.abs(x_back - x).max())
lesson.record("round_trip_max_error", round_trip, ".2e")

# %% [markdown]
# ## 2.1.2 — The Jacobian (eq. 5-6)
#
# autograd gives the full $D \times D$ Jacobian of the layer at one point. The analytic claim is:
# top-right block $\partial y_a / \partial x_b = 0$, top-left $= I_d$, bottom-right $= \operatorname{diag}(e^{s(x_a)})$.

# %%
x0 = x[0]
J = jacobian(lambda v: layer.forward(params, v[None, :])[0][0])(x0)
s0, t0 = layer.scale_shift(params, x0[None, :d])
s0 = s0[0]

# eq. 6: the top-right block is zero, the top-left block is the identity
top_right = float(np.abs(J[:d, d:]).max())
top_left = float(np.abs(J[:d, :d] - np.eye(d)).max())
# eq. 6: the bottom-right block is diag(exp(s(x_a)))
bottom_right = float(np.abs(J[d:, d:] - np.diag(np.exp(s0))).max())
# det of a triangular matrix = product of its diagonal, so log|det J| = sum_j s_j(x_a)
logdet_brute = np.linalg.slogdet(J)[1]
logdet_error = abs(logdet_brute - float(np.sum(s0)))
lesson.record("jacobian_top_right_max", top_right, ".1e")
lesson.record("jacobian_bottom_right_vs_exp_s", bottom_right, ".1e")
lesson.record("logdet_slogdet_vs_sum_s", logdet_error, ".1e")
print("The Jacobian at x0 (rounded):")
print(np.array2string(J, precision=2, suppress_small=True))

fig, axes = plt.subplots(1, 2, figsize=(11, 4.3), gridspec_kw=dict(width_ratios=(1.1, 1)))
lim = np.abs(J).max()
im = axes[0].imshow(J, cmap="RdBu_r", vmin=-lim, vmax=lim)
axes[0].axhline(d - 0.5, color="k", lw=1)
axes[0].axvline(d - 0.5, color="k", lw=1)
axes[0].text(d + (cfg.dim - d) / 2 - 0.5, d / 2 - 0.5, "0", ha="center", va="center", fontsize=16)
axes[0].set(title="autograd Jacobian dy/dx at one point (eq. 5)", xlabel="input coordinate j (x_j)",
            ylabel="output coordinate i (y_i)")
fig.colorbar(im, ax=axes[0], label="dy_i / dx_j")
idx = np.arange(cfg.dim)
axes[1].plot(idx, np.diag(J), "o", ms=10, mfc="none", label="diagonal of autograd's Jacobian")
axes[1].plot(idx, np.concatenate([np.ones(d), np.exp(s0)]), "x", ms=8, label="analytic: 1 (copied), exp(s_j)")
axes[1].set(title="the diagonal (eq. 6)", xlabel="coordinate", ylabel="dy_i / dx_i")
axes[1].legend()
lesson.savefig(fig, "jacobian",
               f"The Jacobian of one affine coupling layer (D = {cfg.dim}) at one point: block lower "
               "triangular with a zero top-right block (left); its diagonal equals 1 on the copied half "
               "and exp(s(x_a)) on the transformed half (right), so log|det J| = sum_j s_j.")

# %% [markdown]
# ## The inverse's log-determinant (eq. 4)
#
# Sampling runs eq. 4, so its log-determinant matters too. Two routes give it.
#
# *Inverse function theorem.* $f^{-1}(f(x)) = x$, so the chain rule gives $J_{f^{-1}}(y)\, J_f(x) = I$ at $y = f(x)$:
#
# $$J_{f^{-1}}(y) = J_f(x)^{-1} \quad\Longrightarrow\quad
# \log\left|\det J_{f^{-1}}(y)\right| = -\log\left|\det J_f(x)\right| = -\sum_j s_j(x_a).$$
#
# *The triangular Jacobian.* Eq. 4 has the shape of eq. 3: it copies $x_a = y_a$, and $x_b$ depends on $y_b$
# through the factor $e^{-s(y_a)}$ only, so its Jacobian is block lower triangular with diagonal
# $(1, \dots, 1, e^{-s_1(y_a)}, \dots, e^{-s_{D-d}(y_a)})$. Since $y_a = x_a$, $s(y_a) = s(x_a)$ and the sum of the
# logs of the diagonal is again $-\sum_j s_j(x_a)$.
#
# The cell checks both: autograd's Jacobian of eq. 4 at $y_0 = f(x_0)$ times that of eq. 3 at $x_0$ is the
# identity, its `slogdet` is $-\sum_j s_j$, and the log-determinant `layer.inverse` returns is minus the
# forward's for every row of the batch.

# %%
J_inv = jacobian(lambda v: layer.inverse(params, v[None, :])[0][0])(y[0])
# inverse function theorem: J_{f^-1}(f(x0)) J_f(x0) = I (relative to the size of the entries multiplied)
inverse_times_forward = float(np.abs(J_inv @ J - np.eye(cfg.dim)).max() / max(1.0, np.abs(J_inv).max() * np.abs(J).max()))
# triangular: log|det J_{f^-1}| = sum of the logs of exp(-s_j) = -sum_j s_j(x_a)
inverse_slogdet_error = abs(np.linalg.slogdet(J_inv)[1] + float(np.sum(s0)))
# the inverse map's log-determinant, as layer.inverse returns it, is minus the forward one on the whole batch
inv_logdet_error = float(np.abs(log_det + log_det_inv).max())
lesson.record("inverse_jacobian_times_forward_minus_identity", inverse_times_forward, ".1e")
lesson.record("inverse_logdet_plus_forward_logdet", inv_logdet_error, ".2e")

# %% [markdown]
# ## Stacking layers: which columns each coupling copies
#
# A layer never changes its $x_a$, so a flow stacks layers that trade roles: what one layer copies, the next
# transforms. `minflow.RealNVP` picks the split with `mask` — `"half"` (eq. 3's $x_a = x_{1:d}$) or `"alternate"`
# (interleaved columns) — and flips it from one layer to the next (`Split` in `minflow/bijectors/coupling.py`).
# The diagram below is read from the `split` of every coupling layer of real flows, for an even and an odd $D$;
# with odd $D$ the two parts differ in size by one column.

# %%
mask_rows = {}  # (mask, D) -> per layer: (columns copied x_a, columns transformed x_b), as the library built them
for mask in ("half", "alternate"):
    for D in cfg.mask_dims:
        flow = minflow.RealNVP(D, cfg.mask_layers, (8,), mask=mask, rng=np.random.default_rng(cfg.seed))
        mask_rows[mask, D] = [(layer_k.split.idx_a.tolist(), layer_k.split.idx_b.tolist())
                              for layer_k in flow.layers if hasattr(layer_k, "split")]
# after any two consecutive layers, every column has been transformed once
every_column_transformed = all(sorted(rows[k][1] + rows[k + 1][1]) == list(range(D))
                               for (mask, D), rows in mask_rows.items() for k in range(len(rows) - 1))
lesson.record("masks_copied_columns", {f"{m}, D={D}": [a for a, _ in rows] for (m, D), rows in mask_rows.items()})
lesson.record("every_column_transformed_by_two_consecutive_layers", every_column_transformed)

fig, axes = plt.subplots(2, len(cfg.mask_dims), figsize=(4.2 * len(cfg.mask_dims), 5.4), layout="constrained",
                         squeeze=False)
cmap = ListedColormap(["0.85", "C0"])
for r, mask in enumerate(("half", "alternate")):
    for c, D in enumerate(cfg.mask_dims):
        ax, rows = axes[r, c], mask_rows[mask, D]
        grid = np.zeros((len(rows), D))
        for k, (_, idx_b) in enumerate(rows):
            grid[k, idx_b] = 1
        ax.imshow(grid, cmap=cmap, vmin=0, vmax=1, aspect="auto")
        for k, (idx_a, idx_b) in enumerate(rows):
            for j in idx_a:
                ax.text(j, k, "a", ha="center", va="center", fontsize=9)
            for j in idx_b:
                ax.text(j, k, "b", ha="center", va="center", fontsize=9, color="white")
        ax.set_xticks(np.arange(D))
        ax.set_yticks(np.arange(len(rows)), [str(k + 1) for k in range(len(rows))])
        ax.set_xticks(np.arange(D + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(len(rows) + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", lw=2)
        ax.tick_params(which="minor", length=0)
        ax.set(title=f'mask="{mask}", D = {D}', xlabel="column j of x (0-based)", ylabel="coupling layer k (1: first on x)")
fig.legend(handles=[Patch(color="0.85", label="a: copied, x_a (y_a = x_a)"),
                    Patch(color="C0", label="b: transformed, x_b (scaled by exp(s(x_a)), shifted by t(x_a))")],
           loc="outside lower center", ncol=2, fontsize=9)
lesson.savefig(fig, "masks",
               f"Which columns each of the {cfg.mask_layers} coupling layers of minflow.RealNVP copies (a, grey) and "
               f"transforms (b, blue), read from the layers' own splits, for mask='half' (top) and mask='alternate' "
               f"(bottom) at D = {' and '.join(map(str, cfg.mask_dims))}: consecutive layers swap the two parts, "
               "so every column is transformed every two layers; with odd D the parts differ by one column.")

# %% [markdown]
# ## Why the determinant is $O(D)$
#
# A general determinant (LU factorisation, `slogdet`) costs $O(D^3)$; the coupling layer's
# is a sum of $D - d$ numbers it has already computed. Timings on this machine (each the best of 7 repeats
# after a warm-up call; still noisy):

# %%
def best_seconds(fn, repeat=7, block=0.005):
    """Seconds per call of fn(): one warm-up call first (a cold first call pays for caches and lazy set-up,
    which once made the O(D) sum look slower than slogdet at small D), then the best of `repeat` blocks of
    calls (each block about `block` seconds long): the block least disturbed by other jobs on the machine."""
    start = time.perf_counter()
    fn()
    number = max(1, min(1000, int(block / max(time.perf_counter() - start, 1e-7))))
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


rows = []
for D in cfg.timing_dims:
    A = rng.standard_normal((D, D)) + D * np.eye(D)
    s = rng.standard_normal(D // 2)
    t_dense = best_seconds(lambda: np.linalg.slogdet(A))
    t_sum = best_seconds(lambda: np.sum(s))
    rows.append({"D": D, "slogdet_seconds": t_dense, "sum_s_seconds": t_sum})
    print(f"  D = {D:5d}: slogdet {t_dense * 1e6:9.1f} us   sum(s) {t_sum * 1e6:6.2f} us")
faster = [r["D"] for r in rows if r["sum_s_seconds"] < r["slogdet_seconds"]]
_lesson.say(f"  In this run the sum of s was faster than slogdet at {len(faster)} of {len(rows)} dimensions"
            + (f" (D = {', '.join(map(str, faster))})" if faster and len(faster) < len(rows) else "")
            + f"; from D = {rows[0]['D']} to D = {rows[-1]['D']} slogdet's time grew "
            f"{rows[-1]['slogdet_seconds'] / rows[0]['slogdet_seconds']:.0f}-fold, the sum's changed by a factor "
            f"{rows[-1]['sum_s_seconds'] / rows[0]['sum_s_seconds']:.1f} (at these sizes the sum's time is the cost of "
            "calling it, not its D additions).")
lesson.record("timings", rows)

fig, ax = plt.subplots(figsize=(5.5, 4))
ax.loglog([r["D"] for r in rows], [r["slogdet_seconds"] for r in rows], "o-", label="dense slogdet, O(D^3)")
ax.loglog([r["D"] for r in rows], [r["sum_s_seconds"] for r in rows], "s-", label="sum of s, O(D)")
ax.set(xlabel="dimension D", ylabel="seconds per log-determinant", title="cost of log|det J| (one point)")
ax.legend()
lesson.savefig(fig, "determinant_cost",
               "Seconds for one log-determinant: a dense D x D slogdet against the coupling layer's sum of "
               "s (both measured on this machine, so noisy; small D is dominated by call overhead).")

# %% [markdown]
# ## What this run showed

# %%
lesson.claim("eq. 3 copies x_{1:d} unchanged", copied_exactly)
lesson.claim("eq. 4 inverts eq. 3 to machine precision", round_trip < 1e-12, f"{round_trip:.1e}")
lesson.claim("the inverse's log|det| is minus the forward's (batch), and autograd's inverse Jacobian is the forward's "
             "inverse with slogdet = -sum_j s_j",
             max(inv_logdet_error, inverse_times_forward, inverse_slogdet_error) < 1e-12,
             f"{max(inv_logdet_error, inverse_times_forward, inverse_slogdet_error):.1e}")
lesson.claim("the Jacobian's top-right block is exactly zero (triangular, eq. 5-6)", top_right == 0.0)
lesson.claim("the top-left block is the identity", top_left < 1e-14)
lesson.claim("the bottom-right block is diag(exp(s(x_a))) (eq. 6)", bottom_right < 1e-12, f"{bottom_right:.1e}")
lesson.claim("slogdet of the full Jacobian equals sum_j s_j", logdet_error < 1e-12, f"{logdet_error:.1e}")

# %% [markdown]
# ## Try this
# - `--dim 7`: with odd $D$ the halves have sizes 3 and 4. You should see `copied_coordinates_d = 3`, a $7 \times 7$
#   Jacobian whose top-right $3 \times 4$ block is exactly 0, and all seven claims holding.
# - In Python, build `minflow.AffineCoupling(6, (16, 16), flip=True)` and take its Jacobian as above: you should
#   see the zero block move to the bottom left (the second half is copied, the first transformed: upper
#   triangular), with $e^{s}$ on the first three diagonal entries, as in the even layers of the mask diagram.
# - Make the conditioner huge (`--hidden 512 512`): you should see `round_trip_max_error` still at rounding level
#   (below 1e-12). Why: eq. 4 never inverts the network; it recomputes $s$ and $t$ from the copied half, which the
#   layer did not change.
# - `.venv/bin/python lessons/02_affine_coupling.py --thesis` uses $D = 100$ and the thesis-sized conditioner
#   (64, 64): you should see a $100 \times 100$ Jacobian with the same structure, all seven claims holding.

# %%
lesson.finish()
