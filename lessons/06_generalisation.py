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
# The model was trained on p = N(mu_p, Sigma_p). Section 5 tests it on distributions that keep
# p's correlations but move or rescale it (eq. 12-13):
#
# $$q(s, t) = \mathcal{N}(\mu_p + t\mathbf{1},\; s^2 \Sigma_p), \quad \text{i.e. } x \mapsto (x - \mu_p)\, s + \mu_p + t \text{ applied to } x \sim p$$
#
# over the grid Lambda = S x T (eq. 19), S = {0.25, 0.5, 0.75, 1, 1.25, 1.75}, T = {0, 0.25, 0.5, 0.75}.
# For each q we compare the truth and the model on the same test points:
# H*(q, p) vs H*(q, p_theta) (eq. 14, section 3.2.1), the gap Delta_HC = |H*(q, p) - H*(q, p_theta)| (5.2.1),
# the KL estimates D*(q || p_theta) = H*(q, p_theta) - H(q) (3.2.2) and the KDEs (3.2.3).
#
# What the thesis ([de Bruin, TU Delft 2024](https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91))
# reports: changing s alone leaves the gap about constant (5.2.1, C3); shifting by t makes its model
# *over-estimate* the likelihood, more with larger t (5.2.2, C4); and s = 0.75, t = 0.25 gives KDEs of
# log p_theta over Q(q) and Q(p) that overlap almost fully (5.2.3, C5) — bad news for OOD detection.
# These are the thesis's findings, not facts about every flow: the cell "This run vs the thesis" at the
# end says, from this run's numbers, which of them this run reproduces.
#
# Run: `.venv/bin/python lessons/06_generalisation.py` (`--help` lists the options).

# %%
import _lesson  # first: headless plotting, one BLAS thread
import _thesis  # the core model shared by lessons 4-9 and 12, and the adapters to minflow.thesis.experiments

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from minflow.thesis.experiments import figures
from minflow.thesis.gaussians import S_DEFAULT, T_DEFAULT


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
# ## 5.1 — The test sets Q(q(s, t)), scored by log p and log p_theta
# `minflow.thesis.experiments.evaluate_cell` draws N points of q and computes every quantity of
# sections 3.2 and 8.1 for them (one "cell" of the grid).

# %%
# eq. 19: Lambda = S x T
cells = [(d, "generalisation", s, t) for d in cfg.dims for s in cfg.S for t in cfg.T]
table, kept, _ = _thesis.evaluate_cells(lesson, exp_cfg, cells)
lesson.record("table", table)
d_focus = 20 if 20 in cfg.dims else cfg.dims[-1]

# %% [markdown]
# ## 5.2 — Figures 2-6 in small form
# Figure 2: cross-entropies against s, a column per t. Figure 6: the KL divergences.
# Figures 3, 4, 5: KDEs when s changes, when t changes, and for the combined case.

# %%
for fig_n in (figures.fig_2, figures.fig_3, figures.fig_4, figures.fig_5, figures.fig_6):
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
        ax.text(j, i, f"{signed[i, j]:+.2f}", ha="center", va="center", fontsize=8)
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
# ## What this run showed
# Asserted: the estimates are trustworthy (C2: H*(q, p) against the analytic H(q, p) on every
# test set) and the gap is never "negative KL" for q = p. The thesis's findings C3-C5 are decided
# by `minflow.thesis.experiments.claims` and reported side by side with the thesis — not asserted.

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
_thesis.thesis_claims(lesson, table, ["C3", "C4", "C5"])

# %% [markdown]
# ## This run vs the thesis
# Generated from this run's numbers: what the thesis found, what this run found, and why they may differ.

# %%
_thesis.versus_thesis(lesson, table, ["C3", "C4", "C5"])

# %% [markdown]
# ## Try this
# - `--dims 50 100 --S 1`: the shifted sets (s = 1) in higher dimensions, where the thesis says the
#   over-estimation with t is "less noticeable". You should see the opposite in this run: at s = 1, t > 0 the
#   model over-estimates some shifted sets at D = 50 and 100 (C4's first sentence counts them), where at
#   D = 10 and 20 (the default run) it under-estimates all of them.
# - `--T 0 1 2`: larger shifts. You should see H*(q, p) - H*(q, p_theta) negative at every t > 0 (the model
#   under-rates, never over-rates, sets far from its training data) and Delta_HC rising with t at both D.
# - Compare the gap grid with lesson 9's TNR: you should see the gap grid's caption count its red cells
#   (over-estimated sets) from the table. A red cell with s < 1 is one where the model's bounds can only
#   do worse than the truth's: the model gives those points more likelihood than p does.
# - At thesis scale (all four D, N = 1,000,000; hours, not run by the tests):
#   `.venv/bin/python lessons/06_generalisation.py --thesis`. Expect the verdicts that "This run vs the
#   thesis" quotes for the thesis's scale (`make reproduce`, REPRODUCTION.md).

# %%
lesson.finish()
