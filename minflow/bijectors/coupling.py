"""The affine coupling layer of RealNVP, whole (thesis section 2.1.1-2.1.2, eq. 3-6).

Split x into x_a, which is copied, and x_b, which is transformed by a scale and a shift that an
MLP computes from x_a alone:

    forward (data -> latent):   y_a = x_a,  y_b = x_b * exp(s(x_a)) + t(x_a)          eq. 3
    inverse (latent -> data):   x_a = y_a,  x_b = (y_b - t(y_a)) * exp(-s(y_a))       eq. 4
    log|det J_forward| = sum_j s_j(x_a),    log|det J_inverse| = -sum_j s_j(y_a)      eq. 5-6

The Jacobian is triangular with diagonal (1, ..., 1, exp(s)), so its determinant costs O(D).

**One change to eq. 3.** The network's raw output s_raw is bounded before use:
s = s_max * tanh(s_raw / s_max). Near zero s ~ s_raw, so the layer is eq. 3; but exp(s) can
never exceed exp(s_max), so a bad training step cannot overflow. The bound is part of s(x_a),
so eq. 3-6 hold exactly as written for the bounded s.

**``s_max=None``: no bound.** s = s_raw, eq. 3 exactly (plain exp, as in the RealNVP paper).
The trade-off: nothing caps exp(s), so a bad training step can overflow it; the flow's output
checks (``Flow.log_prob``, ``forward``, ``inverse``) and training's divergence check then report
the non-finite values instead of passing them on.
"""
import numbers

import numpy as np

from .. import conditioner
from ..backend import namespace
from ..conditioner import init_mlp, mlp, mlp_shapes
from ..replaceable import replaceable
from ..validation import check_bool, check_hidden, check_int
from .base import Bijector

MASKS = ("half", "alternate")
S_MAX = 2.0  # the default bound on the log-scale s (RealNVPSpec.s_max reads it)


class Split:
    """x: (N, D) -> x_a: (N, d_a), x_b: (N, d_b), and ``join``, its exact inverse.

    mask="half": x_a = first D//2 columns; "alternate": x_a = even columns. ``flip`` swaps
    the roles of the two parts, so consecutive layers transform different halves (odd D too).
    """

    def __init__(self, dim, mask="half", flip=False):
        self.dim = check_int(dim, "dim", minimum=2)
        if mask not in MASKS:
            raise ValueError(f"mask: expected one of {MASKS}, got {mask!r}")
        self.mask, self.flip = mask, check_bool(flip, "flip")
        cols = np.arange(dim)
        first, second = (cols[:dim // 2], cols[dim // 2:]) if mask == "half" else (cols[0::2], cols[1::2])
        self.idx_a, self.idx_b = (second, first) if self.flip else (first, second)
        self.inv_order = np.argsort(np.concatenate([self.idx_a, self.idx_b]))
        self.d_a, self.d_b = len(self.idx_a), len(self.idx_b)

    def split(self, x):
        if self.mask == "half":  # contiguous halves: slices, cheaper than gathering columns
            return x[:, self.idx_a[0]:self.idx_a[-1] + 1], x[:, self.idx_b[0]:self.idx_b[-1] + 1]
        xp = namespace(x)
        return xp.take(x, self.idx_a, axis=1), xp.take(x, self.idx_b, axis=1)

    def join(self, x_a, x_b):
        xp = namespace(x_a, x_b)
        if self.mask == "half":
            return xp.concat([x_b, x_a] if self.flip else [x_a, x_b], axis=1)
        return xp.take(xp.concat([x_a, x_b], axis=1), self.inv_order, axis=1)


# eq. 3, 4 and 5-6, one function each (x_b, y_b, s, t: (N, d_b)); each is an exercise of the classroom.
@replaceable  # the grader may stand in for each of the three (replaceable.py)
def affine_forward(x_b, s, t):
    """y_b = x_b * exp(s) + t (eq. 3)."""
    xp = namespace(x_b)
    # BEGIN EXERCISE coupling_forward: thesis eq. 3 (section 2.1.1): scale x_b by exp(s), then shift by t
    return x_b * xp.exp(s) + t
    # END EXERCISE


@replaceable
def affine_inverse(y_b, s, t):
    """x_b = (y_b - t) * exp(-s) (eq. 4)."""
    xp = namespace(y_b)
    # BEGIN EXERCISE coupling_inverse: thesis eq. 4 (section 2.1.1): undo eq. 3, last step first
    return (y_b - t) * xp.exp(-s)
    # END EXERCISE


@replaceable
def affine_log_det(s):
    """log|det J| of eq. 3 = sum_j s_j (eq. 5-6): (N, d_b) -> (N,)."""
    xp = namespace(s)
    # BEGIN EXERCISE coupling_log_det: thesis eq. 5-6 (section 2.1.2): log of a triangular determinant
    return xp.sum(s, axis=1)
    # END EXERCISE


def check_s_max(s_max, name="s_max"):
    """The scale bound: None (unbounded, s = s_raw) or a finite number > 0, returned as a float."""
    if s_max is None:
        return None
    if isinstance(s_max, (bool, np.bool_)) or not isinstance(s_max, numbers.Real):
        raise TypeError(f"{name}: expected None (unbounded scale) or a positive number, "
                        f"got {type(s_max).__name__} {s_max!r}")
    if not np.isfinite(s_max) or s_max <= 0:
        raise ValueError(f"{name}: expected None (unbounded scale) or a finite number > 0, got {s_max}")
    return float(s_max)


class AffineCoupling(Bijector):
    """Affine coupling (eq. 3-6): x: (N, D) -> y: (N, D), log_det: (N,); params: MLP [(W, b), ...].

    s_max: the bound of the log-scale, s = s_max tanh(s_raw / s_max); None: unbounded, s = s_raw.
    """

    def __init__(self, dim, hidden=conditioner.HIDDEN, mask=MASKS[0], flip=False, activation=conditioner.ACTIVATION,
                 s_max=S_MAX):
        self.split = Split(dim, mask, flip)
        self.dim, self.hidden = self.split.dim, check_hidden(hidden)
        conditioner.activation(activation)  # an unknown name fails here, not at the first forward
        self.activation, self.s_max = activation, check_s_max(s_max)

    def init(self, rng, dtype=np.float64):
        return init_mlp([self.split.d_a, *self.hidden, 2 * self.split.d_b], rng, dtype)

    def param_shapes(self):
        return mlp_shapes([self.split.d_a, *self.hidden, 2 * self.split.d_b])

    def scale_shift(self, params, x_a):
        """x_a: (N, d_a) -> s: (N, d_b) bounded to (-s_max, s_max) (s_max=None: s = s_raw), t: (N, d_b)."""
        xp = namespace(x_a)
        out = mlp(params, x_a, self.activation)
        s_raw, t = out[:, :self.split.d_b], out[:, self.split.d_b:]
        if self.s_max is None:  # unbounded: eq. 3 exactly
            return s_raw, t
        return self.s_max * xp.tanh(s_raw / self.s_max), t

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
