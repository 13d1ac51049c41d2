"""The grader's own formulas, for expected values and likely mistakes; used only in the grader's
process, never in the child that runs a student's code. Written with ``autograd.numpy`` so that
Jacobians can be taken. ``LOG_2PI`` and the activation table come from the teacher's library.
"""
import autograd.numpy as anp
import numpy as np

from ...bijectors.coupling import S_MAX  # the library's bound on s (the checks read it as ref.S_MAX)
from ...conditioner import ACTIVATIONS
from ...prior import LOG_2PI


def mlp(params, x, activation="relu"):
    act = ACTIVATIONS[activation].value
    h = x
    for k, (W, b) in enumerate(params):
        h = anp.dot(h, W) + b
        if k + 1 < len(params):
            h = act(anp, h)
    return h


def affine_forward(x_b, s, t):
    return anp.exp(s) * x_b + t


def affine_inverse(y_b, s, t):
    return anp.exp(-s) * (y_b - t)


def normal_log_prob(z, scale=1.0):
    d = z.shape[1]
    return -0.5 * anp.sum(z**2, axis=1) / scale**2 - 0.5 * d * LOG_2PI - d * np.log(scale)


def standin_conditioner(W, b, x_a):
    """The child's stand-in conditioner (harness/tasks.py), recomputed here."""
    return anp.sin(anp.dot(x_a, W) + b)


def columns(dim, mask):
    """The library's Split (flip=False): x_a's and x_b's columns for mask 'half' or 'alternate'."""
    cols = np.arange(dim)
    return (cols[:dim // 2], cols[dim // 2:]) if mask == "half" else (cols[0::2], cols[1::2])


def coupling_parts(x, W, b, mask):
    """-> (idx_a, idx_b, s bounded, t) of an AffineCoupling(hidden=()) with the stand-in conditioner."""
    idx_a, idx_b = columns(x.shape[1], mask)
    out = standin_conditioner(W, b, x[:, idx_a])
    d_b = len(idx_b)
    return idx_a, idx_b, S_MAX * anp.tanh(out[:, :d_b] / S_MAX), out[:, d_b:]


def assemble(x, idx_b, new_b):
    """x with its columns idx_b replaced by new_b (autograd-safe)."""
    order = np.argsort(np.concatenate([np.setdiff1d(np.arange(x.shape[1]), idx_b), idx_b]))
    kept = x[:, np.setdiff1d(np.arange(x.shape[1]), idx_b)]
    return anp.concatenate([kept, new_b], axis=1)[:, order]


def random_params(sizes, rng, scale=0.5):
    """MLP params [(W, b), ...] for widths ``sizes``, entries scale * N(0, 1)."""
    return [(scale * rng.standard_normal((m, n)), scale * rng.standard_normal(n)) for m, n in zip(sizes[:-1], sizes[1:])]


def params_inputs(params):
    """-> (inputs {W0: .., b0: ..}, the call's argument spec {"pairs": [["W0", "b0"], ...]})."""
    inputs = {}
    for k, (W, b) in enumerate(params):
        inputs[f"W{k}"], inputs[f"b{k}"] = W, b
    return inputs, {"pairs": [[f"W{k}", f"b{k}"] for k in range(len(params))]}


def slogdet_rows(fn, x):
    """log|det d fn(i)(x_i) / d x_i| for every row, by autograd's Jacobian: (N, d) -> (N,)."""
    import autograd
    return np.array([np.linalg.slogdet(autograd.jacobian(fn(i))(x[i]))[1] for i in range(len(x))])


def random_cov(rng, d, scale=1.0):
    a = rng.standard_normal((d, d))
    return scale * (a @ a.T / d + 0.5 * np.eye(d))


def kl(mq, cq, mp, cp):
    """KL(q || p) by Proposition 1, with explicit inverses and slogdet."""
    inv_p, diff = np.linalg.inv(cp), np.asarray(mq) - np.asarray(mp)
    return 0.5 * (np.linalg.slogdet(cp)[1] - np.linalg.slogdet(cq)[1] - len(mq)
                  + diff @ inv_p @ diff + np.trace(inv_p @ cq))


def quantile_bracket(scores, prob):
    """The interval any standard quantile rule can give at ``prob``: one order-statistic gap each side."""
    x, n = np.sort(scores), len(scores)
    h = prob * (n - 1)
    lo, hi = max(int(np.floor(h)) - 1, 0), min(int(np.ceil(h)) + 1, n - 1)
    return float(x[lo]), float(x[hi])
