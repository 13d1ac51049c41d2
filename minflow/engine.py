"""The one switch that says which code computes ``log_prob`` and the training gradient.

    flow = minflow.RealNVP(..., engine="reference")     # or flow.engine = "reference"
    repr(flow)  ->  RealNVP(dim=..., engine='reference', ...)

``"reference"`` is the model as you read it (registered in ``train.py``): ``Flow.log_prob``
evaluates ``flow.flow_log_prob`` (eq. 2) chunk by chunk, ``fit`` takes the gradient with
``autograd.value_and_grad`` of ``flow.mean_nll`` (eq. 15), through every line of the bijectors,
and updates the parameters with ``train.adam_step``.

Faster engines compute the same numbers (``tests/test_speed.py``: log_prob to 1e-10, gradients
to 1e-8 in float64) and live outside the model, in ``minflow/speed/``, which registers them here:
``"primitives"`` (the default: in-place evaluation kernels, and autograd over one hand-differentiated
primitive per coupling) and ``"manual"`` (the whole backward pass by hand; affine couplings only).

An engine is three functions:
    log_prob(layers, params, x, chunk_size) -> (N,)          x: (N, D), already checked
    value_and_grad(layers) -> fn(params, x) -> (mean NLL: float, grads shaped like params)
    adam_step(params, grads, state, lr) -> (params, state)   as ``train.adam_step``
"""
from collections import namedtuple

Engine = namedtuple("Engine", "log_prob value_and_grad adam_step")

DEFAULT = "primitives"
_ENGINES = {}


def register(name, engine):
    """Make ``engine`` (an ``Engine``) available as ``engine=name``."""
    _ENGINES[name] = Engine(*engine)


def get(name):
    """The engine called ``name``; an unknown name is a ValueError listing the known ones."""
    if not isinstance(name, str) or name not in _ENGINES:
        raise ValueError(f"engine: expected one of {names()}, got {name!r}")
    return _ENGINES[name]


def names():
    return sorted(_ENGINES)
