"""The grader's own implementations of the exercises: used to isolate one exercise from the
others (patched in for the student's functions that a check does not grade) and to build test
layers. Each keeps the name of the library function it stands in for, except the loss,
``reference_mean_nll``.

The formulas are written here, with ``autograd.numpy`` so that Jacobians can be taken; what is
no exercise comes from the library: the activation table (``minflow.conditioner.ACTIVATIONS``)
and ``LOG_2PI`` (``minflow.prior``). Those imports bind the TEACHER's copy: ``runner.py`` imports
this package before it puts the student's workspace on ``sys.path`` (see its docstring).
"""
import autograd.numpy as anp

from ...conditioner import ACTIVATIONS
from ...prior import LOG_2PI


def mlp(params, x, activation="relu"):
    act = ACTIVATIONS[activation].value
    h = x
    for k, (W, b) in enumerate(params):
        h = anp.dot(h, W) + b
        if k + 1 < len(params):
            h = act(anp, h)
    return h


def affine_forward(x_b, s, t):
    return anp.exp(s) * x_b + t


def affine_inverse(y_b, s, t):
    return anp.exp(-s) * (y_b - t)


def affine_log_det(s):
    return anp.sum(s, axis=-1)


def additive_forward(x_b, t):
    return t + x_b


def additive_inverse(y_b, t):
    return -t + y_b


def normal_log_prob(z):
    return -0.5 * anp.sum(z**2, axis=1) - 0.5 * z.shape[1] * LOG_2PI


def flow_log_prob(layers, params, x):
    log_det = anp.zeros(x.shape[0])
    for layer, p in zip(layers, params):
        x, ld = layer.forward(p, x)
        log_det = log_det + ld
    return normal_log_prob(x) + log_det


def reference_mean_nll(params, layers, x):
    """The training loss of eq. 15, -(1/N) sum_i log p_theta(x_i), on ``flow_log_prob`` of this module."""
    return -anp.mean(flow_log_prob(layers, params, x))


def random_params(shapes, rng, scale=0.5):
    """A list of (W, b) with the given shapes, entries scale * N(0, 1)."""
    return [(scale * rng.standard_normal(w), scale * rng.standard_normal(b)) for w, b in shapes]


def mlp_shapes(sizes):
    return [((m, n), (n,)) for m, n in zip(sizes[:-1], sizes[1:])]


def grader_layers(bijector_base):
    """Two bijectors defined here (not exercises) as subclasses of the student's ``Bijector``,
    so that ``Flow`` accepts them: an elementwise scale-and-shift and a dense linear map."""

    class ScaleShift(bijector_base):
        """z = x * exp(a) + b, log|det J| = sum(a); params (a, b)."""

        def __init__(self, dim):
            self.dim = dim

        def forward(self, params, x):
            a, b = params
            return x * anp.exp(a) + b, anp.sum(a) * anp.ones(x.shape[0])

        def inverse(self, params, z):
            a, b = params
            return (z - b) * anp.exp(-a), -anp.sum(a) * anp.ones(z.shape[0])

        def config(self):
            return {"type": "GraderScaleShift", "dim": self.dim}

    class Dense(bijector_base):
        """z = x @ A, log|det J| = log|det A|; params (A,)."""

        def __init__(self, dim):
            self.dim = dim

        def forward(self, params, x):
            (A,) = params
            return anp.dot(x, A), anp.linalg.slogdet(A)[1] * anp.ones(x.shape[0])

        def inverse(self, params, z):
            (A,) = params
            return anp.dot(z, anp.linalg.inv(A)), -anp.linalg.slogdet(A)[1] * anp.ones(z.shape[0])

        def config(self):
            return {"type": "GraderDense", "dim": self.dim}

    return ScaleShift, Dense
