"""What every bijector provides, and the split/join of a coupling's two halves.

Direction convention (everywhere in minflow): ``forward`` maps data x to latent z,
``inverse`` maps z back to x. Both return the log-determinant of the Jacobian
of the map they apply, so ``inverse(params, forward(params, x)[0])[1]`` equals
``-forward(params, x)[1]``.
"""
import numpy as np

from ..backend import const, namespace
from ..validation import check_int

MASKS = ("half", "alternate")


class Bijector:
    """Interface: ``init(rng, dtype) -> params``, ``forward``, ``inverse``, ``config``.

    The object holds only fixed structure (dimension, mask, permutation); the
    trainable numbers live in ``params``, a plain tuple/list of arrays, so that
    losses are pure functions of ``params`` for ``autograd.grad``.
    """

    dim: int

    def init(self, rng, dtype=np.float64):
        return ()

    def forward(self, params, x):
        """x: (N, D) -> y: (N, D), log_det: (N,)"""
        raise NotImplementedError

    def inverse(self, params, y):
        """y: (N, D) -> x: (N, D), log_det: (N,)"""
        raise NotImplementedError

    def config(self):
        """JSON-ready description from which ``from_config`` rebuilds the layer."""
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


def zeros_log_det(xp, x):
    """A (N,) vector of zeros in the namespace and dtype of x (volume preserving maps)."""
    return xp.sum(x[:, :1] * 0.0, axis=1)


class Split:
    """Split x into the conditioning part x_a and the transformed part x_b, and back.

    mask="half": x_a = x[:, :D//2], x_b = x[:, D//2:] (``flip`` swaps the roles);
    mask="alternate": x_a = even coordinates, x_b = odd coordinates (``flip`` swaps).
    Works for odd and even D >= 2. ``join(split(x)) == x`` exactly.
    """

    def __init__(self, dim, mask="half", flip=False):
        self.dim = check_int(dim, "dim", minimum=2)
        if mask not in MASKS:
            raise ValueError(f"mask: expected one of {MASKS}, got {mask!r}")
        self.mask, self.flip = mask, bool(flip)
        if mask == "half":
            first, second = np.arange(dim // 2), np.arange(dim // 2, dim)
        else:
            first, second = np.arange(0, dim, 2), np.arange(1, dim, 2)
        self.idx_a, self.idx_b = (second, first) if flip else (first, second)
        order = np.concatenate([self.idx_a, self.idx_b])
        self.inv_order = np.argsort(order)
        self.d_a, self.d_b = len(self.idx_a), len(self.idx_b)

    def split(self, x):
        """x: (N, D) -> x_a: (N, d_a), x_b: (N, d_b)"""
        if self.mask == "half":
            k = self.dim // 2
            lo, hi = x[:, :k], x[:, k:]
            return (hi, lo) if self.flip else (lo, hi)
        xp = namespace(x)
        return xp.take(x, const(xp, self.idx_a), axis=1), xp.take(x, const(xp, self.idx_b), axis=1)

    def join(self, x_a, x_b):
        """x_a: (N, d_a), x_b: (N, d_b) -> x: (N, D), the inverse of ``split``."""
        xp = namespace(x_a, x_b)
        if self.mask == "half":
            return xp.concat([x_b, x_a] if self.flip else [x_a, x_b], axis=1)
        return xp.take(xp.concat([x_a, x_b], axis=1), const(xp, self.inv_order), axis=1)
