# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 10 — Distribution mapping in 2-D (eq. 2; the "distribution mapping" demo)
#
# After lessons 5-9 on Gaussians in 10-100 dimensions, back to two dimensions where we can
# *see* the map. Following the 2-D distribution-mapping demo
# ([aganse/flow_models](https://github.com/aganse/flow_models)), we train one flow on each of three data sets —
# a shifted correlated Gaussian, two moons, a ring of 8 Gaussians — and draw
#
# * data $\to$ latent: the training points $x$ and their images $z = f(x)$, which should look $\mathcal{N}(0, I)$ if the flow
#   fitted the data perfectly (the run checks their mean and covariance, and tests their whole distribution);
# * latent $\to$ data: fresh $z \sim \mathcal{N}(0, I)$ and their images $x = f^{-1}(z)$, new samples (section 2.1.4);
#
# with the 10 most outlying points highlighted on both sides, to see whether "outliers stay
# outliers". Then the change-of-variables consistency table: $\log p_X(x)$ computed directly and
# via $p_Z$ and the log-determinant, both ways round (eq. 2),
#
# $$\log p_X(x) = \log p_Z(f(x)) + \log\left|\det J_f(x)\right|, \qquad \log p_Z(z) = \log p_X(f^{-1}(z)) + \log\left|\det J_{f^{-1}}(z)\right|$$
#
# which must agree to machine precision because the flow is exactly invertible.
#
# Run: `.venv/bin/python lessons/10_mapping_2d.py` (`--help` lists the options).

# %%
import _lesson  # first: headless plotting, one BLAS thread

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

import minflow
from _data import two_moons


@dataclass(frozen=True)
class Config:
    """Lesson 10: train a flow on three 2-D data sets and map points both ways."""

    seed: int = 0
    datasets: tuple = ("shifted_mvn", "two_moons", "ring8")
    n_train: int = 3000
    n_layers: int = minflow.RealNVPSpec.n_layers   # the model's defaults (minflow/spec.py)
    hidden: tuple = minflow.RealNVPSpec.hidden
    epochs: tuple = (15, 60, 80)    # per data set, in the order of `datasets`
    batch_size: int = 256
    lr: float = 3e-3
    engine: str = "primitives"      # the fast kernels (three flows to train); "reference": the readable code
    n_outliers: int = 10            # points highlighted on each side
    n_consistency: int = 100        # points in the consistency table (autograd Jacobian per point)
    moon_noise: float = 0.08
    ring_radius: float = 2.0
    ring_std: float = 0.15


lesson = _lesson.Lesson("10_mapping_2d", Config,
                        tiny=dict(n_train=600, n_layers=2, hidden=(8, 8), epochs=(2, 2, 2), n_consistency=20),
                        thesis=dict(n_train=20_000, epochs=(100, 300, 400), n_consistency=2000))
cfg = lesson.config
rng = np.random.default_rng(cfg.seed)
if len(cfg.epochs) != len(cfg.datasets):
    raise SystemExit(f"error: --epochs needs one value per data set ({len(cfg.datasets)}), got {cfg.epochs}")

# %% [markdown]
# ## The three data sets (samplers written out, no scikit-learn)

# %%
MVN_MEAN = np.array([2.0, -1.0])
MVN_COV = np.array([[1.0, 0.7], [0.7, 0.8]])


def shifted_mvn(n, rng):
    """N(mu, Sigma) away from the origin: the flow must learn a shift and a shear."""
    return rng.multivariate_normal(MVN_MEAN, MVN_COV, size=n)


def moons(n, rng):
    """Two interleaved half circles plus Gaussian noise (lessons/_data.py; lesson 11 uses it too)."""
    return two_moons(n, rng, cfg.moon_noise)


def ring8(n, rng):
    """An equal mixture of 8 Gaussians on a circle: 8 separate modes from one unimodal prior."""
    angle = 2.0 * np.pi * rng.integers(0, 8, n) / 8
    centres = cfg.ring_radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return centres + cfg.ring_std * rng.standard_normal((n, 2))


SAMPLERS = {"shifted_mvn": shifted_mvn, "two_moons": moons, "ring8": ring8}
unknown = [d for d in cfg.datasets if d not in SAMPLERS]
if unknown:
    raise SystemExit(f"error: --datasets: unknown {unknown}; choose from {sorted(SAMPLERS)}")

# %% [markdown]
# ## Train, then map both ways
#
# For each data set: fit by maximum likelihood (eq. 15), then
# * data $\to$ latent: the 10 training points with the lowest model density $\log p_\theta(x)$ are the
#   data-space outliers (orange); where do they land in latent space?
# * latent $\to$ data: the 10 fresh latent points with the largest $\|z\|$ (lowest $p_Z$) are the
#   latent outliers (red); where do they land in data space?
#
# For the two moons we also *watch* the flow: `flow.trace(x)` returns every layer's output, and the frames
# show the training points after each coupling layer, from the data (first panel) to the latent space
# (last). Each layer moves one coordinate and copies the other (eq. 3), so the moons are bent and
# stretched one axis at a time towards the one round blob of $\mathcal{N}(0, I)$ (how close they get, the
# Kolmogorov-Smirnov tests below say). Read backwards, last panel to first, the frames are sampling.

# %%
def limits(pts, mark):
    """Axis limits: the central 99.6% of the points plus every highlighted point (never clipped), with a margin."""
    lo = np.minimum(np.quantile(pts, 0.002, axis=0), pts[mark].min(axis=0))
    hi = np.maximum(np.quantile(pts, 0.998, axis=0), pts[mark].max(axis=0))
    pad = 0.08 * (hi - lo)
    return lo - pad, hi + pad


def panel_density(ax, flow, pts, mark):
    """Contours of the model's log-density (nats) behind the data-space panels."""
    lo, hi = limits(pts, mark)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 100), np.linspace(lo[1], hi[1], 100))
    lp = flow.log_prob(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
    cs = ax.contour(gx, gy, lp, levels=np.round(np.linspace(lp.max() - 6, lp.max() - 1, 3)), colors="0.35",
                    linewidths=0.9)
    ax.clabel(cs, fontsize=8, fmt="%.0f")
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))


def scatter_pair(ax_from, ax_to, a, b, mark, colour, label):
    ax_from.scatter(a[:, 0], a[:, 1], s=2, alpha=0.3, color="C0")
    ax_to.scatter(b[:, 0], b[:, 1], s=2, alpha=0.3, color="C0")
    for ax, pts in ((ax_from, a), (ax_to, b)):
        ax.scatter(pts[mark, 0], pts[mark, 1], s=30, color=colour, edgecolor="k", lw=0.5, label=label, zorder=3)
        lo, hi = limits(pts, mark)
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]))


WATCHED = "two_moons" if "two_moons" in cfg.datasets else cfg.datasets[0]  # the data set whose flow we watch


def draw_frames(flow, x, name, n_points=1500):
    """The flow you can watch: the data after each layer (flow.trace), frame by frame, to the latent space.
    Each point keeps its colour (its x1 in data space), so one can follow it through the layers."""
    x = x[:n_points]
    trace = flow.trace(x)
    frames = [("data x", x)]
    for k, entry in enumerate(trace, start=1):
        moved = [j + 1 for j in range(x.shape[1]) if not np.array_equal(entry["input"][:, j], entry["output"][:, j])]
        what = "latent z = f(x)" if k == len(trace) else f"after layer {k}"
        frames.append((f"{what}: coordinate {', '.join(map(str, moved)) or 'none'} moved", entry["output"]))
    cols = min(5, len(frames))
    rows = -(-len(frames) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 3.1 * rows + 0.4), layout="constrained", squeeze=False)
    colour = stats.rankdata(x[:, 0]) / len(x)
    for ax, (title, h) in zip(axes.flat, frames):
        ax.scatter(h[:, 0], h[:, 1], s=2, c=colour, cmap="viridis")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("coordinate 1", fontsize=8)
        ax.set_ylabel("coordinate 2", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(frames):]:
        ax.set_axis_off()
    fig.suptitle(f"{name}: the data moving through the flow's {len(trace)} layers to the latent space "
                 "(colour: each point's x1 in data space)")
    lesson.savefig(fig, "flow_frames",
                   f"The flow you can watch ({name}): {len(x)} training points, left to right and top to bottom, "
                   f"as the data x, after each of the flow's {len(trace)} coupling layers (flow.trace), and as the "
                   "latent z = f(x) in the last panel. Each point keeps its colour (the rank of its x1 in data space), "
                   "so it can be followed from panel to panel; each coupling moves one coordinate and copies the other "
                   "(eq. 3), which the panel titles name. Read backwards, the frames are sampling: x = f^{-1}(z).")


results, reports = {}, {}
for name, epochs in zip(cfg.datasets, cfg.epochs):
    print(f"--- {name}")
    x_train = SAMPLERS[name](cfg.n_train, rng)
    flow = minflow.RealNVP(2, cfg.n_layers, cfg.hidden, rng=rng, engine=cfg.engine)
    history = minflow.fit(flow, x_train, rng=rng, epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                          validation=0.1)
    x_test = SAMPLERS[name](20_000, rng)
    r = {"train_seconds": history.seconds, "best_val_nll": history.best_val_nll,
         "test_nll": float(-flow.log_prob(x_test).mean())}

    # data -> latent: z = f(x)
    z_train, _ = flow.forward(x_train)
    # eq. 2: log p_theta(x) = log p_Z(f(x)) + log|det J_f(x)|; the lowest are the data-space outliers
    low_density = np.argsort(flow.log_prob(x_train))[:cfg.n_outliers]
    far_latent = np.argsort(-np.sum(z_train**2, axis=1))[:cfg.n_outliers]
    r["outliers_stay_outliers"] = len(set(low_density) & set(far_latent))
    r["latent_mean"] = z_train.mean(axis=0)
    r["latent_cov"] = np.cov(z_train.T)
    # Mean and covariance are two moments; "looks N(0, I)" is a statement about the whole distribution. A
    # Kolmogorov-Smirnov test of each latent coordinate against N(0, 1), of the squared radius ||z||^2 against
    # chi^2 with 2 degrees of freedom, and of the angle against the uniform: streaks and holes show up there.
    angle = (np.arctan2(z_train[:, 1], z_train[:, 0]) + np.pi) / (2 * np.pi)
    tests = {"z1": (z_train[:, 0], stats.norm.cdf), "z2": (z_train[:, 1], stats.norm.cdf),
             "radius": (np.sum(z_train**2, axis=1), stats.chi2(2).cdf), "angle": (angle, stats.uniform.cdf)}
    r["latent_ks"] = {k: dict(zip(("statistic", "p_value"), map(float, stats.kstest(v, cdf))))
                      for k, (v, cdf) in tests.items()}

    # latent -> data: x = f^{-1}(z) for fresh z ~ N(0, I) (section 2.1.4)
    z_new = rng.standard_normal((cfg.n_train, 2))
    x_new, _ = flow.inverse(z_new)
    far_new = np.argsort(-np.sum(z_new**2, axis=1))[:cfg.n_outliers]
    # are the images of the latent outliers also low-density in data space?
    density_rank = stats.rankdata(flow.log_prob(x_new))[far_new]
    r["latent_outliers_in_lowest_5pct_density"] = int(np.sum(density_rank <= 0.05 * len(x_new)))
    if name == "ring8":
        # Bridges: generated points far (> 4 ring_std) from every mode. Data put only exp(-8) = 0.03% there; a
        # flow from the unimodal prior must stretch some latent mass thinly across the gaps between modes.
        modes = cfg.ring_radius * np.stack([np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)], 1)
        nearest = np.min(np.linalg.norm(x_new[:, None, :] - modes[None], axis=2), axis=1)
        r["generated_between_modes"] = float(np.mean(nearest > 4 * cfg.ring_std))
        lesson.record("ring8_generated_between_modes", r["generated_between_modes"], ".3f")

    fig, axes = plt.subplots(2, 2, figsize=(10, 10.5), layout="constrained")
    scatter_pair(axes[0, 0], axes[0, 1], x_train, z_train, low_density, "C1",
                 f"{cfg.n_outliers} lowest log p_theta(x)")
    panel_density(axes[0, 0], flow, x_train, low_density)
    axes[0, 0].set(title="data space: training points x", xlabel="x1 (data units)", ylabel="x2 (data units)")
    axes[0, 1].set(title="latent space: z = f(x)", xlabel="z1 (latent units)", ylabel="z2 (latent units)")
    scatter_pair(axes[1, 0], axes[1, 1], z_new, x_new, far_new, "C3", f"{cfg.n_outliers} largest ||z||")
    axes[1, 0].set(title="latent space: fresh z ~ N(0, I)", xlabel="z1 (latent units)", ylabel="z2 (latent units)")
    panel_density(axes[1, 1], flow, x_new, far_new)
    axes[1, 1].set(title="data space: x = f^{-1}(z)", xlabel="x1 (data units)", ylabel="x2 (data units)")
    handles = [axes[0, 0].collections[1], axes[1, 0].collections[1]]
    fig.legend(handles, [h.get_label() for h in handles], loc="outside lower center", ncol=2)
    fig.suptitle(f"{name}: data -> latent (top), latent -> data (bottom); grey contours: log p_theta (nats)")
    lesson.savefig(fig, f"mapping_{name}",
                   f"{name}: top, the training points x (left) and their latent images z = f(x) (right), the "
                   f"{cfg.n_outliers} points of lowest model density in orange on both sides; bottom, fresh "
                   f"latent points z ~ N(0, I) (left) and their images x = f^{{-1}}(z) (right), the "
                   f"{cfg.n_outliers} largest ||z|| in red. Grey contours: the model's log-density in nats.")

    if name == WATCHED:
        draw_frames(flow, x_train, name)

    # The change-of-variables consistency table (float64), on training points
    report = minflow.consistency_report(flow, x_train[:cfg.n_consistency], rng)
    print(minflow.format_consistency_report(report))
    reports[name] = report
    # the same in float32: differences of order 1e-6 relative, as in the demo's float32 table
    report32 = minflow.consistency_report(flow.astype("float32"), x_train[:cfg.n_consistency], rng)
    r["float32_max_abs_difference"] = max(rows[k]["max|.|"] for rows in report32.values()
                                          for k in rows if "difference" in k)
    results[name] = r
    lesson.record(f"{name}_test_nll", r["test_nll"], ".4f")
    lesson.record(f"{name}_outliers_stay_outliers_of_{cfg.n_outliers}", r["outliers_stay_outliers"])

lesson.record("per_dataset", results)
lesson.write_json("consistency", reports)
lesson.write_text("consistency.txt",
    "\n\n".join(f"[{name}]\n{minflow.format_consistency_report(rep)}" for name, rep in reports.items()) + "\n")

# %% [markdown]
# ## What this run showed
#
# The table is exact arithmetic, whatever the training: it checks the code, not the fit.
# The entropy of the shifted Gaussian is known, $H(p) = \tfrac12\log\det(2\pi e\,\Sigma)$, so its
# test NLL can be compared with the floor of eq. 17.

# %%
for name, report in reports.items():
    worst = max(rows[k]["max|.|"] for rows in report.values() for k in rows if "difference" in k)
    scale = max(rows[k]["max|.|"] for rows in report.values() for k in rows if "difference" not in k)
    lesson.claim(f"{name}: both directions of eq. 2 agree to machine precision in float64",
                 worst < 1e-12 * max(1.0, scale) * 100, f"max |difference| = {worst:.1e} nats")
for name, r in results.items():
    lesson.claim(f"{name}: float32 differences are small (< 0.01 nats) but far above float64 ones",
                 r["float32_max_abs_difference"] < 1e-2, f"{r['float32_max_abs_difference']:.1e}")
    lesson.claim(f"{name}: the latent images of the training data have the mean and covariance of N(0, I) "
                 "(mean within 0.2 of 0, covariance within 0.3 of I)",
                 np.abs(r["latent_mean"]).max() < 0.2 and np.abs(r["latent_cov"] - np.eye(2)).max() < 0.3,
                 f"mean {np.round(r['latent_mean'], 2)}, max |cov - I| = {np.abs(r['latent_cov'] - np.eye(2)).max():.2f}",
                 needs_training=True)

# Two moments are not the distribution: the Kolmogorov-Smirnov tests say, per data set, whether the latent images
# are consistent with N(0, I) as a whole (each test at the 1% level), in words written from this run's p-values.
KS_LEVEL = 0.01
for name, r in results.items():
    ks = r["latent_ks"]
    rejected = [k for k, v in ks.items() if v["p_value"] < KS_LEVEL]
    numbers = ", ".join(f"{k}: D = {v['statistic']:.3f}, p = {v['p_value']:.2g}" for k, v in ks.items())
    r["latent_looks_normal"] = not rejected
    verdict = ("consistent with N(0, I) by every test" if not rejected else
               f"NOT N(0, I) in distribution: rejected for {', '.join(rejected)} (the streaks and holes of its "
               "latent panel), whatever the mean and covariance say")
    _lesson.say(f"  {name}: Kolmogorov-Smirnov tests of the latent images at the {KS_LEVEL:.0%} level ({numbers}): {verdict}.")
lesson.record("latent_looks_normal", {name: r["latent_looks_normal"] for name, r in results.items()})
if "shifted_mvn" in results:
    H_mvn = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * MVN_COV)[1]
    gap = results["shifted_mvn"]["test_nll"] - H_mvn
    lesson.record("shifted_mvn_entropy", H_mvn, ".4f")
    lesson.claim("shifted_mvn: test NLL within 0.05 nats of H(p) (eq. 17)", -0.02 < gap < 0.05,
                 f"gap {gap:.4f}", needs_training=True)
    ks = results["shifted_mvn"]["latent_ks"]
    lesson.claim(f"shifted_mvn: its latent images pass every Kolmogorov-Smirnov test against N(0, I) "
                 f"(z1, z2, ||z||^2, angle; each p >= {KS_LEVEL})", results["shifted_mvn"]["latent_looks_normal"],
                 "smallest p = " + f"{min(v['p_value'] for v in ks.values()):.2g}", needs_training=True)
    lesson.claim("shifted_mvn: an (almost) affine map keeps outliers outliers (most of the 10 shared)",
                 results["shifted_mvn"]["outliers_stay_outliers"] >= 6,
                 f"{results['shifted_mvn']['outliers_stay_outliers']} of 10", needs_training=True)

# %% [markdown]
# ## Try this
# - Compare `outliers_stay_outliers` across the data sets (printed above as `<name>_outliers_stay_outliers_of_10`,
#   and in results.json): how many of its 10 lowest-density points are also among its 10 largest-$\|z\|$ points.
#   Only the log-determinant term of eq. 2 can make the two lists differ: for an affine map it is constant and
#   the count would be 10. You should see the shifted Gaussian (whose ideal map is affine) share at least 6
#   (its claim), and the counts of the other two differ from 10 only where the log-determinant re-ranks points.
# - `--epochs 20 5 5` (five epochs for the moons and the ring): you should see `ring8_generated_between_modes`,
#   the share of generated points more than 4 `ring_std` from every mode, several times the default run's. The
#   under-trained flow smears the prior's mass across the gaps; even the default run keeps thin bridges
#   between modes, since $f^{-1}$ is continuous and the image of the one-piece $\mathcal{N}(0, I)$ stays in one piece.
# - `--n-layers 2`: you should see ring8 suffer most: its test NLL rises more above the default run's than the
#   other two data sets' do (eight modes need the most bending).
# - At thesis-like scale: `.venv/bin/python lessons/10_mapping_2d.py --thesis` (longer training, 2000-point
#   table; long, not run by the tests). Expect every claim to hold, the float64 table still at rounding level.

# %%
lesson.finish()
