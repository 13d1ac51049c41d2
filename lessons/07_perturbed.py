# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 7 — Perturbed distributions (thesis section 6, Figures 7-10, eq. 20-22)
#
# Section 6 perturbs the test distributions slightly, in two ways (eq. 20-21):
#
# $$q_\delta(s, t) = \mathcal{N}(\mu_p + t\mathbf{1} + \beta u,\; s^2 \Sigma_p + \alpha I)$$
#
# adding isotropic noise of variance $\alpha$ (which weakens the correlations of $p$) and moving the
# mean by $\beta u$, $u \sim U([-1, 1]^D)$ drawn once. The perturbation is minor but real: the true density
# $\log p$ still tells $Q(q_\delta)$ from $Q(p)$ apart. The thesis ([de Bruin, TU Delft 2024](https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91))
# found that its *model* increasingly cannot,
# as $D$ grows — for $D \ge 50$ its KDEs over $Q(q_\delta)$ and $Q(p)$ coincide (Figure 7, finding C6) — and that
# $H^{\ast}(q_\delta, p_\theta)$ stays close to $H^{\ast}(q, p_\theta)$ for every $(s, t)$ (Figures 8-9, finding C7).
# Lesson 12 looks inside the model for the "coupling-layer co-adaptation" proposed as the cause.
# Whether this run reproduces C6 and C7 is said, from its numbers, in "This run vs the thesis" at the end.
#
# We measure separability with $\mathrm{sep} = |2\,\mathrm{AUROC} - 1|$ (0: the two sets look the same to a score,
# 1: fully separated), for the truth $\log p$ and for the model $\log p_\theta$.
#
# Run: `.venv/bin/python lessons/07_perturbed.py` (`--help` lists the options).

# %%
import _lesson  # first: headless plotting, one BLAS thread
import _thesis  # the core model shared by lessons 4-9 and 12, and the adapters to minflow.thesis (pipeline, verdicts)

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm, spearmanr as spearman

from minflow.thesis.documents import VARIANTS, fig_7, fig_8, fig_9, fig_10
from minflow.thesis.pipeline import kept_key
from minflow.thesis.gaussians import ALPHA_DEFAULT, BETA_DEFAULT, S_DEFAULT, T_DEFAULT, ThesisDistributions


# The core model and its training (seed, n_layers, ..., n_test) are inherited from _thesis.CoreModelConfig.
@dataclass(frozen=True)
class Config(_thesis.CoreModelConfig):
    """Lesson 7: the perturbed family q_delta(s, t) of section 6."""

    dims: tuple = (10, 20, 50)  # Figure 7: the perturbed set at s = 1, t = 0 for each D
    grid_dim: int = 20          # Figures 8-9: the whole grid S x T at this D, perturbed and not
    variants_dim: int = 50      # Figure 10: s and t changed separately or together at this D
    alpha: float = ALPHA_DEFAULT  # the perturbation's strength (eq. 21): added variance alpha I ...
    beta: float = BETA_DEFAULT    # ... and mean shift beta u (minflow.thesis.gaussians's defaults)
    S: tuple = S_DEFAULT
    T: tuple = T_DEFAULT


lesson = _lesson.Lesson("07_perturbed", Config,
                        tiny={**_thesis.TINY, "dims": (4, 6), "grid_dim": 6, "variants_dim": 6, "S": (0.5, 1.0),
                              "T": (0.0, 0.5)},
                        thesis={**_thesis.THESIS, "dims": (10, 20, 50, 100)})
cfg = lesson.config
all_dims = sorted(set(cfg.dims) | {cfg.grid_dim, cfg.variants_dim})
exp_cfg = cfg.experiment_config(dims=all_dims, S=cfg.S, T=cfg.T)

# %% [markdown]
# ## 6.1 — The perturbation (eq. 20-21)
# $\alpha$ and $\beta$ are unspecified in the thesis ("minor" perturbations); `minflow.thesis.gaussians`
# documents how its defaults were chosen.

# %%
d0 = ThesisDistributions(cfg.grid_dim, seed=cfg.seed, alpha=cfg.alpha, beta=cfg.beta)
lesson.record("alpha", d0.alpha)
lesson.record("beta", d0.beta)

# %% [markdown]
# ## 6.2 — Scoring the perturbed and unperturbed test sets

# %%
cells = {(d, fam, 1.0, 0.0) for d in all_dims for fam in ("generalisation", "perturbed")}
cells |= {(cfg.grid_dim, fam, s, t) for fam in ("generalisation", "perturbed") for s in cfg.S for t in cfg.T}
cells |= {(cfg.variants_dim, "perturbed", s, t) for s, t in VARIANTS if s in cfg.S and t in cfg.T}
table, kept, _ = _thesis.evaluate_cells(lesson, exp_cfg, sorted(cells), alpha=cfg.alpha, beta=cfg.beta)
lesson.record("table", table)

# %% [markdown]
# ## 6.2.1 — Figure 7: can the model tell $Q(q_\delta)$ from $Q(p)$?

# %%
fig7_table = [r for r in table if r["D"] in cfg.dims]
_thesis.adopt_figure(lesson, fig_7(fig7_table, kept, lesson.folder))


def sep(auroc):
    """|2 AUROC - 1|: 0 = indistinguishable from Q(p), 1 = fully separated."""
    return abs(2 * auroc - 1)


rows = sorted((r for r in table if r["family"] == "perturbed" and r["s"] == 1.0 and r["t"] == 0.0),
              key=lambda r: r["D"])
for r in rows:
    lesson.record(f"D{r['D']}_sep_true_logp", sep(r["auroc_p"]), ".3f")
    lesson.record(f"D{r['D']}_sep_model_logp", sep(r["auroc_ptheta"]), ".3f")

# %% [markdown]
# ## 3.2.4 — The thesis's overlap coefficient next to sep
# Section 3.2.4 measures how separable two distributions are by their overlap coefficient, the integral of the
# smaller of the two densities, $\mathrm{OVL} = \int \min[f(v), g(v)]\,dv$: 1 when they coincide, 0 when they
# share no mass ($1 - \mathrm{OVL}$ is their total-variation distance). The thesis reads it by eye from its KDE
# figures; here it is computed, for the densities of the scores: $f$ the KDE of $\log p_\theta$ (or $\log p$)
# over $Q(p)$, $g$ the same over a test set (the 2,000 values per set that the KDE figures keep), on a fine grid.
# Our $\mathrm{sep} = |2\,\mathrm{AUROC} - 1|$ asks a different question of the same two samples: how often a
# point of one set out-scores a point of the other. Both are 0-to-1 and both say "the same" at one end, but they
# are not one function of the other: for two Gaussians of equal spread a shift of $\delta$ standard deviations
# gives $\mathrm{sep} = 2\Phi(\delta/\sqrt2) - 1$ and $\mathrm{OVL} = 2\Phi(-\delta/2)$ (the grey curve below),
# and other shapes give other pairs.

# %%
def binned_kde(v, edges):
    """Gaussian KDE with Scott's bandwidth (as scipy's, used for the KDE figures) of 1-D ``v``, evaluated at the
    centres of ``edges`` by binning then convolving: the same curve to about 1e-4, in milliseconds."""
    dx = edges[1] - edges[0]
    h = v.std(ddof=1) * v.size ** -0.2
    k = np.arange(-np.ceil(4 * h / dx), np.ceil(4 * h / dx) + 1) * dx
    counts = np.histogram(v, bins=edges)[0]
    return np.convolve(counts, np.exp(-0.5 * (k / h) ** 2), mode="same") / (v.size * h * np.sqrt(2 * np.pi))


def ovl(a, b, n_grid=4096):
    """Section 3.2.4: OVL = integral of min(f, g), f and g the KDEs of the samples a and b."""
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    edges = np.linspace(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo), n_grid + 1)
    # OVL = int min[f(v), g(v)] dv, as a Riemann sum on the grid
    return float(np.sum(np.minimum(binned_kde(a, edges), binned_kde(b, edges))) * (edges[1] - edges[0]))


overlap = []
for r in table:
    ref, test = kept[kept_key(r["D"], "reference")], kept[kept_key(r["D"], r["family"], r["s"], r["t"])]
    overlap.append({"D": r["D"], "family": r["family"], "s": r["s"], "t": r["t"],
                    "sep_p": sep(r["auroc_p"]), "ovl_p": ovl(ref["logp"], test["logp"]),
                    "sep_ptheta": sep(r["auroc_ptheta"]), "ovl_ptheta": ovl(ref["logp_theta"], test["logp_theta"])})
lesson.record("ovl_and_sep", overlap)
print(f"  {'test set vs Q(p)':<30} {'sep(log p)':>10} {'OVL(log p)':>11} {'sep(log p_theta)':>17} "
      f"{'OVL(log p_theta)':>17}")
for o in sorted((o for o in overlap if o["family"] == "perturbed" and o["s"] == 1.0 and o["t"] == 0.0),
                key=lambda o: o["D"]):
    print(f"  {'q_delta(1, 0), D = ' + str(o['D']):<30} {o['sep_p']:>10.3f} {o['ovl_p']:>11.3f} "
          f"{o['sep_ptheta']:>17.3f} {o['ovl_ptheta']:>17.3f}")


# Spearman's rank correlation (scipy: ties, e.g. several sets at sep = 1, share their mean rank)
rho = {k: float(spearman([o[f"sep_{k}"] for o in overlap], [o[f"ovl_{k}"] for o in overlap])[0])
       for k in ("p", "ptheta")}
lesson.record("spearman_sep_vs_ovl", rho)
same = [o for o in overlap if o["family"] == "generalisation" and o["s"] == 1.0 and o["t"] == 0.0]
worst = max(overlap, key=lambda o: o["sep_ptheta"])
_thesis.show_markdown(
    f"On this run's {len(overlap)} test sets, OVL {'falls' if rho['ptheta'] < 0 else 'rises'} as sep rises: "
    f"Spearman's rank correlation between the two is {rho['ptheta']:+.3f} for the model's log p_theta and "
    f"{rho['p']:+.3f} for the true log p, so the thesis's measure and ours "
    f"{'order the sets almost alike' if min(-rho['p'], -rho['ptheta']) > 0.9 else 'order the sets differently in places'}"
    f"; for two samples of p itself (q(1, 0) against Q(p)) OVL is "
    f"{min(o['ovl_ptheta'] for o in same):.2f}-{max(o['ovl_ptheta'] for o in same):.2f} and sep "
    f"{min(o['sep_ptheta'] for o in same):.3f}-{max(o['sep_ptheta'] for o in same):.3f}, and for the set the model "
    f"separates best (D = {worst['D']}, {worst['family']}, s = {worst['s']:g}, t = {worst['t']:g}) sep is "
    f"{worst['sep_ptheta']:.2f} and OVL {worst['ovl_ptheta']:.2f}.")

fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
ax = axes[0]
ax.plot([r["D"] for r in rows], [sep(r["auroc_p"]) for r in rows], "o--", label="sep, true log p")
ax.plot([r["D"] for r in rows], [sep(r["auroc_ptheta"]) for r in rows], "s-", label="sep, model log p_theta")
by_d = {(o["D"], o["family"], o["s"], o["t"]): o for o in overlap}
ax.plot([r["D"] for r in rows], [by_d[(r["D"], "perturbed", 1.0, 0.0)]["ovl_p"] for r in rows], "o--", mfc="none",
        color="C2", label="OVL, true log p")
ax.plot([r["D"] for r in rows], [by_d[(r["D"], "perturbed", 1.0, 0.0)]["ovl_ptheta"] for r in rows], "s-",
        mfc="none", color="C3", label="OVL, model log p_theta")
ax.set(xlabel="dimension D", ylabel="sep = |2 AUROC - 1|, or OVL (no unit)", ylim=(-0.02, 1.02),
       title="Q(q_delta(1, 0)) vs Q(p): separability")
ax = axes[1]
delta = np.linspace(0, 8, 200)
ax.plot(2 * norm.cdf(delta / np.sqrt(2)) - 1, 2 * norm.cdf(-delta / 2), color="0.6", lw=2,
        label="two Gaussians of equal spread")
ax.scatter([o["sep_p"] for o in overlap], [o["ovl_p"] for o in overlap], s=14, marker="o", facecolors="none",
           edgecolors="C0", label="true log p, every test set")
ax.scatter([o["sep_ptheta"] for o in overlap], [o["ovl_ptheta"] for o in overlap], s=10, marker="s", color="C1",
           label="model log p_theta, every test set")
ax.set(xlabel="sep = |2 AUROC - 1| (no unit)", ylabel="OVL of the two KDEs (no unit)", xlim=(-0.02, 1.02),
       ylim=(-0.02, 1.05), title="the thesis's OVL against our sep")
fig.legend(loc="outside lower center", ncol=3, fontsize=8)
model_trend = _thesis.trend_word([sep(r["auroc_ptheta"]) for r in rows])
lesson.savefig(fig, "perturbed_separability",
               "Left: how well a score tells the perturbed test set Q(q_delta(s=1, t=0)) from the training set Q(p), "
               "per D: sep = |2 AUROC - 1| (0: the KDEs coincide, 1: no overlap) and the thesis's overlap coefficient "
               "OVL (section 3.2.4; 1: the KDEs coincide, 0: no overlap), with the true log p (dashed) and the "
               "model's log p_theta (solid). The thesis found the model's KDEs coinciding for D >= 50; "
               f"in this run the model's sep {model_trend} with D. Right: OVL against sep for every test set of "
               f"this lesson ({len(overlap)}), against the curve of two equal-spread Gaussians (grey).")

# %% [markdown]
# ## 6.2.2 — Figures 8-10: every $(s, t)$, perturbed against unperturbed

# %%
grid_table = [r for r in table if r["D"] == cfg.grid_dim]
_thesis.adopt_figure(lesson, fig_8(grid_table, kept, lesson.folder))
_thesis.adopt_figure(lesson, fig_9(grid_table, kept, lesson.folder))
var_table = [r for r in table if r["D"] == cfg.variants_dim]
_thesis.adopt_figure(lesson, fig_10(var_table, kept, lesson.folder))

# %% [markdown]
# ## What this run showed
# Asserted: the estimates match the analytic cross-entropy (C2) on every set, and the
# perturbation is real — the true $\log p$ can see it ($\mathrm{sep} \ge 0.1$). Findings C6 and C7 are
# reported side by side with the thesis, not asserted.

# %%
z = [abs(r["Hs_qp"] - r["H_qp"]) / r["Hs_qp_se"] for r in table]
lesson.claim(f"H*(q, p) matches H(q, p) within 4.5 s.e. on all {len(table)} test sets (C2)", max(z) < 4.5,
             f"max |z| = {max(z):.2f}")
for r in rows:
    lesson.claim(f"D = {r['D']}: the true density sees the perturbation (sep(log p) >= 0.1)",
                 sep(r["auroc_p"]) >= 0.1, f"sep = {sep(r['auroc_p']):.3f}", needs_training=True)
in_range = all(0 <= o[k] <= 1 + 1e-9 for o in overlap for k in ("sep_p", "ovl_p", "sep_ptheta", "ovl_ptheta"))
lesson.claim(f"OVL and sep lie in [0, 1] for both scores on all {len(overlap)} test sets", in_range)
same_ovl = min(min(o["ovl_p"], o["ovl_ptheta"]) for o in same)
lesson.claim("OVL of two samples of the same distribution (q(1, 0) against Q(p)) is near 1 (>= 0.9) at every D",
             same_ovl >= 0.9, f"min OVL = {same_ovl:.3f}")
_thesis.thesis_claims(lesson, table, ["C6", "C7"])

# %% [markdown]
# ## This run vs the thesis
# Generated from this run's numbers: what the thesis found, what this run found, and why they may differ.

# %%
_thesis.versus_thesis(lesson, table, ["C6", "C7"])

# %% [markdown]
# ## Try this
# - `--dims 10 20 50 100 --S 1 --T 0` (only the cell $s = 1$, $t = 0$ of the grids: seconds): you should see the
#   model's separability $\mathrm{sep}(\log p_\theta)$ keep rising with $D$ through $D = 100$ (C6's first sentence says
#   "rises"), a little below the truth's at every $D$ (`D100_sep_model_logp` < `D100_sep_true_logp`): not the
#   thesis's "indistinguishable for $D \ge 50$".
# - The perturbation's strength: `--dims 10 20 50 100 --S 1 --T 0 --alpha 0.02 --beta 0.05` (a quarter of the
#   default $\alpha$ and $\beta$). You should see both separabilities fall at every $D$, the model's still within 0.05 of
#   the truth's: this model notices a weak perturbation about as well as the true density does.
# - Lesson 12 traces single perturbed points through the layers: you should see its `compensation_verdict`
#   say whether the layers shrink the perturbation more than an exact whitening of $p$ would.
# - At thesis scale (hours, not run by the tests): `.venv/bin/python lessons/07_perturbed.py --thesis`. Expect
#   the verdicts that "This run vs the thesis" quotes for the thesis's scale (`make reproduce`, REPRODUCTION.md).

# %%
lesson.finish()
