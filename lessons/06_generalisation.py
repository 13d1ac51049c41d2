# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 6 — Generalisation: scaled and shifted test sets (thesis section 5, Figures 2-6, eq. 12-14, 19)
#
# The model was trained on $p = \mathcal{N}(\mu_p, \Sigma_p)$. Section 5 tests it on distributions that keep
# $p$'s correlations but move or rescale it (eq. 12-13):
#
# $$q(s, t) = \mathcal{N}(\mu_p + t\mathbf{1},\; s^2 \Sigma_p), \quad \text{i.e. } x \mapsto (x - \mu_p)\, s + \mu_p + t \text{ applied to } x \sim p$$
#
# over the grid $\Lambda = S \times T$ (eq. 19), $S = \{0.25, 0.5, 0.75, 1, 1.25, 1.75\}$, $T = \{0, 0.25, 0.5, 0.75\}$.
# For each $q$ we compare the truth and the model on the same test points:
# $H^{\ast}(q, p)$ vs $H^{\ast}(q, p_\theta)$ (eq. 14, section 3.2.1), the gap $\Delta_{HC} = |H^{\ast}(q, p) - H^{\ast}(q, p_\theta)|$ (5.2.1),
# the KL estimates $D^{\ast}(q \| p_\theta) = H^{\ast}(q, p_\theta) - H(q)$ (3.2.2) and the KDEs (3.2.3).
#
# What the thesis ([de Bruin, TU Delft 2024](https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91))
# reports: changing $s$ alone leaves the gap about constant (5.2.1, C3); shifting by $t$ makes its model
# *over-estimate* the likelihood, more with larger $t$ (5.2.2, C4); and $s = 0.75$, $t = 0.25$ gives KDEs of
# $\log p_\theta$ over $Q(q)$ and $Q(p)$ that overlap almost fully (5.2.3, C5) — bad news for OOD detection.
# These are the thesis's findings, not facts about every flow: the cell "This run vs the thesis" at the
# end says, from this run's numbers, which of them this run reproduces.
#
# Run: `.venv/bin/python lessons/06_generalisation.py` (`--help` lists the options).

# %%
import _lesson  # first: headless plotting, one BLAS thread
import _thesis  # the core model shared by lessons 4-9 and 12, and the adapters to minflow.thesis (pipeline, verdicts)

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from minflow.thesis.documents import fig_2, fig_3, fig_4, fig_5, fig_6
from minflow.thesis.gaussians import S_DEFAULT, T_DEFAULT, ThesisDistributions


# The core model and its training (seed, n_layers, ..., n_test) are inherited from _thesis.CoreModelConfig.
@dataclass(frozen=True)
class Config(_thesis.CoreModelConfig):
    """Lesson 6: the generalisation family q(s, t) of section 5, on the grid S x T."""

    dims: tuple = (10, 20)      # the thesis's Figures 3-5 are at D = 20
    S: tuple = S_DEFAULT
    T: tuple = T_DEFAULT


lesson = _lesson.Lesson("06_generalisation", Config,
                        tiny={**_thesis.TINY, "dims": (20,), "S": (0.75, 1.0), "T": (0.0, 0.25)},
                        thesis={**_thesis.THESIS, "dims": (10, 20, 50, 100)})
cfg = lesson.config
exp_cfg = cfg.experiment_config(dims=cfg.dims, S=cfg.S, T=cfg.T)

# %% [markdown]
# ## 5.1 — The test sets $Q(q(s, t))$, scored by $\log p$ and $\log p_\theta$
# `minflow.thesis.pipeline.evaluate_cell` draws $N$ points of $q$ and computes every quantity of
# sections 3.2 and 8.1 for them (one "cell" of the grid).

# %%
# eq. 19: Lambda = S x T
cells = [(d, "generalisation", s, t) for d in cfg.dims for s in cfg.S for t in cfg.T]
table, kept, models = _thesis.evaluate_cells(lesson, exp_cfg, cells)
lesson.record("table", table)
d_focus = 20 if 20 in cfg.dims else cfg.dims[-1]

# %% [markdown]
# ## 5.2 — Figures 2-6 in small form
# Figure 2: cross-entropies against $s$, a column per $t$. Figure 6: the KL divergences.
# Figures 3, 4, 5: KDEs when $s$ changes, when $t$ changes, and for the combined case.

# %%
for fig_n in (fig_2, fig_3, fig_4, fig_5, fig_6):
    _thesis.adopt_figure(lesson, fig_n(table, kept, lesson.folder))

# The gap Delta_HC over the whole grid at one D, as a table you can read at a glance.
S, T = sorted(cfg.S), sorted(cfg.T)
gap = np.full((len(S), len(T)), np.nan)
signed = np.full((len(S), len(T)), np.nan)
for r in table:
    if r["D"] == d_focus:
        # section 5.2.1: Delta_HC = |H*(q, p) - H*(q, p_theta)|; the sign says who is larger
        gap[S.index(r["s"]), T.index(r["t"])] = r["gap"]
        signed[S.index(r["s"]), T.index(r["t"])] = r["Hs_qp"] - r["Hs_qptheta"]
fig, ax = plt.subplots(figsize=(6, 4.8))
lim = np.nanmax(np.abs(signed))
im = ax.imshow(signed, cmap="RdBu_r", vmin=-lim, vmax=lim, origin="lower", aspect="auto")
for i in range(len(S)):
    for j in range(len(T)):
        # the text's colour from the cell's relative luminance (sRGB weights): white on dark cells, black on light
        r_, g_, b_, _ = im.cmap(im.norm(signed[i, j]))
        dark = 0.2126 * r_ + 0.7152 * g_ + 0.0722 * b_ < 0.5
        ax.text(j, i, f"{signed[i, j]:+.2f}", ha="center", va="center", fontsize=10, color="w" if dark else "k")
ax.set_xticks(range(len(T)), [f"{t:g}" for t in T])
ax.set_yticks(range(len(S)), [f"{s:g}" for s in S])
ax.set(xlabel="shift t", ylabel="scale s", title=f"H*(q,p) - H*(q,p_theta) in nats, D = {d_focus}")
fig.colorbar(im, ax=ax, label="nats (red > 0: model over-estimates; blue < 0: under-estimates)")
n_cells, n_over = int(np.sum(np.isfinite(signed))), int(np.sum(signed > 0))
lesson.savefig(fig, "gap_grid",
               f"The signed cross-entropy gap H*(q,p) - H*(q,p_theta) in nats over the grid S x T at D = {d_focus}; "
               "its absolute value is Delta_HC (section 5.2.1). Red (> 0): the model gives the test set a higher mean "
               "log-likelihood than the truth does (over-estimation, the thesis's finding in section 5.2.2); blue "
               f"(< 0): a lower one. In this run {n_over} of {n_cells} cells are red and {n_cells - n_over} blue.")
lesson.record(f"D{d_focus}_gap_grid_cells_overestimated", f"{n_over} of {n_cells}")

focus = next((r for r in table if r["D"] == d_focus and r["s"] == 0.75 and r["t"] == 0.25), None)
if focus is not None:
    lesson.record("s0.75_t0.25_auroc_p", focus["auroc_p"], ".3f")
    lesson.record("s0.75_t0.25_auroc_ptheta", focus["auroc_ptheta"], ".3f")
    lesson.record("s0.75_t0.25_tnr_p", focus["tnr_p"], ".3f")
    lesson.record("s0.75_t0.25_tnr_ptheta", focus["tnr_ptheta"], ".3f")

# %% [markdown]
# ## 5.2.1 — The picture behind the explanation: the typical set
# Section 5.2.1 reads the scaled test sets through where a high-dimensional Gaussian keeps its mass. Whiten $p$:
# $z = L^{-1}(x - \mu_p)$ with $\Sigma_p = L L^\top$, so $z \sim \mathcal{N}(0, I_D)$ when $x \sim p$, and
#
# $$\log p(x) = \underbrace{-\tfrac{D}{2}\log 2\pi - \tfrac12 \log\det\Sigma_p}_{\log p(\mu_p),\ \text{the mode}} - \tfrac12\|z\|^2 .$$
#
# $\|z\|^2$ is a sum of $D$ independent squares of mean 1 and variance 2, so $\mathbb{E}\|z\|^2 = D$, the norm
# concentrates at $\|z\| \approx \sqrt{D}$ with a spread of about $1/\sqrt{2}$ that does not grow with $D$,
# and the mode's log-density exceeds the mean log-density of the samples by exactly
#
# $$\log p(\mu_p) - \mathbb{E}_p[\log p(x)] = \tfrac12\,\mathbb{E}\|z\|^2 = \tfrac{D}{2}.$$
#
# The density is highest at the mode, yet almost no sample lies near it: the mass sits on a thin shell of
# radius about $\sqrt{D}$, the typical set. The test set $q(s, 0)$ of eq. 12-13 is $x \mapsto (x - \mu_p)s + \mu_p$,
# so in the same whitened units it is $s z$: its norms concentrate at $s\sqrt{D}$. A contracted set ($s < 1$)
# sits inside the shell, towards the mode; a widened one ($s > 1$) outside it. The figure draws each piece:
# Monte Carlo samples of $\mathcal{N}(0, I_D)$ for several $D$, and this lesson's own test sets at $D = 20$
# (the focus dimension) whitened by $p$, with the true and the model's log-density at their points.

# %%
TYPICAL_DIMS = (2, 10, 50, 100, 500)  # D of the standard-Gaussian Monte Carlo (cheap: 4,000 points each)
n_mc = 4000
mc_rng = np.random.default_rng([cfg.seed, 5210])  # its own stream: the numbers above stay as they were
norm_ratio, half_sq = {}, {}
for D in TYPICAL_DIMS:
    sq = np.sum(mc_rng.standard_normal((n_mc, D)) ** 2, axis=1)
    norm_ratio[D] = np.sqrt(sq / D)  # ||z|| / sqrt(D)
    half_sq[D] = 0.5 * sq            # log p(mode) - log p(z) = ||z||^2 / 2 (the display above)
typical = {str(D): {"mean_norm_sq": float(2 * half_sq[D].mean()),
                    "mean_norm_sq_se": float(2 * half_sq[D].std(ddof=1) / np.sqrt(n_mc)),
                    "mode_minus_mean_logp": float(half_sq[D].mean()), "D_over_2": D / 2,
                    "norm_ratio_5_95": [float(v) for v in np.quantile(norm_ratio[D], (0.05, 0.95))]}
           for D in TYPICAL_DIMS}
lesson.record("typical_set_mc", typical)

# This lesson's test sets q(s, 0) at the focus dimension, whitened by p: norms at s sqrt(D)
dists_f = ThesisDistributions(d_focus, seed=cfg.seed)
flow_f = models[d_focus]
set_rng = np.random.default_rng([cfg.seed, 5211])
n_set = 2000
whitened = {}
for s in sorted(set(S) | {1.0}):  # the training set p = q(1, 0) always
    x = dists_f.q(s, 0.0).sample(n_set, set_rng)
    w = np.linalg.solve(dists_f.p.chol, (x - dists_f.p.mean).T).T  # z = L^{-1}(x - mu_p)
    whitened[s] = {"r": np.linalg.norm(w, axis=1) / np.sqrt(d_focus), "logp": dists_f.p.log_prob(x),
                   "logp_theta": flow_f.log_prob(x)}
mode = dists_f.p.mean[None, :]
logp_mode, logp_theta_mode = float(dists_f.p.log_prob(mode)[0]), float(flow_f.log_prob(mode)[0])
median_r = {s: float(np.median(v["r"])) for s, v in whitened.items()}
lesson.record(f"D{d_focus}_median_whitened_norm_over_sqrtD", {f"s={s:g}": median_r[s] for s in S})
lesson.record(f"D{d_focus}_log_p_mode", logp_mode, ".3f")
lesson.record(f"D{d_focus}_log_p_theta_mode", logp_theta_mode, ".3f")

fig, axes = plt.subplots(2, 2, figsize=(12, 9), layout="constrained")
ax = axes[0, 0]
for D in TYPICAL_DIMS:
    ax.hist(norm_ratio[D], bins=60, range=(0, 2), density=True, histtype="step", lw=1.5, label=f"D = {D}")
ax.axvline(1, color="k", ls=":", lw=1)
ax.set(xlabel="||z|| / sqrt(D)  (z ~ N(0, I_D))", ylabel="density",
       title="the norm concentrates at sqrt(D) as D grows")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
ax = axes[0, 1]
Ds = np.array(TYPICAL_DIMS)
means = np.array([half_sq[D].mean() for D in TYPICAL_DIMS])
lo_hi = np.array([np.quantile(half_sq[D], (0.05, 0.95)) for D in TYPICAL_DIMS])
ax.fill_between(Ds, lo_hi[:, 0], lo_hi[:, 1], alpha=0.25, label="5-95% of samples")
ax.plot(Ds, means, "o", label="Monte Carlo mean")
ax.plot(Ds, Ds / 2, "k--", lw=1, label="D / 2 (exact)")
ax.set(xscale="log", yscale="log", xlabel="dimension D",
       ylabel="log p(mode) - log p(z)  (nats)", title="how far below the mode the samples' density lies")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
ax = axes[1, 0]
for j, s in enumerate(S):
    ax.hist(whitened[s]["r"], bins=80, range=(0, max(S) * 1.4), density=True, alpha=0.45, color=f"C{j}",
            label=f"q({s:g}, 0)" + ("  = p, training" if s == 1 else ""))
    ax.axvline(s, color=f"C{j}", ls=":", lw=1)
ax.set(xlabel=f"whitened norm ||L^-1 (x - mu_p)|| / sqrt(D)  (D = {d_focus})", ylabel="density",
       title="the scaled test sets: norms at s sqrt(D)")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
ax = axes[1, 1]
rr = np.linspace(0, max(S) * 1.4, 200)
ax.plot(rr, logp_mode - 0.5 * d_focus * rr**2, "k--", lw=1.2, label="true log p (a function of the norm)")
for j, s in enumerate(S):
    k = slice(0, 400)
    ax.scatter(whitened[s]["r"][k], whitened[s]["logp_theta"][k], s=4, color=f"C{j}", alpha=0.6,
               label=f"model log p_theta, q({s:g}, 0)")
ax.plot([0], [logp_mode], "k*", ms=9, label="the mode mu_p: true log p")
ax.plot([0], [logp_theta_mode], "r*", ms=9, label="the mode mu_p: model log p_theta")
train_band = np.quantile(whitened[1.0]["r"], (0.005, 0.995)) if 1.0 in whitened else None
if train_band is not None:
    ax.axvspan(*train_band, color="0.85", zorder=0, label="99% of the training set's norms")
ax.set(xlabel=f"whitened norm / sqrt(D)  (D = {d_focus})", ylabel="log-density (nats)",
       title="high density near the mode, where no training point lies")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
lesson.savefig(fig, "typical_set",
               "The typical set (section 5.2.1). Top left: ||z|| / sqrt(D) for 4,000 samples of N(0, I_D) at "
               f"D = {', '.join(map(str, TYPICAL_DIMS))}: it concentrates at 1. Top right: log p(mode) - log p(z) = "
               "||z||^2 / 2 in nats against D (Monte Carlo mean and 5-95% band); its mean is D/2 exactly (dashed). "
               f"Bottom left: this lesson's test sets q(s, 0) at D = {d_focus}, whitened by p: their norms sit at "
               "s sqrt(D). Bottom right: the true log p as a function of that norm (dashed; the mode at norm 0, "
               "black star) and the model's log p_theta at the points of each set (dots; red star: the model at "
               "the mode); grey: the norms of 99% of training points.")

# %% [markdown]
# ### Lesson 6's finding, read through the picture
# Generated from this run's numbers: where the most contracted test set lies, how likely it is under the truth,
# and what the model, which never saw a point there, makes of it.

# %%
def _side(v):
    return "above" if v > 0 else "below"


s_in = min(S)
if s_in < 1 and 1.0 in S and 0.0 in T:  # the reading needs a contracted set and the training set at t = 0
    r_train = whitened[1.0]["r"]
    n_near = int(np.sum(r_train <= median_r[s_in]))
    share_near = n_near / r_train.size
    lo5, hi95 = np.quantile(r_train, (0.05, 0.95))
    train_logp = float(whitened[1.0]["logp"].mean())
    row_in = next(r for r in table if r["D"] == d_focus and r["s"] == s_in and r["t"] == 0.0)
    row_1 = next(r for r in table if r["D"] == d_focus and r["s"] == 1.0 and r["t"] == 0.0)
    # mean log-density = -cross-entropy (eq. 14): how much higher the contracted set scores than the training set
    rise_true = row_1["Hs_qp"] - row_in["Hs_qp"]
    rise_model = row_1["Hs_qptheta"] - row_in["Hs_qptheta"]
    gap_in, gap_1 = row_in["Hs_qp"] - row_in["Hs_qptheta"], row_1["Hs_qp"] - row_1["Hs_qptheta"]
    lesson.record(f"D{d_focus}_share_of_training_points_as_near_the_mode_as_q{s_in:g}", share_near, ".4f")
    lesson.record(f"D{d_focus}_q{s_in:g}_mean_logp_minus_training", rise_true, ".2f")
    lesson.record(f"D{d_focus}_q{s_in:g}_mean_logp_theta_minus_training", rise_model, ".2f")
    reading = (
        f"At D = {d_focus} the training points' whitened norms lie between {lo5:.2f} and {hi95:.2f} sqrt(D) (5-95%), "
        f"and the most contracted set, q({s_in:g}, 0), sits at {median_r[s_in]:.2f} sqrt(D): "
        f"{n_near} of {r_train.size} training points lie as close to the mode as its median point. Yet the true density "
        f"rates that set above the training data: its mean log p is {rise_true:.2f} nats higher (the mode itself is "
        f"{logp_mode - train_logp:.2f} nats above the training points' mean; D/2 = {d_focus / 2:g}). The model, "
        f"trained only on points of the shell, raises its mean log p_theta by {rise_model:.2f} nats for that set, "
        f"{rise_model / rise_true:.0%} of the truth's rise: it rates q({s_in:g}, 0) {abs(gap_in):.2f} nats "
        f"{_side(gap_in)} the truth, against {abs(gap_1):.2f} nats {_side(gap_1)} on the training distribution "
        f"itself, and at the mode its log p_theta is {abs(logp_theta_mode - logp_mode):.2f} nats "
        f"{_side(logp_theta_mode - logp_mode)} log p. So the gap Delta_HC changes by {abs(gap_in) - abs(gap_1):+.2f} "
        "nats from the shell to the region near the mode; whether that is the thesis's 'fairly constant' (C3) is "
        "decided by the fixed rule below. Whatever the model does there, a contracted set is not unlikely under p: "
        "likelihood bounds can only catch it with the upper bound U (section 8.1, lesson 9), never as improbable.")
    _thesis.show_markdown(reading)
else:
    print(f"  the reading needs s < 1, s = 1 and t = 0 in the grid (S = {S}, T = {T}): e.g. --S 0.5 1 --T 0")

# %% [markdown]
# ## What this run showed
# Asserted: the estimates are trustworthy (C2: $H^{\ast}(q, p)$ against the analytic $H(q, p)$ on every
# test set) and the gap is never "negative KL" for $q = p$. The thesis's findings C3-C5 are decided
# by `minflow.thesis.verdicts.claims` and reported side by side with the thesis — not asserted.

# %%
z = [abs(r["Hs_qp"] - r["H_qp"]) / r["Hs_qp_se"] for r in table]
lesson.claim(f"H*(q, p) matches H(q, p) within 4.5 s.e. on all {len(table)} test sets (C2)", max(z) < 4.5,
             f"max |z| = {max(z):.2f}")
kl_z = [abs(r["KLs_qp"] - r["KL_qp"]) / r["Hs_qp_se"] for r in table]
lesson.claim("D*(q || p) = H*(q, p) - H(q) matches Proposition 1 within 4.5 s.e. (C2)", max(kl_z) < 4.5)
for r in table:
    if r["s"] == 1.0 and r["t"] == 0.0:
        lesson.claim(f"D = {r['D']}, q = p: the model does not beat the truth (eq. 18)",
                     r["mean_logp_theta"] <= r["mean_logp"] + 3 * r["gap_se"])
# the typical-set figure: Monte Carlo facts about N(0, I_D) and the whitened test sets, asserted at every setting
z_typ = max(abs(v["mean_norm_sq"] - int(D)) / v["mean_norm_sq_se"] for D, v in typical.items())
lesson.claim(f"log p(mode) - E[log p] = D/2 (E||z||^2 = D) within 4.5 s.e. for D = {', '.join(typical)}",
             z_typ < 4.5, f"max |z| = {z_typ:.2f}")
ratio_err = max(abs(median_r[s] / median_r[1.0] - s) / s for s in S)
lesson.claim(f"the whitened norms of q(s, 0) sit at s times the training set's (medians within 2%, D = {d_focus})",
             ratio_err < 0.02, f"max relative error {ratio_err:.4f}")
_thesis.thesis_claims(lesson, table, ["C3", "C4", "C5"])

# %% [markdown]
# ## This run vs the thesis
# Generated from this run's numbers: what the thesis found, what this run found, and why they may differ.

# %%
_thesis.versus_thesis(lesson, table, ["C3", "C4", "C5"])

# %% [markdown]
# ## Try this
# - `--dims 50 100 --S 1`: the shifted sets ($s = 1$) in higher dimensions, where the thesis says the
#   over-estimation with $t$ is "less noticeable". You should see the opposite in this run: at $s = 1$, $t > 0$ the
#   model over-estimates some shifted sets at $D$ = 50 and 100 (C4's first sentence counts them), where at
#   $D$ = 10 and 20 (the default run) it under-estimates all of them.
# - `--T 0 1 2`: larger shifts. You should see $H^{\ast}(q, p) - H^{\ast}(q, p_\theta)$ negative at every $t > 0$ (the model
#   under-rates, never over-rates, sets far from its training data) and $\Delta_{HC}$ rising with $t$ at both $D$.
# - Compare the gap grid with lesson 9's TNR: you should see the gap grid's caption count its red cells
#   (over-estimated sets) from the table. A red cell with $s < 1$ is one where the model's bounds can only
#   do worse than the truth's: the model gives those points more likelihood than $p$ does.
# - At thesis scale (all four $D$, $N$ = 1,000,000; hours, not run by the tests):
#   `.venv/bin/python lessons/06_generalisation.py --thesis`. Expect the verdicts that "This run vs the
#   thesis" quotes for the thesis's scale (`make reproduce`, REPRODUCTION.md).

# %%
lesson.finish()
