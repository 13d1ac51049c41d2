# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 11 — The extensions: NICE's additive coupling, ActNorm, the LU linear layer
#
# The thesis studies only the core model (section 2.1.6 points to its appendix D, the
# "introduction to normalizing flows" at the end of the thesis file: 3.1.1 RealNVP,
# 3.1.2 NICE, 3.4 Glow). Here are those pieces, each changing one thing:
#
# * additive coupling (NICE, 3.1.2): $y_b = x_b + t(x_a)$. No scale, so $\log|\det J| = 0$: the map
#   preserves volume, so $\log p_\theta(x) = \log p_Z(f(x))$ and the model's own entropy $H(p_\theta)$ equals the
#   prior's, $\tfrac{D}{2}\log(2\pi e)$ (2.838 nats in 2-D). It can move probability mass around, so its NLL on data
#   can still fall below that number, but it cannot shrink or stretch space to match the data's spread;
# * ActNorm (Glow, 3.4): $y = (x + b)\,e^{\mathrm{log\_scale}}$ per coordinate, initialised from the first
#   batch to zero mean and unit variance; $\log|\det J| = \sum_j \mathrm{log\_scale}_j$;
# * the invertible linear layer (Glow's $1 \times 1$ convolution for vectors): $y = W x$ with
#   $W = P L (U + \mathrm{diag}(\mathrm{sign}\cdot e^{\log s}))$, so $\log|\det W| = \sum_j \log s_j$ — $O(D)$, not $O(D^3)$;
#   it replaces the fixed alternation of halves by a learnt mixing of coordinates.
#
# We fit each variant to the same 2-D data (two moons) with the same budget and compare.
#
# Run: `.venv/bin/python lessons/11_extensions.py` (`--help` lists the options).

# %%
import _lesson  # first: headless plotting, one BLAS thread

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

import minflow
from _data import two_moons


@dataclass(frozen=True)
class Config:
    """Lesson 11: additive vs affine coupling, ActNorm and the LU linear layer in a 2-D fit."""

    seed: int = 0
    n_train: int = 3000
    n_test: int = 20_000
    n_layers: int = 6           # coupling layers (ActNorm / LU are added before each)
    hidden: tuple = (32, 32)
    epochs: int = 30
    batch_size: int = 256
    lr: float = 3e-3
    engine: str = "primitives"  # the fast kernels (five flows to train); "reference": the readable code
    moon_noise: float = 0.08
    data_scale: float = 1.0     # multiplies the data (train and test): 5 makes the moons 5 times larger


lesson = _lesson.Lesson("11_extensions", Config,
                        tiny=dict(n_train=600, n_test=2000, n_layers=2, hidden=(8, 8), epochs=2),
                        thesis=dict(n_train=20_000, n_test=200_000, n_layers=8, hidden=(64, 64), epochs=150))
cfg = lesson.config
rng = np.random.default_rng(cfg.seed)

# Each variant: the keyword arguments of minflow.RealNVP that switch the extension on.
VARIANTS = {
    "affine": dict(coupling="affine"),                                    # the thesis's core model
    "additive": dict(coupling="additive"),                                # NICE, volume preserving
    "additive+actnorm": dict(coupling="additive", actnorm=True),          # NICE with a scaling layer
    "affine+actnorm": dict(coupling="affine", actnorm=True),
    "glow (actnorm+LU+affine)": dict(coupling="affine", actnorm=True, lu=True),
}


# two moons, the same sampler as lesson 10 (lessons/_data.py)
x_train = cfg.data_scale * two_moons(cfg.n_train, rng, cfg.moon_noise)
x_test = cfg.data_scale * two_moons(cfg.n_test, rng, cfg.moon_noise)

# %% [markdown]
# ## The pieces, checked one by one before training
#
# **Additive coupling**: $\log|\det J|$ is exactly zero for every input.
# **ActNorm**: after the data-dependent initialisation its output has mean 0 and variance 1.
# **LU linear**: the $O(D)$ log-determinant $\sum_j \log s_j$ equals `slogdet` of the assembled $W$.

# %%
probe = rng.standard_normal((256, 2)) * 3.0
additive = minflow.AdditiveCoupling(2, (8, 8))
add_params = [(0.5 * rng.standard_normal(W.shape), 0.5 * rng.standard_normal(b.shape)) for W, b in additive.init(rng)]
# NICE: y_b = x_b + t(x_a), so J has ones on its diagonal and log|det J| = 0
additive_logdet = float(np.abs(additive.forward(add_params, probe)[1]).max())

actnorm = minflow.ActNorm(2)
an_params = actnorm.data_init(x_train)
# ActNorm: y = (x + b) exp(log_scale), with b = -mean and log_scale = -log std from the data
an_out = actnorm.forward(an_params, x_train)[0]
actnorm_error = float(max(np.abs(an_out.mean(axis=0)).max(), np.abs(an_out.std(axis=0) - 1).max()))

lu = minflow.LULinear(2, perm=np.array([1, 0]))
lu_params = tuple(0.5 * rng.standard_normal(np.shape(a)) for a in lu.init(rng))
# log|det W| = sum_j log_s_j, because det P = +-1, det L = 1, det U' = prod_j sign_j exp(log_s_j)
lu_logdet_error = abs(np.linalg.slogdet(lu.weight(lu_params))[1] - float(np.sum(lu_params[2])))
lu_round_trip = float(np.abs(lu.inverse(lu_params, lu.forward(lu_params, probe)[0])[0] - probe).max())
lesson.record("additive_max_abs_logdet", additive_logdet)
lesson.record("actnorm_init_max_error", actnorm_error, ".1e")
lesson.record("lu_logdet_vs_slogdet", lu_logdet_error, ".1e")
lesson.record("lu_round_trip_error", lu_round_trip, ".1e")

# %% [markdown]
# ## The same 2-D fit with each variant (maximum likelihood, eq. 15)

# %%
flows, table = {}, {}
for name, options in VARIANTS.items():
    flow = minflow.RealNVP(2, cfg.n_layers, cfg.hidden, rng=np.random.default_rng(cfg.seed), engine=cfg.engine,
                           **options)
    history = minflow.fit(flow, x_train, rng=np.random.default_rng(cfg.seed + 1), epochs=cfg.epochs,
                          batch_size=cfg.batch_size, lr=cfg.lr, validation=0.1)
    z, log_det = flow.forward(x_test)
    lp = flow.log_prob(x_test)
    # eq. 2 split in its two terms: log p_theta(x) = log p_Z(f(x)) + log|det J_f(x)|
    table[name] = {"test_nll": float(-lp.mean()), "mean_log_det": float(log_det.mean()),
                   "max_abs_log_det": float(np.abs(log_det).max()),
                   "mean_log_pz": float((lp - log_det).mean()), "n_params": flow.n_params,
                   "n_layers_total": len(flow.layers), "train_seconds": history.seconds,
                   "val_nll": history.val_nll}
    flows[name] = flow
    print(f"  {name:<26} test NLL {table[name]['test_nll']:.4f} nats   mean log|det J| "
          f"{table[name]['mean_log_det']:+.4f}   {flow.n_params} parameters   {history.seconds:.1f} s")
lesson.record("variants", {k: {kk: vv for kk, vv in v.items() if kk != "val_nll"} for k, v in table.items()})
# volume preserving: H(p_theta) = H(p_Z) = D/2 log(2 pi e); the NLL on data is a cross-entropy, not that entropy
prior_entropy = np.log(2 * np.pi * np.e)
print(f"  additive (volume preserving): test NLL {table['additive']['test_nll']:.3f} nats is "
      f"{'below' if table['additive']['test_nll'] < prior_entropy else 'above'} the prior's entropy "
      f"log(2 pi e) = {prior_entropy:.3f} nats, which is the model's own entropy H(p_theta)")

# %%
lo, hi = x_train.min(axis=0) - 0.5, x_train.max(axis=0) + 0.5
gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 150), np.linspace(lo[1], hi[1], 150))
grid_pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
n = len(VARIANTS)
fig, axes = plt.subplots(2, n, figsize=(3.3 * n, 6.4), layout="constrained")
for k, (name, flow) in enumerate(flows.items()):
    lp = flow.log_prob(grid_pts).reshape(gx.shape)
    im = axes[0, k].pcolormesh(gx, gy, np.maximum(lp, -6), cmap="magma", vmin=-6, vmax=1.5, shading="auto")
    axes[0, k].set_title(f"{name}\ntest NLL {table[name]['test_nll']:.3f} nats", fontsize=9)
    s = flow.sample(1500, np.random.default_rng(cfg.seed + 2))
    axes[1, k].scatter(x_train[:1500, 0], x_train[:1500, 1], s=1, color="0.75", label="data")
    axes[1, k].scatter(s[:, 0], s[:, 1], s=1, color="C0", label="samples")
    for ax in axes[:, k]:
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xlabel="x1 (data units)", ylabel="x2 (data units)")
fig.legend(*axes[1, 0].get_legend_handles_labels(), loc="outside lower center", fontsize=8, markerscale=5, ncol=2)
fig.colorbar(im, ax=axes[0, :], label="log p_theta(x) (nats, clipped at -6)", shrink=0.9)
lesson.savefig(fig, "variants_fit",
               "The same two-moons data fitted by five variants with the same budget: top, the model's "
               "log-density log p_theta(x) in nats; bottom, samples from the model (blue) over the data (grey).")

fig, axes = plt.subplots(1, 2, figsize=(12, 5.4), layout="constrained")
for name in VARIANTS:
    axes[0].plot(np.arange(1, len(table[name]["val_nll"]) + 1), table[name]["val_nll"], label=name)
axes[0].set(xlabel="epoch", ylabel="validation NLL (nats)", title="learning curves")
axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.15), ncol=2)
names = list(VARIANTS)
pos = np.arange(len(names))
terms = [("mean log p_Z(f(x))", "mean_log_pz"), ("mean log|det J_f(x)|", "mean_log_det")]
for j, (label, key) in enumerate(terms):
    axes[1].bar(pos + (j - 1) * 0.27, [table[k][key] for k in names], width=0.27, label=label)
axes[1].bar(pos + 0.27, [-table[k]["test_nll"] for k in names], width=0.27, color="k",
            label="sum: mean log p_theta(x)")
axes[1].axhline(0, color="k", lw=0.5)
axes[1].set_xticks(pos, [k.replace(" (", "\n(") for k in names], fontsize=7, rotation=25, ha="right")
axes[1].set(xlabel="variant", ylabel="mean over the test set (nats)", title="eq. 2 in two terms")
axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
lesson.savefig(fig, "variants_terms",
               "Left: validation NLL per epoch for each variant. Right: the mean test log-likelihood (black dot) "
               "split into its two terms of eq. 2, the prior term log p_Z(f(x)) and the volume term "
               "log|det J_f(x)|; the additive (NICE) variant has no volume term at all.")

# %% [markdown]
# ## Why the extensions can fit worse at a small budget
# Each extension adds almost no parameters but adds layers for the same number of gradient steps to fit, and
# what it adds is a freedom the affine flow already has in 2-D: ActNorm's per-coordinate scale is what the
# couplings' $s$ already provide, and the LU layer's learnt mixing of two coordinates is what the alternating
# masks already do in part. The one place an extension brings something missing is the additive flow, which
# cannot change volume at all ($\log|\det J| = 0$) until ActNorm gives it a scale. A cheap check of the budget
# reading: the plain affine flow and affine+ActNorm trained again for twice the epochs (the same data and seeds).

# %%
base = table["affine"]
steps = cfg.epochs * (int(round(cfg.n_train * 0.9)) // cfg.batch_size)  # fit() holds out 10% for validation
longer = {}
for name in ("affine", "affine+actnorm"):
    flow = minflow.RealNVP(2, cfg.n_layers, cfg.hidden, rng=np.random.default_rng(cfg.seed), engine=cfg.engine,
                           **VARIANTS[name])
    minflow.fit(flow, x_train, rng=np.random.default_rng(cfg.seed + 1), epochs=2 * cfg.epochs,
                batch_size=cfg.batch_size, lr=cfg.lr, validation=0.1)
    longer[name] = float(-flow.log_prob(x_test).mean())
lesson.record(f"test_nll_at_{2 * cfg.epochs}_epochs", longer)
gap_now = table["affine+actnorm"]["test_nll"] - base["test_nll"]
gap_long = longer["affine+actnorm"] - longer["affine"]
ext = ("affine+actnorm", "glow (actnorm+LU+affine)")  # the affine flow plus one or two extensions
best_affine = min(("affine", *ext), key=lambda k: table[k]["test_nll"])
why = (
    f"At this budget ({cfg.epochs} epochs, {steps} gradient steps) "
    + (f"the plain affine flow fits best of the affine flows: test NLL {base['test_nll']:.3f} nats, against "
       if best_affine == "affine" else
       f"{best_affine} fits best of the affine flows, not the plain one: the plain affine flow's test NLL is "
       f"{base['test_nll']:.3f} nats, against ")
    + " and ".join(f"{table[k]['test_nll']:.3f} for {k}" for k in ext)
    + f" (and {table['additive+actnorm']['test_nll']:.3f} for additive+actnorm). The extensions add few parameters ("
    + ", ".join(f"{k}: {table[k]['n_params'] - base['n_params']:+d}" for k in ext)
    + f", on {base['n_params']}) but add layers to train: "
    + ", ".join(f"{table[k]['n_layers_total']} for {k}" for k in ("affine", *ext))
    + f". Trained for {2 * cfg.epochs} epochs instead, affine reaches {longer['affine']:.3f} nats and "
    f"affine+actnorm {longer['affine+actnorm']:.3f}: affine+actnorm's excess over affine goes from {gap_now:+.3f} to "
    f"{gap_long:+.3f} nats, "
    + ("so ActNorm's deficit is one of budget, not of what the model can express. "
       if gap_now > 0 and abs(gap_long) < abs(gap_now) else
       "so more steps do not close ActNorm's deficit here: budget alone does not explain it. " if gap_now > 0 else
       "so here ActNorm helps the affine flow rather than hurting it. ")
    + ("The LU layer's further deficit (glow against affine+actnorm) is not checked this way here; Try this compares "
       "it with a fixed permutation. " if table[ext[1]]["test_nll"] > table[ext[0]]["test_nll"] else "")
    + "ActNorm's real use is the additive flow's, which has no scale of its own: "
    + f"{table['additive']['test_nll']:.3f} nats without it, {table['additive+actnorm']['test_nll']:.3f} with it.")
_lesson.say(why, indent="")

# %% [markdown]
# ## What this run showed

# %%
lesson.claim("additive coupling preserves volume: log|det J| = 0 exactly", additive_logdet == 0.0)
lesson.claim("the flow with only additive couplings has log|det J_f| = 0 on every test point",
             table["additive"]["max_abs_log_det"] == 0.0)
lesson.claim("ActNorm's data-dependent init gives zero mean and unit variance", actnorm_error < 1e-10,
             f"{actnorm_error:.1e}")
lesson.claim("LU linear: sum(log_s) equals slogdet(W) (an O(D) determinant)", lu_logdet_error < 1e-12)
lesson.claim("LU linear is exactly invertible", lu_round_trip < 1e-12)
lesson.claim("a scaling layer rescues additive coupling: additive+actnorm beats additive by > 0.1 nats",
             table["additive"]["test_nll"] - table["additive+actnorm"]["test_nll"] > 0.1,
             f"{table['additive']['test_nll']:.3f} vs {table['additive+actnorm']['test_nll']:.3f}",
             needs_training=True)
lesson.claim(f"affine+actnorm's deficit to affine shrinks with twice the epochs ({gap_now:+.3f} -> {gap_long:+.3f} nats)",
             0 < gap_now and abs(gap_long) < gap_now, needs_training=True)
lesson.claim("the affine core model beats the volume-preserving one",
             table["affine"]["test_nll"] < table["additive"]["test_nll"], needs_training=True)

# %% [markdown]
# ## Try this
# - `--n-layers 2`: which extension helps most when the model is shallow? You should see ActNorm help the
#   additive flow (additive+actnorm's test NLL below additive's by more than 0.2 nats) by more than any
#   extension helps the affine flow: with affine couplings, even two layers can already scale.
# - `--data-scale 5` (the moons five times larger): you should see the additive-only flow fall several nats behind
#   the affine one (under one nat behind at the default scale): it cannot change volume, and the data's entropy
#   grew by $2\log 5 = 3.2$ nats. ActNorm fixes most of it in one layer: you should see additive+actnorm within
#   half a nat of affine.
# - In Python, another variant: `minflow.RealNVP(2, 6, (32, 32), permutation="random")`, trained like the others
#   (`minflow.fit(flow, x_train, rng=np.random.default_rng(1), epochs=30, batch_size=256, lr=3e-3, validation=0.1)`).
#   A fixed mixing of coordinates against the learnt one of the LU layer: you should find it fits at least about
#   as well as the glow variant (test NLL at most 0.05 nats above it). In 2-D a permutation can only swap the two
#   coordinates or not, which alternating masks already do; the LU layer's freedom buys little here.
# - At thesis-like scale: `.venv/bin/python lessons/11_extensions.py --thesis` (longer training; not run by the
#   tests). Expect every claim to hold, and ActNorm still to rescue the additive flow.

# %%
lesson.finish()
