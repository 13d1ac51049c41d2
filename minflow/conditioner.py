"""The MLP conditioner: the network that gives a coupling layer its s(x_a) and t(x_a).

Parameters are a plain list of ``(W, b)`` tuples, one per layer, as in autograd's
``examples/neural_net.py``; ``mlp(params, x)`` is a pure function, so ``autograd.grad``
differentiates it directly. The coupling layer (``bijectors/coupling.py``) reads s and t
off its output.

``ACTIVATIONS`` is the one table of activation functions in minflow: every path (this
reference, the speed room's kernels and hand-written backward pass) takes ``value`` and
``derivative`` from here, so a new activation is one entry, and an unknown name is a
``ValueError`` everywhere.
"""
from collections import namedtuple

import numpy as np

from .backend import namespace
from .replaceable import replaceable
from .validation import check_int, check_rng

Activation = namedtuple("Activation", "value derivative")
Activation.__doc__ = """h = value(xp, a); derivative(xp, h) = act'(a), written in terms of the output h = act(a)
(what a backward pass has kept). xp is the array namespace of a (see backend.py)."""

ACTIVATIONS = {
    "relu": Activation(lambda xp, a: xp.maximum(a, 0.0),
                       lambda xp, h: h > 0),
    "leaky_relu": Activation(lambda xp, a: xp.maximum(a, 0.01 * a),
                             lambda xp, h: xp.where(h > 0, 1.0, 0.01)),
    "tanh": Activation(lambda xp, a: xp.tanh(a),
                       lambda xp, h: 1 - h * h),
    "elu": Activation(lambda xp, a: xp.where(a > 0, a, xp.exp(xp.minimum(a, 0.0)) - 1.0),
                      lambda xp, h: xp.where(h > 0, 1.0, h + 1)),
}
HIDDEN = (64, 64)    # the default hidden widths of a conditioner (RealNVPSpec.hidden reads it)
ACTIVATION = "relu"  # the default activation


def activation(name):
    """The ``Activation`` called ``name``; an unknown name is a ValueError."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def mlp_shapes(sizes):
    """[((d_in, h_1), (h_1,)), ...]: the shapes of ``init_mlp(sizes)``'s (W, b) pairs."""
    return [((m, n), (n,)) for m, n in zip(sizes[:-1], sizes[1:])]


def init_mlp(sizes, rng, dtype=np.float64, zero_last=True):
    """Random MLP parameters for layer widths ``sizes = [d_in, h_1, ..., d_out]``.

    Hidden weights ~ N(0, 1/fan_in) (He-like, keeps activations O(1)); biases 0. With
    ``zero_last`` the output layer is all zeros, so a new coupling layer is the identity
    map and a new flow is exactly the prior.
    Returns a list of ``(W: (d_in, d_out), b: (d_out,))`` tuples.
    """
    check_rng(rng)
    for i, n in enumerate(sizes):
        check_int(n, f"hidden[{i - 1}]" if 0 < i < len(sizes) - 1 else "layer size", minimum=1)
    params = []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i == len(sizes) - 2 and zero_last:
            W = np.zeros((m, n), dtype=dtype)
        else:
            W = (rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype)
        params.append((W, np.zeros(n, dtype=dtype)))
    return params


@replaceable  # the grader may run a coupling layer with a stand-in for it (replaceable.py)
def mlp(params, x, activation_name="relu"):
    """Apply the MLP: h_{k+1} = act(h_k W_k + b_k), no activation on the output.

    params: list of (W, b); x: (N, d_in) -> (N, d_out).
    """
    xp = namespace(x)
    act = activation(activation_name).value
    # BEGIN EXERCISE mlp: the networks s and t of thesis eq. 3 (section 2.1.1); the output layer has no activation
    h = x
    for W, b in params[:-1]:
        h = act(xp, h @ W + b)
    W, b = params[-1]
    return h @ W + b
    # END EXERCISE
