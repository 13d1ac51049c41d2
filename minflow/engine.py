"""The one switch that says which code computes ``log_prob`` and the training gradient.

    flow = minflow.RealNVP(..., engine="reference")     # or flow.engine = "reference"
    repr(flow)  ->  RealNVP(dim=..., engine='reference', ...)

``"reference"`` is the model as you read it (``train.REFERENCE``): ``Flow.log_prob`` evaluates
``flow.flow_log_prob`` (eq. 2) chunk by chunk, ``fit`` takes the gradient with
``autograd.value_and_grad`` of ``flow.mean_nll`` (eq. 15), through every line of the bijectors,
and updates the parameters with ``train.adam_step``.

Faster engines compute the same numbers (``tests/test_speed.py``: log_prob to 1e-10, gradients
to 1e-8 in float64) and live outside the model, in ``minflow/speed/`` (``speed.ENGINES``):
``"primitives"`` (the default: in-place evaluation kernels, and autograd over one hand-differentiated
primitive per coupling) and ``"manual"`` (the whole backward pass by hand; affine couplings only).

Which engines exist is one explicit table, handed in once, in one place: the package face
(``minflow/__init__.py``) calls ``install`` with the reference engine and the speed room's, and the
speed room's ``DEFAULT``. Importing a module registers nothing; nothing else changes the table (in
an exercises workspace the speed room is a stand-in whose table is empty and whose default is
"reference": a setting, read by the same face).

An engine is three functions:
    log_prob(layers, params, x, chunk_size) -> (N,)          x: (N, D), already checked
    value_and_grad(layers) -> fn(params, x) -> (mean NLL: float, grads shaped like params)
    adam_step(params, grads, state, lr) -> (params, state)   as ``train.adam_step``
"""
from collections import namedtuple

Engine = namedtuple("Engine", "log_prob value_and_grad adam_step")

_INSTALLED = {}  # "table": {name: Engine}, "default": name; written once by install()


def install(table, default):
    """Make the engines of ``table`` ({name: Engine}) the ones ``engine=name`` selects, ``default``
    the engine of a new flow. Called once, by the package face; a second, different table is refused."""
    table = {name: Engine(*e) for name, e in table.items()}
    if default not in table:
        raise ValueError(f"default: {default!r} is not one of the engines {sorted(table)}")
    if _INSTALLED and (_INSTALLED["table"] != table or _INSTALLED["default"] != default):
        raise RuntimeError("engine.install: the engines are installed once, by minflow/__init__.py")
    _INSTALLED.update(table=table, default=default)


def default():
    """The name of the engine a new flow uses."""
    return _INSTALLED["default"]


def get(name):
    """The engine called ``name``; an unknown name is a ValueError listing the known ones."""
    if not isinstance(name, str) or name not in _INSTALLED.get("table", {}):
        raise ValueError(f"engine: expected one of {names()}, got {name!r}")
    return _INSTALLED["table"][name]


def names():
    return sorted(_INSTALLED.get("table", {}))


def __getattr__(name):
    if name == "DEFAULT":  # engine.DEFAULT reads the installed default (nothing assigns it)
        return default()
    raise AttributeError(f"module 'minflow.engine' has no attribute {name!r}")
