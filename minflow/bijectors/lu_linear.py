"""Invertible linear layer with an LU-parameterised weight (Glow's 1x1 convolution for vectors).

W = P L (U + diag(sign * exp(log_s))) with P a fixed permutation, L unit lower
triangular, U strictly upper triangular. det W = +-prod exp(log_s), so the
log-determinant is sum(log_s): O(D), no O(D^3) determinant.
"""
import numpy as np

from ..backend import namespace
from ..validation import check_int, check_permutation
from .base import Bijector, constant_log_det


class LULinear(Bijector):
    """forward y = x W^T (each row: y_i = W x_i); inverse x = y W^{-T}; log_det = sum_j log_s_j.

    params = (L_strict: (D, D), U_strict: (D, D), log_s: (D,)); only the strictly
    lower part of L_strict and strictly upper part of U_strict are used.
    x: (N, D) -> y: (N, D), log_det: (N,).
    """

    def __init__(self, dim, perm=None, sign=None):
        self.dim = check_int(dim, "dim", minimum=1)
        self.perm = np.arange(dim) if perm is None else check_permutation(perm, "perm", dim)
        self.sign = np.ones(dim) if sign is None else np.asarray(sign)
        if self.sign.shape != (dim,) or self.sign.dtype.kind not in "iuf" or not np.all(np.abs(self.sign) == 1):
            raise ValueError(f"sign: expected {dim} entries, each +1 or -1 (W must be invertible), got "
                             f"{self.sign.tolist()[:20]}")
        self.sign = self.sign.astype(np.float64)
        self.row_order = np.argsort(self.perm)

    def init(self, rng, dtype=np.float64):
        """L = U = I and log_s = 0: the layer starts as the fixed permutation P."""
        z = np.zeros((self.dim, self.dim), dtype=dtype)
        return (z, z.copy(), np.zeros(self.dim, dtype=dtype))

    def param_shapes(self):
        return ((self.dim, self.dim), (self.dim, self.dim), (self.dim,))

    def weight(self, params):
        """W = P L (U + diag(sign * exp(log_s))): (D, D)."""
        L_strict, U_strict, log_s = params
        xp = namespace(log_s)
        eye = xp.eye(self.dim, dtype=log_s.dtype)
        L = xp.tril(L_strict, k=-1) + eye
        U = xp.triu(U_strict, k=1) + eye * (xp.asarray(self.sign, dtype=log_s.dtype) * xp.exp(log_s))
        # (P A)[i] = A[row_order[i]] for the permutation matrix P of scipy.linalg.lu
        return xp.take(L @ U, self.row_order, axis=0)

    def forward(self, params, x):
        xp = namespace(x)
        y = x @ self.weight(params).T
        return y, constant_log_det(xp, x, xp.sum(params[2]))

    def inverse(self, params, y):
        xp = namespace(y)
        x = xp.linalg.solve(self.weight(params), y.T).T
        return x, constant_log_det(xp, y, -xp.sum(params[2]))

    def config(self):
        return dict(type="LULinear", dim=self.dim, perm=self.perm.tolist(), sign=self.sign.tolist())

