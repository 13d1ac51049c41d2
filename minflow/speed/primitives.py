"""One autograd primitive per affine coupling layer, with a hand-written VJP.

``autograd`` differentiates a function by recording every NumPy call it makes and
replaying their VJPs backwards. For a coupling layer that is ~20 calls, each with
boxing, bookkeeping and a generic VJP (for slicing: ``np.add.at`` into zeros; for
ReLU: ``np.maximum``'s VJP with two masks) - at small sizes most of the time is this
bookkeeping, not arithmetic. Here autograd sees *one* call per coupling,

    coupling(x, cache, layer, params_k) -> (y, ld)

whose VJP is the hand-derived backward pass of ``speed/manual.py``. Everything
else in the flow (permutations, ActNorm, LU layers, the prior) is traced by autograd
as before, so the ``"primitives"`` engine differentiates *any* flow; it is only faster
where couplings dominate. A flow of couplings only (the thesis's RealNVP) needs no autograd
at all: ``primitive_value_and_grad`` hands it to ``manual``'s backward pass directly.

The ``cache`` argument is an empty dict that the forward fills with its intermediates
(hidden activations, tanh, exp) and the VJP reads back: autograd passes arguments to
the VJP maker unchanged, so nothing is recomputed. The VJP itself is plain NumPy, so these
primitives give first derivatives only (all that training needs); for second derivatives use
the reference engine (``flow.mean_nll``), which autograd differentiates any number of times.
"""
from autograd import value_and_grad
from autograd.extend import defvjp_argnums, primitive

from ..backend import namespace
from ..bijectors import AffineCoupling
from ..prior import standard_normal_log_prob
from . import manual, parallel
from ._arrays import couplings_only


@primitive
def coupling(x, cache, layer, params):
    """Affine coupling forward (eq. 3, 6): x: (N, D) -> (y: (N, D), ld: (N,)); fills ``cache``."""
    y, ld, cache_ = manual.coupling_forward(layer, params, x)
    cache.update(cache_)
    return y, ld


def _coupling_vjp(argnums, ans, args, kwargs):
    x, cache, layer, params = args

    def vjp(g):
        g_y, g_ld = g
        grads, g_x = manual.coupling_backward(layer, params, cache, g_y, g_ld, need_gx=0 in argnums)
        return tuple(g_x if i == 0 else grads for i in argnums)

    return vjp


defvjp_argnums(coupling, _coupling_vjp)


def forward_pass_primitives(layers, params, x):
    """Like ``flow.forward_pass``, with one primitive per AffineCoupling."""
    log_det = 0.0
    for layer, p in zip(layers, params):
        if type(layer) is AffineCoupling:
            x, ld = coupling(x, {}, layer, p)
        else:
            x, ld = layer.forward(p, x)
        log_det = log_det + ld
    return x, log_det


def mean_nll_primitives(params, layers, x):
    """-(1/N) sum_n log p_theta(x_n) (eq. 15), through the coupling primitives."""
    z, log_det = forward_pass_primitives(layers, params, x)
    xp = namespace(z)
    return -xp.sum(standard_normal_log_prob(z) + log_det) / x.shape[0]


def primitive_value_and_grad(layers):
    """The training gradient of ``engine="primitives"``: autograd over the coupling primitives.

    A flow of affine couplings only is one primitive whose VJP is ``manual``'s backward pass, so
    autograd has nothing left to do: it is differentiated by that backward pass directly, with the
    rows split across both cores (``manual.mean_nll_and_grad_in_blocks``).
    """
    if couplings_only(layers):
        return lambda params, x: manual.mean_nll_and_grad_in_blocks(layers, params, x)
    vg = value_and_grad(mean_nll_primitives)

    def value_grad(params, x):
        with parallel.blas_one_thread():
            return vg(params, layers, x)
    return value_grad
