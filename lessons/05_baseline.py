# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 5 — Baseline: does the model fit $p$? (thesis section 4, Figure 1, eq. 15-18)
#
# Before testing the flow on *other* distributions, the thesis ([de Bruin, TU Delft 2024](https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91)) checks that it fits its training
# distribution $p = \mathcal{N}(\mu_p, \Sigma_p)$, a Gaussian with strong correlations, in $D$ = 10, 20, 50, 100.
# For each $D$ we train the core model (section 2.1: affine couplings only) on fresh samples of $p$,
# then score a fresh test set $Q(p)$ with the true $\log p$ and the model's $\log p_\theta$:
#
# * Figure 1: in the thesis, the KDEs of $\{\log p(x)\}$ and $\{\log p_\theta(x)\}$ over $Q(p)$ nearly coincide. How far
#   apart they are in *this* run is the gap below in units of the standard deviation of $\log p$; the rule of
#   the thesis's finding C1 calls a gap small up to a fixed fraction of that width (the fit standard), and the
#   run says at which $D$ its model meets it;
# * the gap $\mathbb{E}_p[\log p] - \mathbb{E}_p[\log p_\theta] = \mathrm{KL}(p \,\|\, p_\theta) \ge 0$ (eq. 16-18, lesson 4) is the
#   cross-entropy gap $\Delta_{HC}$ of section 5.2.1 at $s = 1$, $t = 0$. Only the *expectation* is bounded:
#   an average over $N$ test points can land on either side of it by a few standard errors.
#
# The numbers come from `minflow.thesis.pipeline` (the same code as `make reproduce`), at a smaller
# scale: shorter training and $N$ = 20,000 test points instead of 1,000,000.
#
# Run: `.venv/bin/python lessons/05_baseline.py` (`--help` lists the options).

# %%
import _lesson  # first: headless plotting, one BLAS thread
import _thesis  # the core model shared by lessons 4-9 and 12, and the adapters to minflow.thesis (pipeline, verdicts)

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from minflow.thesis.documents import fig_1, learning_curves
from minflow.thesis.gaussians import ThesisDistributions


# The core model and its training (seed, n_layers, hidden, epochs, ..., n_test: N of Q(p)) are inherited
# from _thesis.CoreModelConfig, shared with lessons 4, 6-9 and 12: same values, same cached models.
@dataclass(frozen=True)
class Config(_thesis.CoreModelConfig):
    """Lesson 5: the baseline of section 4 — the core model on its own training distribution."""

    dims: tuple = (10, 20, 50, 100)


lesson = _lesson.Lesson("05_baseline", Config, tiny={**_thesis.TINY, "dims": (4, 6)}, thesis=_thesis.THESIS)
cfg = lesson.config
exp_cfg = cfg.experiment_config(dims=cfg.dims)

# %% [markdown]
# ## Training (eq. 15, section 4): one model per $D$
# `minflow.thesis.pipeline.train_model` minimises the mean NLL on `epoch_size` fresh points of $p$ per
# epoch. Its *expectation* cannot go below the entropy $H(p) = \tfrac12\log\det(2\pi e\,\Sigma_p)$ (eq. 17); the
# mean over a finite validation set can, by sampling noise (the printout says when it does). It builds the flow with
# minflow's default engine (printed above as `train_engine`): fast kernels that compute the same
# log-likelihood and gradient as the reference code of lesson 3.

# %%
histories, entropies = {}, {}
for d in cfg.dims:
    _, hist = _thesis.thesis_model(lesson, d, exp_cfg)
    histories[d] = {"history": hist}
    entropies[d] = ThesisDistributions(d, seed=cfg.seed).p.entropy()
    val = hist["val_nll"][-1]
    note = "  (below H(p): a finite-sample mean can be; only its expectation cannot)" if val < entropies[d] else ""
    print(f"  D = {d:3d}: H(p) = {entropies[d]:8.3f} nats, final validation NLL = {val:8.3f}{note}")
_thesis.adopt_figure(lesson, learning_curves(histories, entropies, lesson.folder))

# %% [markdown]
# ## Section 4 — Scoring $Q(p)$ with $\log p$ and $\log p_\theta$
# $Q(p)$ is the test set of $q(s = 1, t = 0) = p$ itself (eq. 12).

# %%
cells = [(d, "generalisation", 1.0, 0.0) for d in cfg.dims]
table, kept, _ = _thesis.evaluate_cells(lesson, exp_cfg, cells)
_thesis.adopt_figure(lesson, fig_1(table, kept, lesson.folder))

rows = {r["D"]: r for r in table}
for d, r in rows.items():
    # eq. 18: E_p[log p] - E_p[log p_theta] = KL(p || p_theta) >= 0, paired estimate with its s.e.
    kl, se = r["mean_logp"] - r["mean_logp_theta"], r["gap_se"]
    lesson.record(f"D{d}_E_p_log_p", r["mean_logp"], ".3f")
    lesson.record(f"D{d}_E_p_log_p_theta", r["mean_logp_theta"], ".3f")
    lesson.record(f"D{d}_KL_p_ptheta", kl, ".3f")
lesson.record("table", table)

# Does this run's Figure 1 show what the thesis's shows? The fit standard is the rule's (C1 check (b) of
# minflow.thesis.verdicts.claims), read from its decision so that this sentence and the verdict below agree.
standard = _thesis.fit_standard(table)
lesson.record("fit_standard", standard)
shifts = ", ".join(f"D = {f['D']}: {f['gap_sd']:.2f}" for f in standard)
_lesson.say(f"  Figure 1 here: the gap in widths of the true KDE (gap / sd(log p); > 0: the model's KDE lies left of the "
            f"truth's) is {shifts}. "
            + _thesis.fit_standard_sentence(standard)
            + ("" if all(f["met"] for f in standard) else
               f" The lessons' default training ({cfg.epochs} epochs of {cfg.epoch_size:,} points) is far shorter than the "
               "thesis's: at D = " + ", ".join(str(f["D"]) for f in standard if not f["met"]) + " the two KDEs are apart by "
               "more than the rule's bar, not the near-coincidence of the thesis's Figure 1."))

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
ds = list(rows)
kls = [rows[d]["mean_logp"] - rows[d]["mean_logp_theta"] for d in ds]
ses = [rows[d]["gap_se"] for d in ds]
axes[0].errorbar(ds, kls, yerr=[2 * s for s in ses], fmt="o-", capsize=3)
axes[0].axhline(0, color="k", lw=0.5)
axes[0].set(xlabel="dimension D", ylabel="E_p[log p] - E_p[log p_theta] (nats)",
            title="the gap KL(p || p_theta), +-2 s.e.")
axes[1].plot(ds, [k / d for k, d in zip(kls, ds)], "o-", label="gap / D (nats per dimension)")
axes[1].plot(ds, [k / np.sqrt(rows[d]["var_logp"]) for k, d in zip(kls, ds)], "s--",
             label="gap / sd(log p) (KDE shift in widths; no unit)")
axes[1].axhline(0, color="k", lw=0.5)
axes[1].set(xlabel="dimension D", ylabel="relative gap (nats / D, or sd of log p)", title="how big is the gap?")
fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower right", fontsize=9, ncol=2)
lesson.savefig(fig, "baseline_gap",
               "Left: the estimated gap E_p[log p] - E_p[log p_theta] = KL(p || p_theta) in nats on Q(p), per D, "
               "with two standard errors (paired). Right: the same gap per dimension and in units of the standard "
               "deviation of log p, i.e. how far the model's KDE in Figure 1 is shifted relative to its width.")

# %% [markdown]
# ## What this run showed
# Asserted: what must hold for ANY model (eq. 18) and for the estimates (C2). The thesis's
# qualitative finding C1 ("a small gap") is decided by the fixed rule of
# `minflow.thesis.verdicts.claims` and reported, not asserted.

# %%
for d, r in rows.items():
    lesson.claim(f"D = {d}: E_p[log p_theta] <= E_p[log p] (within 3 s.e.; eq. 18)",
                 r["mean_logp_theta"] <= r["mean_logp"] + 3 * r["gap_se"],
                 f"{r['mean_logp_theta']:.3f} vs {r['mean_logp']:.3f}")
    lesson.claim(f"D = {d}: the test-set estimate H*(p, p) matches the analytic H(p) within 4.5 s.e.",
                 abs(r["Hs_qp"] - r["H_qp"]) < 4.5 * r["Hs_qp_se"], f"{r['Hs_qp']:.3f} vs {r['H_qp']:.3f}")
    lesson.claim(f"D = {d}: training lowered the validation NLL",
                 min(histories[d]["history"]["val_nll"]) < histories[d]["history"]["val_nll"][0],
                 needs_training=True)
_thesis.thesis_claims(lesson, table, ["C1", "C2"])

# %% [markdown]
# ## This run vs the thesis
# Generated from this run's numbers: what the thesis found, what this run found, and why they may differ.

# %%
_thesis.versus_thesis(lesson, table, ["C1", "C2"])

# %% [markdown]
# ## Try this
# - How much of the gap at $D = 100$ is just short training? Compare `--dims 100` (the default training) with
#   `--dims 100 --epochs 40`: you should see `D100_KL_p_ptheta` fall to under half of its value, and $D = 100$
#   meet the fit standard that the default training misses (`fit_standard`, and C1's check (b) met).
# - `--dims 100 --hidden 128 128`: a conditioner twice as wide (the thesis does not say how wide its was). You
#   should see `D100_KL_p_ptheta` within 20% of the `--dims 100` run's: at this training budget the width is not
#   what limits the fit; the training length is.
# - `--n-test 2000`: ten times fewer test points. You should see each gap's standard error (`gap_se` in the
#   table) about $\sqrt{10} \approx 3$ times the default run's, and every gap still more than 5 standard errors above
#   zero: the sign stays clear.
# - At thesis scale ($N$ = 1,000,000, 200 epochs; hours, not run by the tests):
#   `.venv/bin/python lessons/05_baseline.py --thesis`. Expect the verdicts that "This run vs the thesis"
#   quotes for the thesis's scale (`make reproduce`, REPRODUCTION.md).

# %%
lesson.finish()
