"""Maximum-likelihood training (thesis section 4, eq. 15-17): minimise the mean NLL with Adam.

    L(theta) = -(1/N) sum_i log p_theta(x_i),    E_p[L] = H(p, p_theta) = H(p) + KL(p || p_theta)

so the *expected* loss never goes below the entropy H(p) of the data (eq. 16-17); the loss on
one finite sample can, by chance or because the model has memorised it.

``fit`` takes either a fixed array of data or a *sampler* (a callable ``sampler(n, rng)`` or an
object with ``.sample(n, rng)``) that draws fresh data every epoch, which is how the thesis's
Gaussians are best learnt: a small fixed training set is overfitted.
"""
import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from autograd import value_and_grad

from . import engine as engines
from .backend import to_backend
from .fit_options import check_options
from .flow import DEFAULT_CHUNK, flow_log_prob, in_chunks, mean_nll
from .tree import tree_leaves, tree_map
from .validation import check_batch

# Validation NLL more than this many nats above the best so far (and above the initial model's)
# means training has blown up, even while the bounded log-scale keeps the loss finite.
DIVERGENCE_NATS = 50.0
# validation=0 with an array: training rows watched each epoch (best epoch, divergence), at most this many
MONITOR_ROWS = 1024


@dataclass
class History:
    """What happened during ``fit``: per-epoch mean NLL (nats) and the run's settings.

    ``initial_val_nll`` is the untrained model's; ``best_epoch`` is -1 when no epoch improved on
    it, and the initial parameters were kept. ``stop_reason`` says why the loop ended: "epochs",
    "patience", "diverged" (a non-finite loss, or a validation NLL far above the best) or
    "interrupted" (Ctrl-C: the best parameters so far are kept, and KeyboardInterrupt raised).
    """

    initial_val_nll: float = math.nan
    train_nll: list = field(default_factory=list)
    val_nll: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    best_epoch: int = -1
    best_val_nll: float = math.inf
    stopped_early: bool = False
    diverged: bool = False
    stop_reason: str = "epochs"
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    def as_dict(self):
        return asdict(self)


def fit(flow, data, *, rng, epochs=100, batch_size=256, lr=1e-3, schedule="cosine", warmup=0,
        validation=0.1, epoch_size=None, patience=None, clip_norm=None, engine=None,
        progress=False, callback=None):
    """Train ``flow`` in place by maximum likelihood; returns a ``History`` (also ``flow.history``).

    data: an (N, D) array, or a sampler (``sampler(n, rng)`` or ``.sample(n, rng)``) asked for
        ``epoch_size`` fresh points every epoch.
    validation: with an array, the fraction held out (0 <= v < 1; one that rounds to 0 rows is an
        error; 0: none, and the best epoch is judged on at most MONITOR_ROWS training rows); with a
        sampler, the size of a validation set drawn once (an int) or a fraction of ``epoch_size``;
        or an (M, D) array.
    patience: stop after this many epochs without a better validation NLL (None: all epochs).
    engine: which code computes the gradient (default ``flow.engine``; see engine.py).
    The parameters with the best validation NLL seen, the initial ones included, are kept.
    """
    opt = check_options(flow, data, rng, locals())
    train, val, n_train = _split_data(flow, data, opt)
    if flow.needs_data_init:
        flow.data_init(_first_rows(train, 4096) if train is not None else opt.sampler(min(4096, n_train), rng))
    engine = engines.get(opt.engine)
    value_grad = engine.value_and_grad(flow.layers)
    hist = History(settings=opt.settings(flow, n_train, len(val)))
    total_steps = opt.epochs * (n_train // opt.batch_size)
    rate_at = lambda step: learning_rate(step, total_steps, opt.lr, opt.schedule, opt.warmup)  # noqa: E731
    hist.initial_val_nll = hist.best_val_nll = _eval_nll(flow, val)
    if not np.isfinite(hist.initial_val_nll):
        raise ValueError(f"data: the untrained model's NLL on the validation data is not finite (|x| up to "
                         f"{float(np.max(np.abs(val))):.3g}): too far out for {np.dtype(flow.dtype).name}")
    best, state = [flow.params], adam_init(flow.params)
    start = time.perf_counter()
    try:
        for epoch in range(opt.epochs):
            losses = []
            for xb in _batches(flow, train, opt, n_train, rng):
                with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported once, by _record
                    loss, grads = value_grad(flow.params, xb)
                    losses.append(float(loss))
                    if not np.isfinite(loss):
                        break
                    rate = rate_at(state[2])
                    flow.params, state = engine.adam_step(flow.params, _clip(grads, opt.clip_norm), state, rate)
            if not _end_epoch(flow, hist, opt, epoch, losses, val, rate_at(max(state[2] - 1, 0)), best, start):
                break
    except KeyboardInterrupt:  # Ctrl-C: the flow keeps the best parameters so far, as after the last epoch
        hist.stopped_early, hist.stop_reason = True, "interrupted"
        raise
    finally:
        flow.params, hist.seconds, flow.history = best[0], time.perf_counter() - start, hist
    return hist


def _end_epoch(flow, hist, opt, epoch, losses, val, rate, best, start):
    """Record the epoch, keep its parameters in ``best[0]`` if they are the best; False: stop training."""
    if not _record(hist, epoch, losses, _eval_nll(flow, val), rate):
        return False
    if hist.best_epoch == epoch:
        best[0] = flow.params
    if opt.callback is not None:
        opt.callback(epoch, hist, flow)
    if opt.progress:
        _report(epoch, opt.epochs, hist, start)
    if opt.patience is not None and epoch - hist.best_epoch >= opt.patience:
        hist.stopped_early, hist.stop_reason = True, "patience"
        return False
    return True


def adam_init(params):
    """Adam's state: first and second moments (zeros shaped like params) and the step count."""
    return tree_map(lambda p: p * 0, params), tree_map(lambda p: p * 0, params), 0


def adam_step(params, grads, state, lr, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam update (Kingma & Ba 2015, Algorithm 1) on a parameter tree; returns (params, state).

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
        p <- p - lr_t m / (sqrt(v) + eps),   lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)
    """
    m, v, t = state
    t += 1
    m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
    params = tree_map(lambda p, m, v: p - lr_t * m / (v**0.5 + eps), params, m, v)
    return params, (m, v, t)


def reference_value_and_grad(layers):
    """The gradient of the "reference" engine: autograd through every line of ``flow.mean_nll``."""
    vg = value_and_grad(mean_nll)
    return lambda params, x: vg(params, layers, x)


def reference_log_prob(layers, params, x, chunk_size=None):
    """``Flow.log_prob`` of the "reference" engine: ``flow.flow_log_prob`` (eq. 2), chunk by chunk."""
    return in_chunks(lambda c: flow_log_prob(layers, params, c), x, chunk_size or DEFAULT_CHUNK)


# the model's own engine, as you read it; the package face installs it beside the speed room's (engine.py)
REFERENCE = engines.Engine(log_prob=reference_log_prob, value_and_grad=reference_value_and_grad, adam_step=adam_step)


def learning_rate(step, total, lr, schedule="cosine", warmup=0, final_ratio=0.01):
    """Learning rate at ``step`` of ``total``: linear warm-up, then constant or cosine decay."""
    if warmup and step < warmup:
        return lr * (step + 1) / warmup
    if schedule == "constant":
        return lr
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return lr * (final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


def _record(hist, epoch, losses, val_nll, rate):
    """Append one epoch to ``hist``; False (with a warning) when training has diverged."""
    finite = bool(losses) and np.all(np.isfinite(losses)) and np.isfinite(val_nll)
    blown_up = finite and val_nll > max(hist.best_val_nll, hist.initial_val_nll) + DIVERGENCE_NATS
    if not finite or blown_up:
        hist.diverged, hist.stopped_early, hist.stop_reason = True, True, "diverged"
        what = "became non-finite" if not finite else f"rose to {val_nll:.4g} nats"
        warnings.warn(f"fit: the validation NLL {what} in epoch {epoch} (best {hist.best_val_nll:.4g}); "
                      f"stopped and kept the best parameters (epoch {hist.best_epoch}; -1 is the initial "
                      "model). Try a smaller lr or clip_norm.", RuntimeWarning, stacklevel=3)
        return False
    hist.train_nll.append(float(np.mean(losses)))
    hist.val_nll.append(val_nll)
    hist.lr.append(rate)
    if val_nll < hist.best_val_nll:
        hist.best_val_nll, hist.best_epoch = val_nll, epoch
    return True


def _eval_nll(flow, x):
    """Mean NLL of x: (M, D) under the flow's engine; may be inf or NaN (fit watches for that)."""
    return -float(flow.log_prob(x, finite=False).sum()) / len(x)


def _batches(flow, train, opt, n_train, rng):
    """The minibatches of one epoch: a fresh draw from the sampler, or a reshuffle of the training rows.

    ``train``: (data, rows), the training points being data[rows] (rows None: all of data); a batch is
    gathered from data directly, so the training set is never copied whole (the same rows, in the same
    order, as gathering from a copy)."""
    if opt.sampler:
        x, rows = check_batch(opt.sampler(n_train, rng), flow.dim, "sampler output", flow.dtype), None
    else:
        x, rows = train
    order = rng.permutation(len(x) if rows is None else len(rows))
    if rows is not None:
        order = rows[order]
    for i in range(0, len(order) - opt.batch_size + 1, opt.batch_size):
        xb = x[order[i:i + opt.batch_size]]
        yield xb if flow.backend == "numpy" else to_backend(xb, flow.backend)


def _first_rows(train, n):
    """The first n training points of ``train`` = (data, rows)."""
    x, rows = train
    return x[:n] if rows is None else x[rows[:n]]


def _split_data(flow, data, opt):
    """Returns (train or None, validation array, points per epoch); train: (data, rows), see ``_batches``."""
    if opt.sampler is not None:
        n_val = opt.n_validation
        val = (check_batch(opt.sampler(n_val, opt.rng), flow.dim, "sampler output", flow.dtype)
               if n_val is not None else check_batch(opt.validation, flow.dim, "validation", flow.dtype))
        return None, val, opt.epoch_size
    x = check_batch(data, flow.dim, "data", flow.dtype)
    if opt.n_validation is None:
        rows, val = None, check_batch(opt.validation, flow.dim, "validation", flow.dtype)
    else:
        order = opt.rng.permutation(len(x))
        n_val = int(round(opt.validation * len(x)))
        if n_val == 0 and opt.validation > 0:
            raise ValueError(f"validation: {opt.validation:g} of {len(x)} points rounds to 0 rows; hold out at least "
                             f"one (validation >= {1 / len(x):.3g}), or pass validation=0 for none")
        rows = order[n_val:]  # the training rows, by index: the data are not copied (``_batches``)
        # no validation set: the best epoch and divergence are judged on a bounded sample of the (shuffled)
        # training rows, not on all of them every epoch (with N <= MONITOR_ROWS: all of them, as before)
        val = x[order[:n_val]] if n_val else x[rows[:MONITOR_ROWS]]
    n_train = len(x) if rows is None else len(rows)
    if n_train < opt.batch_size:
        raise ValueError(f"batch_size: {opt.batch_size} is larger than the {n_train} training points")
    return (x, rows), val, n_train


def _clip(grads, clip_norm):
    """Scale the whole gradient down to norm ``clip_norm`` when it is longer."""
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


__all__ = ["fit", "History", "adam_init", "adam_step", "learning_rate"]
