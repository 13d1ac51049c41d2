"""Fixed permutations of the coordinates: volume preserving, no parameters.

RealNVP alternates which half of x a coupling transforms; a permutation between couplings
is the other way to let every coordinate be transformed.
"""
import numpy as np

from ..backend import namespace
from ..validation import check_int, check_permutation, check_rng
from .base import Bijector, constant_log_det


class Permutation(Bijector):
    """y = x[:, perm]; inverse x = y[:, argsort(perm)]; log_det = 0.

    x: (N, D) -> y: (N, D), log_det: (N,)
    """

    def __init__(self, perm):
        self.perm = check_permutation(perm)
        self.dim = check_int(len(self.perm), "len(perm)", minimum=1)
        self.inv_perm = np.argsort(self.perm)

    def forward(self, params, x):
        xp = namespace(x)
        return xp.take(x, self.perm, axis=1), constant_log_det(xp, x)

    def inverse(self, params, y):
        xp = namespace(y)
        return xp.take(y, self.inv_perm, axis=1), constant_log_det(xp, y)

    def config(self):
        return dict(type="Permutation", perm=self.perm.tolist())


class Reverse(Permutation):
    """The permutation that reverses the order of the D coordinates."""

    def __init__(self, dim):
        super().__init__(np.arange(check_int(dim, "dim", minimum=1))[::-1])


class RandomPermutation(Permutation):
    """A fixed random permutation, drawn once from ``rng`` (a numpy Generator)."""

    def __init__(self, dim, rng):
        super().__init__(check_rng(rng).permutation(check_int(dim, "dim", minimum=1)))
