# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 4 — Entropy, KL divergence and cross-entropy (thesis sections 2.2, 3.2.1-3.2.2, 4; eq. 7-10, 14-18)
#
# Every number in the thesis's experiments is one of three quantities, in nats:
#
# $$H(p) = -\mathbb{E}_p[\log p(x)] \qquad \text{entropy (eq. 7 discrete, eq. 8 differential)}$$
#
# $$\mathrm{KL}(q \,\|\, p) = \mathbb{E}_q[\log q(x) - \log p(x)] \ge 0 \qquad \text{Kullback-Leibler divergence (eq. 9)}$$
#
# $$H(q, p) = -\mathbb{E}_q[\log p(x)] = H(q) + \mathrm{KL}(q \,\|\, p) \qquad \text{cross-entropy (eq. 10)}$$
#
# For Gaussians all three have closed forms (Proposition 1); for a flow only sample estimates
# exist (eq. 14). This lesson derives the closed forms, computes each quantity both ways and shows they
# agree — the thesis's argument (section 3.2.1) for trusting $H^*(q, p_\theta)$ — and then why a trained model
# always has $\mathbb{E}_p[\log p_\theta] \le \mathbb{E}_p[\log p]$ (section 4, eq. 15-18).
#
# Run: `.venv/bin/python lessons/04_information.py` (`--help` lists the options).

# %%
import _lesson  # first: headless plotting, one BLAS thread
import _thesis  # the core model shared by lessons 4-9 and 12, and the adapters to minflow.thesis (pipeline, verdicts)

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from minflow.thesis import information as info
from minflow.thesis.gaussians import S_DEFAULT, T_DEFAULT, Gaussian, ThesisDistributions


# The trained core model of section 4 is the one lessons 5-9 and 12 use: its settings (seed,
# n_layers, hidden, epochs, ...) are inherited from _thesis.CoreModelConfig, so the model is shared.
@dataclass(frozen=True)
class Config(_thesis.CoreModelConfig):
    """Lesson 4: analytic vs sampled entropy, KL and cross-entropy; why E_p[log p_theta] <= E_p[log p]."""

    dim: int = 10               # D of the thesis's Gaussians used here
    n_samples: int = 20_000     # N of each test set Q_N(q) (thesis: 1,000,000)


lesson = _lesson.Lesson("04_information", Config, tiny={**_thesis.TINY, "dim": 4, "n_samples": 2000},
                        thesis={**_thesis.THESIS, "n_samples": 1_000_000})
cfg = lesson.config
rng = np.random.default_rng(cfg.seed)

# %% [markdown]
# ## 2.2 — Entropy (eq. 7-8)
#
# Discrete entropy (eq. 7) is never negative. Differential entropy (eq. 8) can be: a narrow
# density is larger than 1, so $-\log p(x) < 0$.
#
# **The entropy of a Gaussian, derived.** For $x \sim \mathcal{N}(\mu, \Sigma)$ in $D$ dimensions,
#
# $$\log p(x) = -\tfrac{D}{2}\log(2\pi) - \tfrac12\log\det\Sigma - \tfrac12\,(x-\mu)^\top\Sigma^{-1}(x-\mu).$$
#
# Only the last term is random. A number is its own trace and $\operatorname{tr}(AB) = \operatorname{tr}(BA)$, so
# its mean is (the *trace trick*)
#
# $$\mathbb{E}\big[(x-\mu)^\top\Sigma^{-1}(x-\mu)\big]
# = \operatorname{tr}\big(\Sigma^{-1}\,\mathbb{E}[(x-\mu)(x-\mu)^\top]\big) = \operatorname{tr}(\Sigma^{-1}\Sigma) = D .$$
#
# Then eq. 8 gives
#
# $$H(\mathcal{N}(\mu, \Sigma)) = -\mathbb{E}[\log p(x)] = \tfrac{D}{2}\log(2\pi) + \tfrac{D}{2} + \tfrac12\log\det\Sigma
# = \tfrac{D}{2}\log(2\pi e) + \tfrac12\log\det\Sigma ,$$
#
# which is $\tfrac12\log\det(2\pi e\,\Sigma)$, since $\det(c\,\Sigma) = c^D\det\Sigma$. The mean $\mu$ drops out; for
# $D = 1$ it is $\tfrac12\log(2\pi e\,\sigma^2)$. The cell below checks the formula written out against the
# library's `Gaussian.entropy` for the thesis's $p$, and the 1-D case against sample estimates of eq. 8.

# %%
dists = ThesisDistributions(cfg.dim, seed=cfg.seed)
p = dists.p
# H(N(mu, Sigma)) = D/2 log(2 pi e) + 1/2 log det Sigma, written out, against the library's Gaussian.entropy
entropy_formula_error = abs(0.5 * cfg.dim * np.log(2 * np.pi * np.e) + 0.5 * np.linalg.slogdet(p.cov)[1] - p.entropy())
lesson.record("H_p_written_out_minus_library", entropy_formula_error, ".1e")

# eq. 7: H(X) = -sum_x P(x) log P(x), for a die whose six faces get weights exp(-k * face)
faces = np.arange(6)
die = {}
for k in np.linspace(0, 3, 13):
    P = np.exp(-k * faces) / np.exp(-k * faces).sum()
    die[float(k)] = float(-np.sum(P * np.log(P)))

sigmas = np.geomspace(0.05, 3.0, 12)
entropy_rows = []
for sigma in sigmas:
    g = Gaussian(np.zeros(1), np.array([[sigma**2]]))
    x = g.sample(cfg.n_samples, rng)
    # eq. 8: H = -E[log p(x)], estimated by the sample mean with its standard error
    est = info.cross_entropy_estimate(g.log_prob(x))
    # H = 1/2 log(2 pi e sigma^2), the closed form
    analytic = 0.5 * np.log(2 * np.pi * np.e * sigma**2)
    entropy_rows.append({"sigma": sigma, "analytic": analytic, "estimate": est.value, "stderr": est.stderr})
entropy_z = np.array([(r["estimate"] - r["analytic"]) / r["stderr"] for r in entropy_rows])
lesson.record("die_entropy_uniform_vs_log6", die[0.0] - np.log(6), ".1e")
lesson.record("gaussian_entropy_max_abs_z", float(np.abs(entropy_z).max()), ".2f")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].plot(list(die), list(die.values()), "o-")
axes[0].axhline(np.log(6), color="k", ls="--", label="log 6 (fair die)")
axes[0].axhline(0, color="k", lw=0.5)
axes[0].set(xlabel="loading k (P(face) ~ exp(-k face))", ylabel="H (nats)", title="eq. 7: discrete entropy >= 0")
axes[0].legend()
axes[1].plot(sigmas, [r["analytic"] for r in entropy_rows], "k-", label="1/2 log(2 pi e sigma^2)")
axes[1].errorbar(sigmas, [r["estimate"] for r in entropy_rows], yerr=[2 * r["stderr"] for r in entropy_rows],
                 fmt="o", ms=4, label="-mean log p(x_i), +-2 s.e.")
axes[1].axhline(0, color="k", lw=0.5)
axes[1].set(xscale="log", xlabel="standard deviation sigma", ylabel="H (nats)",
            title="eq. 8: differential entropy of N(0, sigma^2)")
axes[1].legend()
lesson.savefig(fig, "entropy",
               "Left: the entropy of a six-sided die (eq. 7) as it is loaded; it is largest, log 6, for the fair "
               "die and never negative. Right: the differential entropy of N(0, sigma^2) (eq. 8), closed form "
               "against the sample estimate; it is negative for sigma < 1/sqrt(2 pi e) = 0.24.")

# %% [markdown]
# ## 2.2.1 — KL divergence (eq. 9) and Proposition 1
#
# **Proposition 1, derived.** Write $\Delta\mu = \mu_q - \mu_p$. Eq. 9 with the Gaussian log-density above:
#
# $$\mathrm{KL}(q\,\|\,p) = \mathbb{E}_q[\log q(x) - \log p(x)] = \tfrac12\log\frac{\det\Sigma_p}{\det\Sigma_q}
# - \tfrac12\,\mathbb{E}_q\big[(x-\mu_q)^\top\Sigma_q^{-1}(x-\mu_q)\big]
# + \tfrac12\,\mathbb{E}_q\big[(x-\mu_p)^\top\Sigma_p^{-1}(x-\mu_p)\big].$$
#
# The first expectation is $D$, as in the entropy. For the second, split $x - \mu_p = (x - \mu_q) + \Delta\mu$: the
# cross term vanishes because $\mathbb{E}_q[x - \mu_q] = 0$, and the trace trick with
# $\mathbb{E}_q[(x-\mu_q)(x-\mu_q)^\top] = \Sigma_q$ gives
#
# $$\mathbb{E}_q\big[(x-\mu_p)^\top\Sigma_p^{-1}(x-\mu_p)\big] = \operatorname{tr}(\Sigma_p^{-1}\Sigma_q) + \Delta\mu^\top\Sigma_p^{-1}\Delta\mu .$$
#
# Together, Proposition 1 (the thesis writes $k$ for $D$):
#
# $$\mathrm{KL}(q\,\|\,p) = \tfrac12\Big[\log\frac{\det\Sigma_p}{\det\Sigma_q} - D + \Delta\mu^\top\Sigma_p^{-1}\Delta\mu
# + \operatorname{tr}(\Sigma_p^{-1}\Sigma_q)\Big].$$
#
# Below it is written out as code for two of the thesis's Gaussians (the library's
# `minflow.thesis.information.kl_gaussian` computes the same through Cholesky factors), against the Monte Carlo
# mean of eq. 9 and, step by step, the two expectations of the derivation against their sample means over $x \sim q$.

# %%
def kl_proposition_1(q, p):
    Sp_inv = np.linalg.inv(p.cov)
    dm = q.mean - p.mean
    # Proposition 1: KL(q||p) = 1/2 [log |Sp|/|Sq| - D + (mq - mp)^T Sp^{-1} (mq - mp) + tr(Sp^{-1} Sq)]
    return 0.5 * (np.linalg.slogdet(p.cov)[1] - np.linalg.slogdet(q.cov)[1] - q.dim
                  + dm @ Sp_inv @ dm + np.trace(Sp_inv @ q.cov))


q = dists.q(0.75, 0.25)
x_q = q.sample(cfg.n_samples, rng)
x_p = p.sample(cfg.n_samples, rng)
# eq. 9: KL(q || p) = E_q[log q(x) - log p(x)], estimated on x ~ q
kl_mc = np.mean(q.log_prob(x_q) - p.log_prob(x_q))
kl_mc_se = np.std(q.log_prob(x_q) - p.log_prob(x_q), ddof=1) / np.sqrt(cfg.n_samples)
kl_qp, kl_pq = kl_proposition_1(q, p), kl_proposition_1(p, q)
lesson.record("KL_q_p_proposition1", kl_qp, ".4f")
lesson.record("KL_q_p_library", info.kl_gaussian(q, p), ".4f")
lesson.record("KL_q_p_monte_carlo", kl_mc, ".4f")
lesson.record("KL_p_q_proposition1", kl_pq, ".4f")


def quadratic_form(x, g):
    """(x - mu)^T Sigma^{-1} (x - mu) for each row of x, with mu, Sigma those of the Gaussian g."""
    r = x - g.mean
    return np.einsum("ij,ij->i", r @ np.linalg.inv(g.cov), r)


# the derivation's two expectations over x ~ q (the trace trick), against their sample means on the same x_q
dm = q.mean - p.mean
trace_trick = {"E_q[(x-mu_q)^T Sigma_q^-1 (x-mu_q)] = D": (quadratic_form(x_q, q), float(cfg.dim)),
               "E_q[(x-mu_p)^T Sigma_p^-1 (x-mu_p)] = tr(Sigma_p^-1 Sigma_q) + dmu^T Sigma_p^-1 dmu":
               (quadratic_form(x_q, p), float(np.trace(np.linalg.solve(p.cov, q.cov)) + dm @ np.linalg.solve(p.cov, dm)))}
trace_trick_z = [(v.mean() - exact) / (v.std(ddof=1) / np.sqrt(len(v))) for v, exact in trace_trick.values()]
lesson.record("trace_trick_max_abs_z", float(np.abs(trace_trick_z).max()), ".2f")

# %% [markdown]
# ## 2.2.2, 3.2.1-3.2.2 — Cross-entropy (eq. 10) and its estimate (eq. 14), over the thesis's grid
#
# **Eq. 10, derived.** Add and subtract $\log q$ inside the expectation:
#
# $$H(q, p) = -\mathbb{E}_q[\log p(x)] = -\mathbb{E}_q[\log q(x)] + \mathbb{E}_q[\log q(x) - \log p(x)] = H(q) + \mathrm{KL}(q\,\|\,p).$$
#
# So the cross-entropy is never below the entropy ($\mathrm{KL} \ge 0$), and for Gaussians the two closed forms
# above add up to
#
# $$H(q, p) = \tfrac{D}{2}\log(2\pi) + \tfrac12\log\det\Sigma_p
# + \tfrac12\big[\operatorname{tr}(\Sigma_p^{-1}\Sigma_q) + \Delta\mu^\top\Sigma_p^{-1}\Delta\mu\big].$$
#
# For every test distribution $q(s, t) = \mathcal{N}(\mu_p + t\mathbf{1}, s^2\Sigma_p)$ (eq. 12, grid eq. 19): the
# analytic $H(q, p)$ against $H^*(q, p) = -\frac{1}{N}\sum_i \log p(x_i)$, $x_i \sim q$ (eq. 14), and
# $\mathrm{KL}(q\,\|\,p)$ against $D^*(q\,\|\,p) = H^*(q, p) - H(q)$ (section 3.2.2). This is exactly the check the
# thesis used to trust the same estimates with $p_\theta$ in place of $p$. The cell also checks eq. 10: $H(q) + \mathrm{KL}(q\,\|\,p)$
# against the library's cross-entropy of two Gaussians.

# %%
grid_rows = []
for s in S_DEFAULT:
    for t in T_DEFAULT:
        qst = dists.q(s, t)
        x = qst.sample(cfg.n_samples, rng)
        # eq. 14: H*(q, p) = -(1/N) sum_i log p(x_i)
        h_star = info.cross_entropy_estimate(p.log_prob(x))
        # eq. 10: H(q, p) = H(q) + KL(q || p)
        h_qp = qst.entropy() + info.kl_gaussian(qst, p)
        grid_rows.append({"s": s, "t": t, "H_q": qst.entropy(), "H_qp": h_qp, "Hs_qp": h_star.value,
                          "Hs_qp_se": h_star.stderr, "KL_qp": info.kl_gaussian(qst, p),
                          "Ds_qp": h_star.value - qst.entropy()})
grid_z = np.array([(r["Hs_qp"] - r["H_qp"]) / r["Hs_qp_se"] for r in grid_rows])
eq10_error = max(abs(r["H_qp"] - info.cross_entropy_gaussian(dists.q(r["s"], r["t"]), p)) for r in grid_rows)
lesson.record("grid", grid_rows)
lesson.record("grid_max_abs_z", float(np.abs(grid_z).max()), ".2f")
# How many estimates (the sigma sweep and the grid) miss their analytic value by more than 2 s.e.: about 1 in
# 20 on average when the estimates are unbiased and the s.e. right, at any N.
all_z = np.concatenate([entropy_z, grid_z])
lesson.record("estimates_outside_2se", f"{int(np.sum(np.abs(all_z) > 2))} of {len(all_z)}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for j, t in enumerate(T_DEFAULT):
    rows = [r for r in grid_rows if r["t"] == t]
    s_vals = [r["s"] for r in rows]
    axes[0].plot(s_vals, [r["H_qp"] for r in rows], "-", color=f"C{j}", label=f"H(q, p), t = {t}")
    axes[0].plot(s_vals, [r["Hs_qp"] for r in rows], "x", color=f"C{j}", ms=8)
    axes[1].plot(s_vals, [r["KL_qp"] for r in rows], "-", color=f"C{j}", label=f"KL(q || p), t = {t}")
    axes[1].plot(s_vals, [r["Ds_qp"] for r in rows], "x", color=f"C{j}", ms=8)
axes[0].plot(S_DEFAULT, [dists.q(s, 0).entropy() for s in S_DEFAULT], "k--", label="H(q)")
axes[0].set(xlabel="scale s", ylabel="nats", title=f"cross-entropy, D = {cfg.dim} (lines: eq. 10, x: eq. 14)")
axes[1].set(xlabel="scale s", ylabel="nats", title="KL: Proposition 1 (lines) vs H*(q,p) - H(q) (x)")
axes[0].legend(fontsize=7)
axes[1].legend(fontsize=7)
lesson.savefig(fig, "cross_entropy_grid",
               f"For q(s, t) on the thesis's grid (D = {cfg.dim}, N = {cfg.n_samples}): left, the analytic "
               "cross-entropy H(q, p) (lines) against its estimate H*(q, p) (crosses) and the entropy H(q) "
               "(dashed); right, KL(q || p) by Proposition 1 against H*(q, p) - H(q). The crosses sit on the lines.")

# %% [markdown]
# ## 4 — Why $\mathbb{E}_p[\log p_\theta] \le \mathbb{E}_p[\log p]$ (eq. 15-18)
#
# For ANY model $m$, eq. 10 with $q = p$ gives
# $\mathbb{E}_p[\log m] = -H(p, m) = -H(p) - \mathrm{KL}(p\,\|\,m) \le -H(p) = \mathbb{E}_p[\log p]$, with
# equality only when $m = p$. Training maximises $\mathbb{E}_p[\log p_\theta]$ (eq. 15), so it pushes the gap
# $\mathrm{KL}(p\,\|\,p_\theta)$ towards zero but can never cross it. We check this for a few wrong Gaussian
# models and for the trained core model (the same one lesson 5 uses).

# %%
exp_cfg = cfg.experiment_config(dims=(cfg.dim,))
flow, _ = _thesis.thesis_model(lesson, cfg.dim, exp_cfg)
models = {"p itself": p.log_prob, "trained flow p_theta": flow.log_prob,
          "N(mu_p, 1.2^2 Sigma_p)": dists.q(1.2, 0).log_prob, "N(mu_p + 0.1, Sigma_p)": dists.q(1, 0.1).log_prob,
          "N(mu_p, I)": Gaussian(p.mean, np.eye(cfg.dim)).log_prob}
log_p = p.log_prob(x_p)
inequality = {}
for name, log_m in models.items():
    lm = log_m(x_p)
    # eq. 16-18: E_p[log p] - E_p[log m] = KL(p || m) >= 0, estimated on the same points (paired)
    diff = log_p - lm
    inequality[name] = {"E_p_log_m": float(lm.mean()), "gap": float(diff.mean()),
                        "gap_se": float(diff.std(ddof=1) / np.sqrt(len(diff)))}
E_p_log_p = float(log_p.mean())
lesson.record("E_p_log_p", E_p_log_p, ".4f")
lesson.record("minus_H_p", -p.entropy(), ".4f")
lesson.record("model_gaps", inequality)
for name, r in inequality.items():
    print(f"  {name:<24} E_p[log m] = {r['E_p_log_m']:9.4f}   gap KL(p||m) = {r['gap']:.4f} +- {r['gap_se']:.4f}")

fig, ax = plt.subplots(figsize=(7.5, 3.8))
names = list(inequality)
ax.barh(names, [inequality[n]["gap"] for n in names], xerr=[2 * inequality[n]["gap_se"] for n in names],
        color=["0.6" if n == "p itself" else "C0" for n in names])
ax.axvline(0, color="k")
for k, n in enumerate(names):
    ax.text(inequality[n]["gap"], k, f"  {inequality[n]['gap']:.3f}", va="center", fontsize=8)
ax.set_xlim(0, 1.2 * max(r["gap"] for r in inequality.values()))
ax.set(ylabel="model m", xlabel="E_p[log p] - E_p[log m] = KL(p || m) (nats, +-2 s.e.)",
       title=f"no model beats the truth on its own data (eq. 18), D = {cfg.dim}")
lesson.savefig(fig, "model_inequality",
               "For several models m, the estimated gap E_p[log p] - E_p[log m] on the same test points, with "
               "two standard errors: it is the KL divergence KL(p || m), never negative, zero only for m = p "
               "(eq. 16-18). The trained flow's gap is the small one.")

# %% [markdown]
# ## What this run showed

# %%
lesson.claim("the fair die has the largest entropy, log 6, and loading lowers it",
             abs(die[0.0] - np.log(6)) < 1e-12 and all(h <= die[0.0] + 1e-12 for h in die.values()))
lesson.claim("differential entropy is negative for sigma < 0.24", entropy_rows[0]["analytic"] < 0)
lesson.claim("the sample entropy estimate matches 1/2 log(2 pi e sigma^2) within 4.5 s.e. for every sigma",
             np.abs(entropy_z).max() < 4.5, f"max |z| = {np.abs(entropy_z).max():.2f}")
lesson.claim("Proposition 1 written out equals the library's Cholesky version",
             abs(kl_qp - info.kl_gaussian(q, p)) < 1e-9 * max(1, kl_qp))
lesson.claim("the Gaussian entropy written out, D/2 log(2 pi e) + 1/2 log det Sigma, equals the library's",
             entropy_formula_error < 1e-9, f"{entropy_formula_error:.1e}")
lesson.claim("the derivation's two expectations (trace trick) match their sample means over x ~ q within 4.5 s.e.",
             np.abs(trace_trick_z).max() < 4.5, f"max |z| = {np.abs(trace_trick_z).max():.2f}")
lesson.claim("the Monte Carlo KL estimate (eq. 9) matches Proposition 1 within 4.5 s.e.",
             abs(kl_mc - kl_qp) < 4.5 * kl_mc_se, f"{kl_mc:.4f} vs {kl_qp:.4f} (s.e. {kl_mc_se:.4f})")
lesson.claim("KL is not symmetric: KL(q||p) != KL(p||q)", abs(kl_qp - kl_pq) > 1e-3, f"{kl_qp:.3f} vs {kl_pq:.3f}")
lesson.claim("eq. 10 holds: H(q, p) = H(q) + KL(q || p)", eq10_error < 1e-9)
lesson.claim("H*(q, p) (eq. 14) matches H(q, p) within 4.5 s.e. on all 24 grid points (finding C2)",
             np.abs(grid_z).max() < 4.5, f"max |z| = {np.abs(grid_z).max():.2f}")
lesson.claim("E_p[log p] estimates -H(p) (within 4.5 s.e.)",
             abs(E_p_log_p + p.entropy()) < 4.5 * log_p.std(ddof=1) / np.sqrt(len(log_p)))
lesson.claim("every model has E_p[log m] <= E_p[log p] (gap > -3 s.e.; eq. 18)",
             all(r["gap"] >= -3 * r["gap_se"] for r in inequality.values()))
lesson.claim("the gap is exactly zero for m = p", inequality["p itself"]["gap"] == 0.0)

# %% [markdown]
# ## Try this
# - `--n-samples 200`: a hundred times fewer points. You should see wider error bars and every claim still
#   holding: the estimates are unbiased at any $N$, and `grid_max_abs_z` stays under the 4.5 bar.
#   `estimates_outside_2se` counts the estimates outside their 2-s.e. band: about 1 in 20 on average.
# - `--dim 100`: you should see $H(p)$ (`minus_H_p`) and $\mathrm{KL}(q(0.75, 0.25)\,\|\,p)$ (`KL_q_p_proposition1`) both
#   about ten times their $D = 10$ values: both grow about linearly with $D$, so their ratio changes by only a few per cent.
# - In Python, a model that wins on *some* points: $m$ = `ThesisDistributions(10).q(0.5, 0)`
#   $= \mathcal{N}(\mu_p, 0.5^2\,\Sigma_p)$ gives the centre $\mu_p$ more density than $p$ does, yet you should find its
#   mean log-density over $x \sim p$ lower than $p$'s (by $\mathrm{KL}(p\,\|\,m) > 0$, eq. 18). It must be: it pays for the centre in the tails.
# - At thesis scale ($N$ = 1,000,000): `.venv/bin/python lessons/04_information.py --thesis` (it trains the core
#   model at the thesis's scale first: hours; not run by the tests). Expect the same claims to hold, with
#   standard errors about $\sqrt{50}$ times smaller than the default run's.

# %%
lesson.finish()
