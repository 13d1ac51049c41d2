"""Coupling layers: affine (RealNVP) and additive (NICE).

A coupling layer leaves one part of x unchanged and transforms the other part
with a map whose parameters depend only on the unchanged part, so the Jacobian
is triangular (thesis section 2.1.2, eq. 5-6) and its determinant is the
product of its diagonal: O(D) instead of O(D^3).

References: Dinh et al., NICE (2015); Dinh et al., Density estimation using
Real NVP (2017); thesis section 2.1.1 and the RealNVP introduction at its end.
"""
import numpy as np

from ..backend import namespace
from ..conditioner import check_activation, init_mlp, mlp, scale_and_shift
from ..validation import check_int, check_positive
from .base import Bijector, Split, zeros_log_det


def _check_hidden(hidden):
    if isinstance(hidden, (int, np.integer)):
        hidden = (hidden,)
    hidden = tuple(hidden)
    for i, h in enumerate(hidden):
        check_int(h, f"hidden[{i}]", minimum=1)
    return hidden


# The formulas of the two coupling layers, one small function each, so that every equation reads
# on its own (and is one exercise of ``make exercises``). x_b, y_b, s, t: (N, d_b).
def affine_forward(x_b, s, t):
    """y_b = x_b * exp(s) + t, elementwise (thesis eq. 3): (N, d_b) -> (N, d_b)."""
    xp = namespace(x_b)
    # BEGIN EXERCISE coupling_forward: thesis eq. 3 (section 2.1.1): scale x_b by exp(s), then shift by t
    return x_b * xp.exp(s) + t
    # END EXERCISE


def affine_inverse(y_b, s, t):
    """x_b = (y_b - t) * exp(-s), elementwise (thesis eq. 4): (N, d_b) -> (N, d_b)."""
    xp = namespace(y_b)
    # BEGIN EXERCISE coupling_inverse: thesis eq. 4 (section 2.1.1): undo eq. 3, last step first
    return (y_b - t) * xp.exp(-s)
    # END EXERCISE


def affine_log_det(s):
    """log|det J| of eq. 3 = sum_j s_j, one value per row (thesis eq. 5-6): (N, d_b) -> (N,)."""
    xp = namespace(s)
    # BEGIN EXERCISE coupling_log_det: thesis eq. 5-6 (section 2.1.2): log of a triangular determinant
    return xp.sum(s, axis=1)
    # END EXERCISE


def additive_forward(x_b, t):
    """y_b = x_b + t (NICE, thesis appendix D, section 3.1.2): (N, d_b) -> (N, d_b); log|det J| = 0."""
    # BEGIN EXERCISE additive_coupling: NICE (thesis appendix D, section 3.1.2): eq. 3 without the scale
    return x_b + t
    # END EXERCISE


def additive_inverse(y_b, t):
    """x_b = y_b - t, the inverse of ``additive_forward``: (N, d_b) -> (N, d_b)."""
    # BEGIN EXERCISE additive_coupling: NICE (thesis appendix D, section 3.1.2): undo additive_forward
    return y_b - t
    # END EXERCISE


class AffineCoupling(Bijector):
    """Affine coupling layer (thesis eq. 3-6).

    forward:  y_a = x_a,  y_b = x_b * exp(s(x_a)) + t(x_a),    log_det = sum_j s_j(x_a)
    inverse:  x_a = y_a,  x_b = (y_b - t(y_a)) * exp(-s(y_a)), log_det = -sum_j s_j(y_a)

    s and t come from one MLP conditioner, s bounded to (-s_max, s_max).
    Shapes: x: (N, D) -> y: (N, D), log_det: (N,).
    """

    def __init__(self, dim, hidden=(64, 64), mask="half", flip=False, activation="relu", s_max=2.0):
        self.split = Split(dim, mask, flip)
        self.dim = self.split.dim
        self.hidden = _check_hidden(hidden)
        self.activation = check_activation(activation)
        self.s_max = check_positive(s_max, "s_max")

    def init(self, rng, dtype=np.float64):
        return init_mlp([self.split.d_a, *self.hidden, 2 * self.split.d_b], rng, dtype)

    def scale_shift(self, params, x_a):
        """x_a: (N, d_a) -> s: (N, d_b), t: (N, d_b)"""
        return scale_and_shift(params, x_a, self.split.d_b, self.activation, self.s_max)

    def forward(self, params, x):
        x_a, x_b = self.split.split(x)
        s, t = self.scale_shift(params, x_a)
        return self.split.join(x_a, affine_forward(x_b, s, t)), affine_log_det(s)

    def inverse(self, params, y):
        y_a, y_b = self.split.split(y)
        s, t = self.scale_shift(params, y_a)
        return self.split.join(y_a, affine_inverse(y_b, s, t)), -affine_log_det(s)

    def config(self):
        return dict(type="AffineCoupling", dim=self.dim, hidden=list(self.hidden), mask=self.split.mask,
                    flip=self.split.flip, activation=self.activation, s_max=self.s_max)


class AdditiveCoupling(Bijector):
    """Additive coupling layer (NICE): volume preserving.

    forward:  y_a = x_a,  y_b = x_b + t(x_a),   log_det = 0
    inverse:  x_a = y_a,  x_b = y_b - t(y_a),   log_det = 0

    Shapes: x: (N, D) -> y: (N, D), log_det: (N,).
    """

    def __init__(self, dim, hidden=(64, 64), mask="half", flip=False, activation="relu"):
        self.split = Split(dim, mask, flip)
        self.dim = self.split.dim
        self.hidden = _check_hidden(hidden)
        self.activation = check_activation(activation)

    def init(self, rng, dtype=np.float64):
        return init_mlp([self.split.d_a, *self.hidden, self.split.d_b], rng, dtype)

    def shift(self, params, x_a):
        """x_a: (N, d_a) -> t: (N, d_b)"""
        return mlp(params, x_a, self.activation)

    def forward(self, params, x):
        x_a, x_b = self.split.split(x)
        t = self.shift(params, x_a)
        return self.split.join(x_a, additive_forward(x_b, t)), zeros_log_det(namespace(x), x)

    def inverse(self, params, y):
        y_a, y_b = self.split.split(y)
        t = self.shift(params, y_a)
        return self.split.join(y_a, additive_inverse(y_b, t)), zeros_log_det(namespace(y), y)

    def config(self):
        return dict(type="AdditiveCoupling", dim=self.dim, hidden=list(self.hidden), mask=self.split.mask,
                    flip=self.split.flip, activation=self.activation)
