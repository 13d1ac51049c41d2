"""The MLP conditioner: the networks s(x_a) and t(x_a) of a coupling layer.

Parameters are a plain list of ``(W, b)`` tuples, one per layer, as in autograd's
``examples/neural_net.py``; ``mlp(params, x)`` is a pure function, so
``autograd.grad`` differentiates it directly.

One network outputs both halves, ``[s_raw | t]``; the log-scale is then bounded,
``s = s_max * tanh(s_raw / s_max)``, which is ~``s_raw`` near zero but can never
make ``exp(s)`` overflow during training.
"""
import numpy as np

from .backend import namespace
from .validation import check_int, check_rng


def _relu(xp, h):
    return xp.maximum(h, 0.0)


def _leaky_relu(xp, h):
    return xp.maximum(h, 0.01 * h)


def _tanh(xp, h):
    return xp.tanh(h)


def _elu(xp, h):
    return xp.where(h > 0, h, xp.exp(xp.minimum(h, 0.0)) - 1.0)


ACTIVATIONS = {"relu": _relu, "leaky_relu": _leaky_relu, "tanh": _tanh, "elu": _elu}


def check_activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {name!r}")
    return name


def init_mlp(sizes, rng, dtype=np.float64, zero_last=True):
    """Random MLP parameters for layer widths ``sizes = [d_in, h_1, ..., d_out]``.

    Hidden weights ~ N(0, 1/fan_in) (He-like, keeps activations O(1));
    biases 0. With ``zero_last`` the output layer is all zeros, so a new
    coupling layer is the identity map and a new flow is exactly the prior.
    Returns a list of ``(W: (d_in, d_out), b: (d_out,))`` tuples.
    """
    check_rng(rng)
    for i, n in enumerate(sizes):
        check_int(n, f"hidden[{i - 1}]" if 0 < i < len(sizes) - 1 else "layer size", minimum=1)
    params = []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        if last and zero_last:
            W = np.zeros((m, n), dtype=dtype)
        else:
            W = (rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype)
        params.append((W, np.zeros(n, dtype=dtype)))
    return params


def mlp(params, x, activation="relu"):
    """Apply the MLP: h_{k+1} = act(h_k W_k + b_k), no activation on the output.

    params: list of (W, b); x: (N, d_in) -> (N, d_out).
    """
    xp = namespace(x)
    act = ACTIVATIONS[activation]  # act(xp, h) applies the activation elementwise
    # BEGIN EXERCISE mlp: the networks s and t of thesis eq. 3 (section 2.1.1); the output layer has no activation
    h = x
    for W, b in params[:-1]:
        h = act(xp, h @ W + b)
    W, b = params[-1]
    return h @ W + b
    # END EXERCISE


def scale_and_shift(params, x_a, n_out, activation="relu", s_max=2.0):
    """Conditioner of a coupling layer: x_a: (N, d) -> s: (N, n_out), t: (N, n_out).

    The bounded log-scale s = s_max * tanh(s_raw / s_max) lies in (-s_max, s_max).
    """
    xp = namespace(x_a)
    out = mlp(params, x_a, activation)
    s_raw, t = out[:, :n_out], out[:, n_out:]
    return s_max * xp.tanh(s_raw / s_max), t
