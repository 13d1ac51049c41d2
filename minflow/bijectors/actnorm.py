"""ActNorm (Glow, Kingma & Dhariwal 2018): a per-coordinate affine map.

An extension the thesis left out (see the Glow introduction at the end of the
thesis file). Its parameters are set from the first batch of data so that the
layer's output starts with zero mean and unit variance, then trained freely.
"""
import numpy as np

from ..backend import namespace
from ..validation import check_int
from .base import Bijector, constant_log_det


class ActNorm(Bijector):
    """y = (x + b) * exp(log_scale); inverse x = y * exp(-log_scale) - b.

    log_det = sum_j log_scale_j (the same for every row).
    params = (log_scale: (D,), b: (D,)); x: (N, D) -> y: (N, D), log_det: (N,).
    """

    def __init__(self, dim):
        self.dim = check_int(dim, "dim", minimum=1)

    def init(self, rng, dtype=np.float64):
        return (np.zeros(self.dim, dtype=dtype), np.zeros(self.dim, dtype=dtype))

    def param_shapes(self):
        return ((self.dim,), (self.dim,))

    def data_init(self, x):
        """Parameters that standardise the batch x: (N, D): b = -mean, log_scale = -log std."""
        x = np.asarray(x)
        std = np.maximum(x.std(axis=0), 1e-6)
        return (-np.log(std).astype(x.dtype), -x.mean(axis=0).astype(x.dtype))

    def forward(self, params, x):
        xp = namespace(x)
        log_scale, b = params
        y = (x + b) * xp.exp(log_scale)
        return y, constant_log_det(xp, x, xp.sum(log_scale))

    def inverse(self, params, y):
        xp = namespace(y)
        log_scale, b = params
        x = y * xp.exp(-log_scale) - b
        return x, constant_log_det(xp, y, -xp.sum(log_scale))

    def config(self):
        return dict(type="ActNorm", dim=self.dim)
