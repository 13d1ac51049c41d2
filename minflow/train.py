"""Maximum-likelihood training (thesis section 2.1.5, eq. 15): minimise the mean NLL with Adam.

    L(theta) = -(1/N) sum_i log p_theta(x_i)  ~  H(p, p_theta) = H(p) + KL(p || p_theta)

so the loss can never go below the entropy H(p) of the data (eq. 16-17).

``fit`` takes either a fixed array of data or a *sampler* (a callable ``sampler(n, rng)``
or an object with ``.sample(n, rng)``) that draws fresh data every epoch, which is how
the thesis's Gaussians should be learnt: a small fixed training set is overfitted.
"""
import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from autograd import value_and_grad

from .backend import to_backend
from .engines.manual import manual_engine
from .engines.primitives import primitive_engine
from .flow import mean_nll
from .tree import tree_leaves, tree_map
from .validation import check_batch, check_int, check_positive, check_rng

SCHEDULES = ("constant", "cosine")


@dataclass
class History:
    """What happened during ``fit``: per-epoch mean NLL (nats) and the run's settings."""

    train_nll: list = field(default_factory=list)
    val_nll: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    best_epoch: int = -1
    best_val_nll: float = math.inf
    stopped_early: bool = False
    diverged: bool = False
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    def as_dict(self):
        return asdict(self)


def autograd_engine(layers):
    """(params, x) -> (mean NLL, gradient) by ``autograd.value_and_grad`` of the pure loss."""
    vg = value_and_grad(mean_nll)
    return lambda params, x: vg(params, layers, x)


# "autograd": autograd over one primitive per coupling with a hand-written VJP (engines/primitives.py);
# "manual": the backward pass written out (engines/manual.py; other layers fall back to "autograd");
# "autograd-naive": autograd traces every NumPy call of the reference code (the baseline).
ENGINES = {"autograd": primitive_engine, "manual": manual_engine, "autograd-naive": autograd_engine}


def learning_rate(step, total, lr, schedule="cosine", warmup=0, final_ratio=0.01):
    """Learning rate at ``step`` of ``total``: linear warm-up, then constant or cosine decay."""
    if warmup and step < warmup:
        return lr * (step + 1) / warmup
    if schedule == "constant":
        return lr
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return lr * (final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


def adam_step(params, grads, state, lr, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam update (Kingma & Ba 2015) on a parameter tree; returns (params, state).

    m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,  p <- p - lr_t m / (sqrt(v) + eps),
    lr_t = lr sqrt(1 - b2^t) / (1 - b1^t). New arrays are returned (the inputs are never
    modified: ``fit`` keeps the best parameters by reference); each leaf is updated in place
    *within* its new arrays, four allocations instead of twelve.
    """
    m, v, t = state
    t += 1
    step = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
    new = tree_map(lambda p, g, m_, v_: _AdamLeaf(p, g, m_, v_, b1, b2, step, eps), params, grads, m, v)
    return (tree_map(lambda n: n.p, new), (tree_map(lambda n: n.m, new), tree_map(lambda n: n.v, new), t))


class _AdamLeaf:
    """The Adam update of one array (a class, not a tuple, so tree_map treats it as a leaf)."""

    def __init__(self, p, g, m, v, b1, b2, step, eps):
        self.m = g - m
        self.m *= 1 - b1
        self.m += m                        # b1 m + (1 - b1) g
        self.v = g * g
        self.v -= v
        self.v *= 1 - b2
        self.v += v                        # b2 v + (1 - b2) g^2
        d = np.sqrt(self.v)
        d += eps
        np.divide(self.m, d, out=d)
        d *= step
        self.p = p - d


def _as_sampler(data):
    if callable(data):
        return data
    if hasattr(data, "sample") and callable(data.sample):
        return data.sample
    return None


def _mean_nll(flow, x):
    return -float(np.sum(flow.log_prob(x))) / len(x)


def _batches(flow, data, sampler, n_train, batch_size, rng):
    """The minibatches of one epoch: a fresh draw from the sampler, or a reshuffle of the data."""
    x = check_batch(sampler(n_train, rng), flow.dim, "sampler output", flow.dtype) if sampler else data
    order = rng.permutation(len(x))
    for i in range(0, len(x) - batch_size + 1, batch_size):
        yield x[order[i:i + batch_size]]


def fit(flow, data, *, rng, epochs=100, batch_size=256, lr=1e-3, schedule="cosine", warmup=0,
        validation=0.1, epoch_size=None, patience=None, clip_norm=None, engine="autograd",
        progress=False, callback=None):
    """Train ``flow`` in place by maximum likelihood; returns a ``History``.

    data: an (N, D) array, or a sampler (``sampler(n, rng)`` or ``.sample(n, rng)``)
        that is asked for ``epoch_size`` fresh points every epoch.
    validation: with an array, the fraction held out (0 <= v < 1); with a sampler,
        the size of a validation set drawn once; or an explicit (M, D) array.
    patience: stop after this many epochs without a better validation NLL
        (None: run all epochs). The best parameters are restored at the end.
    engine: "autograd" (default: autograd with one hand-differentiated primitive per coupling),
        "manual" (the hand-derived backward pass, no autograd; AffineCoupling-only flows, others
        fall back to "autograd") or "autograd-naive" (autograd through the reference code).
    """
    rng = check_rng(rng)
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule: expected one of {SCHEDULES}, got {schedule!r}")
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {sorted(ENGINES)}, got {engine!r}")
    if getattr(flow, "backend", "numpy") == "cupy" and engine != "manual":
        raise ValueError(f"engine: a flow on the GPU (CuPy) trains with engine='manual' (autograd is "
                         f"NumPy-only), got {engine!r}")
    if patience is not None:
        patience = check_int(patience, "patience", minimum=1)
    sampler = _as_sampler(data)
    train, val, n_train = _split_data(flow, data, sampler, validation, epoch_size, batch_size, rng)
    if flow.needs_data_init:
        flow.data_init(train[:4096] if train is not None else sampler(min(4096, n_train), rng))

    value_grad = ENGINES[engine](flow.layers)
    steps_per_epoch = n_train // batch_size
    total = epochs * steps_per_epoch
    settings = dict(epochs=epochs, batch_size=batch_size, lr=lr, schedule=schedule, warmup=warmup,
                    n_train=n_train, n_val=len(val), patience=patience, clip_norm=clip_norm,
                    engine=engine, fresh_data=sampler is not None, dtype=np.dtype(flow.dtype).name)
    hist = History(settings=settings)
    state = (tree_map(np.zeros_like, flow.params), tree_map(np.zeros_like, flow.params), 0)
    best_params, step, start = flow.params, 0, time.perf_counter()
    for epoch in range(epochs):
        losses = []
        for xb in _batches(flow, train, sampler, n_train, batch_size, rng):
            if getattr(flow, "backend", "numpy") != "numpy":  # a GPU flow: move each batch there
                xb = to_backend(xb, flow.backend)
            loss, grads = value_grad(flow.params, xb)
            if not np.isfinite(loss):
                hist.diverged = True
                break
            grads = _clip(grads, clip_norm)
            rate = learning_rate(step, total, lr, schedule, warmup)
            flow.params, state = adam_step(flow.params, grads, state, rate)
            losses.append(float(loss))
            step += 1
        val_nll = _mean_nll(flow, val)
        if hist.diverged or not np.isfinite(val_nll):
            hist.diverged = True
            warnings.warn(f"fit: the loss became non-finite in epoch {epoch}; restored the best parameters "
                          "(try a smaller lr or clip_norm)", RuntimeWarning, stacklevel=2)
            break
        hist.train_nll.append(float(np.mean(losses)))
        hist.val_nll.append(val_nll)
        hist.lr.append(learning_rate(max(step - 1, 0), total, lr, schedule, warmup))
        if val_nll < hist.best_val_nll:
            hist.best_val_nll, hist.best_epoch, best_params = val_nll, epoch, flow.params
        if callback is not None:
            callback(epoch, hist, flow)
        if progress:
            _report(epoch, epochs, hist, start)
        if patience is not None and epoch - hist.best_epoch >= patience:
            hist.stopped_early = True
            break
    flow.params = best_params
    hist.seconds = time.perf_counter() - start
    flow.history = hist
    return hist


def _split_data(flow, data, sampler, validation, epoch_size, batch_size, rng):
    """Returns (train array or None, validation array, points per epoch)."""
    if sampler is not None:
        n_train = check_int(epoch_size if epoch_size is not None else 64 * batch_size, "epoch_size",
                            minimum=batch_size)
        if isinstance(validation, (int, np.integer)) and not isinstance(validation, bool):
            n_val = check_int(validation, "validation", minimum=1)
            val = check_batch(sampler(n_val, rng), flow.dim, "sampler output", flow.dtype)
        elif isinstance(validation, float):
            n_val = max(1, int(round(validation * n_train)))
            val = check_batch(sampler(n_val, rng), flow.dim, "sampler output", flow.dtype)
        else:
            val = check_batch(validation, flow.dim, "validation", flow.dtype)
        return None, val, n_train
    x = check_batch(data, flow.dim, "data", flow.dtype)
    if isinstance(validation, float) or isinstance(validation, int) and not isinstance(validation, bool):
        if not 0 <= validation < 1:
            raise ValueError(f"validation: with an array of data, expected a fraction in [0, 1), got {validation}")
        order = rng.permutation(len(x))
        n_val = int(round(validation * len(x)))
        val, train = x[order[:n_val]], x[order[n_val:]]
        if n_val == 0:
            val = train
    else:
        train, val = x, check_batch(validation, flow.dim, "validation", flow.dtype)
    if len(train) < batch_size:
        raise ValueError(f"batch_size: {batch_size} is larger than the {len(train)} training points")
    return train, val, len(train)


def _clip(grads, clip_norm):
    if clip_norm is None:
        return grads
    norm = math.sqrt(sum(float(np.sum(g * g)) for g in tree_leaves(grads)))
    scale = min(1.0, clip_norm / (norm + 1e-12))
    return grads if scale == 1.0 else tree_map(lambda g: g * scale, grads)


def _report(epoch, epochs, hist, start):
    elapsed = time.perf_counter() - start
    eta = elapsed / (epoch + 1) * (epochs - epoch - 1)
    print(f"epoch {epoch + 1:4d}/{epochs}  train NLL {hist.train_nll[-1]:.4f}  val NLL {hist.val_nll[-1]:.4f}"
          f"  lr {hist.lr[-1]:.2e}  {elapsed:5.1f}s elapsed, ~{eta:5.1f}s left", file=sys.stderr, flush=True)
