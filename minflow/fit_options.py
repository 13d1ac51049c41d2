"""Every option of ``fit``, checked before training starts, with an error that names it.

A wrong option must fail at once, not after the first epoch, and never silently change what
training does (``clip_norm=-1`` would ascend the gradient, ``warmup=2.5`` is meaningless).
"""
import numbers
from dataclasses import dataclass

import numpy as np

from . import engine as engines
from .flow import Flow
from .validation import check_bool, check_int, check_positive, check_rng

SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class Options:
    """The checked options of one ``fit`` call."""

    rng: np.random.Generator
    epochs: int
    batch_size: int
    lr: float
    schedule: str
    warmup: int
    validation: object       # a fraction, a size (with a sampler) or an (M, D) array
    n_validation: object     # with a sampler: points to draw; with an array: None if explicit, else a fraction
    epoch_size: object
    patience: object
    clip_norm: object
    engine: str
    progress: bool
    callback: object
    sampler: object

    def settings(self, flow, n_train, n_val):
        """The run's settings as plain values, for ``History.settings`` and result files."""
        return dict(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, schedule=self.schedule,
                    warmup=self.warmup, n_train=n_train, n_val=n_val, patience=self.patience,
                    clip_norm=self.clip_norm, engine=self.engine, fresh_data=self.sampler is not None,
                    dtype=np.dtype(flow.dtype).name)


def as_sampler(data):
    """``data`` as a function (n, rng) -> (n, D) array if it is a sampler, else None."""
    if callable(data):
        return data
    sample = getattr(data, "sample", None)
    return sample if callable(sample) else None


def check_options(flow, data, rng, args):
    """``args``: the keyword arguments of ``fit`` (its ``locals()``). Returns ``Options``."""
    if not isinstance(flow, Flow):
        raise TypeError(f"flow: expected a minflow Flow, got {type(flow).__name__}")
    sampler = as_sampler(data)
    batch_size = check_int(args["batch_size"], "batch_size", minimum=1)
    epoch_size = _check_epoch_size(args["epoch_size"], sampler, batch_size)
    engine = flow.engine if args["engine"] is None else args["engine"]
    engines.get(engine)
    if flow.backend == "cupy" and engine != "manual":
        raise ValueError(f"engine: a flow on the GPU (CuPy) trains with engine='manual' (autograd is "
                         f"NumPy-only), got {engine!r}")
    if args["schedule"] not in SCHEDULES:
        raise ValueError(f"schedule: expected one of {SCHEDULES}, got {args['schedule']!r}")
    if args["callback"] is not None and not callable(args["callback"]):
        raise TypeError(f"callback: expected a function (epoch, history, flow) or None, got {args['callback']!r}")
    return Options(
        rng=check_rng(rng), epochs=check_int(args["epochs"], "epochs", minimum=1), batch_size=batch_size,
        lr=check_positive(args["lr"], "lr"), schedule=args["schedule"],
        warmup=check_int(args["warmup"], "warmup", minimum=0), validation=args["validation"],
        n_validation=_check_validation(args["validation"], sampler, epoch_size), epoch_size=epoch_size,
        patience=None if args["patience"] is None else check_int(args["patience"], "patience", minimum=1),
        clip_norm=None if args["clip_norm"] is None else check_positive(args["clip_norm"], "clip_norm"),
        engine=engine, progress=check_bool(args["progress"], "progress"), callback=args["callback"],
        sampler=sampler)


def _check_epoch_size(epoch_size, sampler, batch_size):
    if sampler is None:
        if epoch_size is not None:
            raise ValueError("epoch_size: only used when training from a sampler; with an array of data "
                             "every epoch is one pass over it")
        return None
    return check_int(64 * batch_size if epoch_size is None else epoch_size, "epoch_size", minimum=batch_size)


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _check_validation(validation, sampler, epoch_size):
    """With a sampler: the number of points to draw; with an array: the fraction; None if explicit."""
    if isinstance(validation, (bool, np.bool_, str, bytes)):
        raise TypeError(f"validation: expected a fraction, a size or an (M, D) array, got {validation!r}")
    if not _is_number(validation):
        return None  # an explicit (M, D) array; checked by check_batch with the name "validation"
    if sampler is None:
        if not 0 <= validation < 1:
            raise ValueError(f"validation: with an array of data, expected a fraction in [0, 1), got {validation}")
        return float(validation)
    if isinstance(validation, numbers.Integral):
        return check_int(validation, "validation", minimum=1)
    if not 0 < validation <= 1:
        raise ValueError(f"validation: with a sampler, expected a size >= 1 or a fraction of epoch_size in "
                         f"(0, 1], got {validation}")
    return max(1, int(round(validation * epoch_size)))
