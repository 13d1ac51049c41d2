# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 8 — Outliers and robustness (thesis section 7, Figures 11-12)
#
# Sections 5-6 kept $p$'s correlations. Section 7 ([the thesis](https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91))
# tests true outliers: Gaussians with their own covariance and correlations, drawn with a random generator
# of their own (Definition 3.2), moved and scaled the same way:
#
# $$q_{\text{out}}(s, t) = \mathcal{N}(\mu_q + t\mathbf{1},\; s^2 \Sigma_q)$$
#
# Their covariance is independent of $p$'s, but their mean is not: `minflow.thesis.gaussians` places $\mu_q$ at a
# calibrated distance from $\mu_p$ (`outlier_mean_z`, in standard deviations of $\log p$), in a direction partly
# against the shift $t\mathbf{1}$ (`outlier_approach`), with a small covariance of its own (`outlier_mean_variance`,
# `outlier_condition_number`), so that the true density's TNRs match both of the thesis's figures as
# closely as this construction allows (reproduction/outlier_calibration.md); the thesis does not say how
# its outliers were drawn. That calibration was made at $D = 50$: at smaller $D$ the same construction puts
# $q_{\text{out}}$ closer to $p$, and the true density flags fewer of its points (this run says how many, below).
# The thesis found that its model instead *over-estimates* their density so much that its
# KDE over $Q(q_{\text{out}})$ overlaps that over $Q(p)$, increasingly with $D$ — at $D = 100$ outliers even got a
# slightly higher mean $\log p_\theta$ than training data (Figure 11, finding C8). Varying $s$ and $t$
# (section 7.1.1, Figure 12, C9): smaller $s$ raises $\log p_\theta$ and shrinks its variance, larger $s$ or
# larger $t$ lowers it. Whether this run reproduces C8 and C9 is said, from its numbers, in
# "This run vs the thesis" at the end.
#
# Run: `.venv/bin/python lessons/08_outliers.py` (`--help` lists the options).

# %%
import _lesson  # first: headless plotting, one BLAS thread
import _thesis  # the core model shared by lessons 4-9 and 12, and the adapters to minflow.thesis (pipeline, verdicts)

from dataclasses import dataclass, field

import matplotlib.pyplot as plt

from minflow.thesis.verdicts import sep

from minflow.thesis.documents import VARIANTS, fig_11, fig_12
from minflow.thesis.gaussians import S_DEFAULT, T_DEFAULT, correlation_summary, ThesisDistributions


# The core model and its training (seed, n_layers, ..., n_test) are inherited from _thesis.CoreModelConfig.
@dataclass(frozen=True)
class Config(_thesis.CoreModelConfig):
    """Lesson 8: the outlier family q_out(s, t) of section 7."""

    dims: tuple = (10, 20, 50, 100)   # Figure 11: the outlier set at s = 1, t = 0 for each D
    variants_dim: int = 50            # Figure 12 and C9: s and t varied at this D
    S: tuple = S_DEFAULT
    T: tuple = T_DEFAULT
    # the D at which the outlier family was calibrated to the thesis's true-density TNRs
    # (reproduction/outlier_calibration.md); the TNR >= 0.9 check applies from this D upwards
    calibrated_dim: int = field(default=50, init=False)


lesson = _lesson.Lesson("08_outliers", Config,
                        tiny={**_thesis.TINY, "dims": (4, 6), "variants_dim": 6, "S": (0.5, 1.0), "T": (0.0, 0.5)},
                        thesis=_thesis.THESIS)
cfg = lesson.config
all_dims = sorted(set(cfg.dims) | {cfg.variants_dim})
exp_cfg = cfg.experiment_config(dims=all_dims, S=cfg.S, T=cfg.T)

# %% [markdown]
# ## 7 — The outlier distribution: different correlations, not just a different place

# %%
dv = ThesisDistributions(cfg.variants_dim, seed=cfg.seed)
lesson.record("correlations_p", correlation_summary(dv.p.cov))
lesson.record("correlations_q_out", correlation_summary(dv.q_out(1.0, 0.0).cov))

# %% [markdown]
# ## 7.1 — Scoring $Q(q_{\text{out}})$ with the truth and the model

# %%
cells = {(d, fam, 1.0, 0.0) for d in all_dims for fam in ("generalisation", "outlier")}
# section 7.1.1: s varied at the smallest t, t varied at s = 1, and the thesis's combined variants
cells |= {(cfg.variants_dim, "outlier", s, min(cfg.T)) for s in cfg.S}
cells |= {(cfg.variants_dim, "outlier", 1.0, t) for t in cfg.T if 1.0 in cfg.S}
cells |= {(cfg.variants_dim, "outlier", s, t) for s, t in VARIANTS if s in cfg.S and t in cfg.T}
table, kept, _ = _thesis.evaluate_cells(lesson, exp_cfg, sorted(cells))
lesson.record("table", table)

fig11_table = [r for r in table if r["D"] in cfg.dims]
_thesis.adopt_figure(lesson, fig_11(fig11_table, kept, lesson.folder))
var_table = [r for r in table if r["D"] == cfg.variants_dim]
_thesis.adopt_figure(lesson, fig_12(var_table, kept, lesson.folder))

rows = sorted((r for r in table if r["family"] == "outlier" and r["s"] == 1.0 and r["t"] == 0.0),
              key=lambda r: r["D"])
ds = [r["D"] for r in rows]
fig, ax = plt.subplots(figsize=(6.5, 4.8), layout="constrained")
# per dimension, so that D = 10 and D = 100 share one axis
ax.plot(ds, [r["ref_mean_logp"] / r["D"] for r in rows], "o--", color="C0", label="log p over Q(p)")
ax.plot(ds, [r["ref_mean_logp_theta"] / r["D"] for r in rows], "o-", color="C0", label="log p_theta over Q(p)")
ax.plot(ds, [r["mean_logp"] / r["D"] for r in rows], "s--", color="C3", label="log p over Q(q_out)")
ax.plot(ds, [r["mean_logp_theta"] / r["D"] for r in rows], "s-", color="C3", label="log p_theta over Q(q_out)")
ax.set(xlabel="dimension D", ylabel="mean log-likelihood / D (nats per dimension)",
       title="outliers q_out(1, 0): truth vs model")
fig.legend(loc="outside lower center", ncol=2, fontsize=9)
lesson.savefig(fig, "outlier_means",
               "Mean log-likelihood per dimension (nats / D) over the training set Q(p) (blue) and the outlier set "
               "Q(q_out(1, 0)) (red), by the true density (dashed) and the model (solid). Where the red solid line "
               "sits far above the red dashed one, the model overestimates the outliers' density.")
for r in rows:
    lesson.record(f"D{r['D']}_outlier_mean_logp", r["mean_logp"], ".2f")
    lesson.record(f"D{r['D']}_outlier_mean_logp_theta", r["mean_logp_theta"], ".2f")
    lesson.record(f"D{r['D']}_training_mean_logp_theta", r["ref_mean_logp_theta"], ".2f")
    lesson.record(f"D{r['D']}_tnr_true_p", r["tnr_p"], ".3f")
    lesson.record(f"D{r['D']}_tnr_model", r["tnr_ptheta"], ".3f")

# %% [markdown]
# ## What this run showed
# Asserted, whatever the settings (none of it depends on the model): the estimates are sound (C2); at
# every $D$ the true $\log p$ ranks the outliers apart from training points, $\mathrm{sep}(\log p) = |2\,\mathrm{AUROC} - 1|$ of at
# least 0.9; and where the family was calibrated ($D \ge 50$) it flags at least 90 % of them at TPR 0.975.
# Below that $D$ it flags fewer, and the sentence after the checks says how many. Findings C8-C9 are
# reported against the thesis.

# %%
z = [abs(r["Hs_qp"] - r["H_qp"]) / r["Hs_qp_se"] for r in table]
lesson.claim(f"H*(q, p) matches H(q, p) within 4.5 s.e. on all {len(table)} test sets (C2)", max(z) < 4.5,
             f"max |z| = {max(z):.2f}")
for r in rows:
    sep_p = sep(r["auroc_p"])
    lesson.claim(f"D = {r['D']}: the true log p ranks outliers apart from Q(p) (sep(log p) >= 0.9)", sep_p >= 0.9,
                 f"sep = {sep_p:.3f}")
    if r["D"] >= cfg.calibrated_dim:
        lesson.claim(f"D = {r['D']}: the true log p flags outliers (TNR >= 0.9 at TPR {exp_cfg.tpr})",
                     r["tnr_p"] >= 0.9, f"TNR = {r['tnr_p']:.3f}")
below = [r for r in rows if r["D"] < cfg.calibrated_dim]
if below:
    lesson.record("truth_below_calibration", {r["D"]: round(r["tnr_p"], 3) for r in below})
    _thesis.show_markdown(
        f"Below D = {cfg.calibrated_dim}, where the outliers were not calibrated, the true density flags "
        + " and ".join(f"{r['tnr_p']:.1%} of them at D = {r['D']}" for r in below) + f" (TPR {exp_cfg.tpr}). "
        + ("There our outliers overlap p more than the thesis's, whose true KDEs hardly overlap at any D "
           "(Figure 11): read the model's TNR there against the truth's, not against 1."
           if min(r["tnr_p"] for r in below) < 0.9 else "That is as clear a separation as at the calibrated D."))
_thesis.thesis_claims(lesson, table, ["C8", "C9"])

# %% [markdown]
# ## This run vs the thesis
# Generated from this run's numbers: what the thesis found, what this run found, and why they may differ.

# %%
_thesis.versus_thesis(lesson, table, ["C8", "C9"])

# %% [markdown]
# ## Try this
# - Outliers that are *closer*: `ThesisDistributions(D, outlier_mean_z=0.0)` centres $q_{\text{out}}$ at a typical
#   point of $p$, and `outlier_cov_mix=0.5` blends its covariance with $p$'s.
# - `--S 0.1 0.25 0.5`: very concentrated outliers — do they get a higher $\log p_\theta$ than training data?
# - Lesson 12 traces outliers through the layers: which coupling layers pull them back?
# - At thesis scale: `.venv/bin/python lessons/08_outliers.py --thesis`.

# %%
lesson.finish()
