"""What every bijector provides.

Direction convention (everywhere in minflow): ``forward`` maps data x to latent z,
``inverse`` maps z back to x. Both return the log-determinant of the Jacobian of the map
they apply, so ``inverse(params, forward(params, x)[0])[1]`` equals ``-forward(params, x)[1]``.
"""
import numpy as np


class Bijector:
    """Interface: ``init(rng, dtype) -> params``, ``forward``, ``inverse``, ``config``.

    The object holds only fixed structure (dimension, mask, permutation); the trainable
    numbers live in ``params``, a plain tuple/list of arrays, so that losses are pure
    functions of ``params`` for ``autograd.grad``.
    """

    dim: int

    def init(self, rng, dtype=np.float64):
        return ()

    def param_shapes(self):
        """The shapes of ``init``'s arrays, same structure, nothing allocated (checkpoints check them)."""
        return ()

    def forward(self, params, x):
        """x: (N, D) -> y: (N, D), log_det: (N,)"""
        raise NotImplementedError

    def inverse(self, params, y):
        """y: (N, D) -> x: (N, D), log_det: (N,)"""
        raise NotImplementedError

    def config(self):
        """JSON-ready description from which ``bijectors.from_config`` rebuilds the layer."""
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


def constant_log_det(xp, x, value=0.0):
    """A (N,) vector equal to ``value`` in the namespace and dtype of x (maps whose log-det is the
    same for every row); written as a sum over x so autograd and every backend keep the dtype."""
    return xp.sum(x[:, :1] * 0.0, axis=1) + value
