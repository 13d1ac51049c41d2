"""The additive coupling layer of NICE (Dinh et al. 2015; thesis appendix D, section 3.1.2).

The affine coupling (coupling.py) without the scale: volume preserving, log|det J| = 0.

    forward (data -> latent):   y_a = x_a,  y_b = x_b + t(x_a)
    inverse (latent -> data):   x_a = y_a,  x_b = y_b - t(y_a)
"""
import numpy as np

from .. import conditioner
from ..backend import namespace
from ..conditioner import init_mlp, mlp, mlp_shapes
from ..validation import check_hidden
from .base import Bijector, constant_log_det
from .coupling import MASKS, Split


def additive_forward(x_b, t):
    """y_b = x_b + t: (N, d_b) -> (N, d_b)."""
    # BEGIN EXERCISE additive_coupling: NICE (thesis appendix D, section 3.1.2): eq. 3 without the scale
    return x_b + t
    # END EXERCISE


def additive_inverse(y_b, t):
    """x_b = y_b - t, the inverse of ``additive_forward``: (N, d_b) -> (N, d_b)."""
    # BEGIN EXERCISE additive_coupling: NICE (thesis appendix D, section 3.1.2): undo additive_forward
    return y_b - t
    # END EXERCISE


class AdditiveCoupling(Bijector):
    """Additive coupling: x: (N, D) -> y: (N, D), log_det: (N,) of zeros; params: MLP [(W, b), ...]."""

    def __init__(self, dim, hidden=conditioner.HIDDEN, mask=MASKS[0], flip=False, activation=conditioner.ACTIVATION):
        self.split = Split(dim, mask, flip)
        self.dim, self.hidden = self.split.dim, check_hidden(hidden)
        conditioner.activation(activation)
        self.activation = activation

    def init(self, rng, dtype=np.float64):
        return init_mlp([self.split.d_a, *self.hidden, self.split.d_b], rng, dtype)

    def param_shapes(self):
        return mlp_shapes([self.split.d_a, *self.hidden, self.split.d_b])

    def shift(self, params, x_a):
        """x_a: (N, d_a) -> t: (N, d_b)"""
        return mlp(params, x_a, self.activation)

    def forward(self, params, x):
        x_a, x_b = self.split.split(x)
        y_b = additive_forward(x_b, self.shift(params, x_a))
        return self.split.join(x_a, y_b), constant_log_det(namespace(x), x)

    def inverse(self, params, y):
        y_a, y_b = self.split.split(y)
        x_b = additive_inverse(y_b, self.shift(params, y_a))
        return self.split.join(y_a, x_b), constant_log_det(namespace(y), y)

    def config(self):
        return dict(type="AdditiveCoupling", dim=self.dim, hidden=list(self.hidden), mask=self.split.mask,
                    flip=self.split.flip, activation=self.activation)
