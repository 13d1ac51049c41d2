"""The gradient of the flow's loss, derived by hand: backpropagation through RealNVP.

The loss of a mini-batch of N points (thesis eq. 15) is

    L = -(1/N) sum_n [ log N(z_n; 0, I) + sum_k ld_k(n) ],   z = f_K o ... o f_1 (x)      (eq. 2)

Backpropagation carries the *adjoint* g_v = dL/dv of every intermediate v from the
loss back to the parameters. For the loss itself:

    dL/dz_n    = z_n / N          (from -log N(z; 0, I) = ||z||^2 / 2 + const)
    dL/dld_k(n) = -1 / N          (every layer's log-det enters the sum with weight -1/N)

One affine coupling layer (forward = data -> latent, thesis eq. 3 and 6) computes

    h_0 = x_a
    a_l = h_{l-1} W_l + b_l,  h_l = act(a_l)         l = 1 .. L-1   (the MLP's hidden layers)
    o   = h_{L-1} W_L + b_L  = [u | t]                               (output layer, no activation)
    s   = c tanh(u / c)                                              (bounded log-scale, c = s_max)
          (s = u when s_max is None: the unbounded layer)
    y_b = x_b * exp(s) + t,   y_a = x_a,   ld = sum_j s_j            (eq. 3, eq. 6)

and the chain rule read backwards, line by line, gives (g_* are adjoints, * elementwise):

    g_t   = g_yb                                    (y_b depends on t with slope 1)
    g_xb  = g_yb * exp(s)                           (slope of y_b in x_b)
    g_s   = g_yb * x_b * exp(s) + g_ld              (y_b and ld both depend on s)
    g_u   = g_s * (1 - (s / c)^2)                   (d/du c tanh(u/c) = 1 - tanh^2(u/c); unbounded: g_u = g_s)
    g_o   = [g_u | g_t]
    g_W_l = h_{l-1}^T g_a_l,   g_b_l = sum_n g_a_l   (a_l = h_{l-1} W_l + b_l; g_a_L = g_o)
    g_h_{l-1} = g_a_l W_l^T,   g_a_{l-1} = g_h_{l-1} * act'(a_{l-1})
    g_xa  = g_ya + g_h_0                            (x_a reaches the output twice: copied, and via the MLP)

act'(a) is read off the stored h = act(a) (``conditioner.ACTIVATIONS``, the table every path
uses). The matrix products cost 2x the forward's, so a training step is about 3 forward passes
of work (the usual rule of thumb).

This module has no autograd in it: it runs on NumPy or CuPy arrays (``array_module``).
``tests/test_speed.py`` checks it against ``autograd.grad`` of the reference loss to 1e-8.
"""
import numpy as np

from ..conditioner import activation
from ..prior import LOG_2PI
from ..tree import tree_leaves, tree_unflatten
from . import parallel
from ._arrays import array_module, couplings_only

# The batch is split into at most 4 blocks of at least 128 rows (fewer, larger blocks keep the
# matrix products efficient; the split depends on the batch size only, never on the threads).
MIN_ROWS, MAX_BLOCKS = 128, 4


def coupling_forward(layer, params, x):
    """One affine coupling, keeping what the backward pass needs.

    x: (N, D) -> y: (N, D), ld: (N,), cache (a dict of the intermediates).
    Same numbers as ``AffineCoupling.forward`` (eq. 3, 6).
    """
    xp, act = array_module(x), activation(layer.activation)
    x_a, x_b = layer.split.split(x)
    hs = [x_a]
    for W, b in params[:-1]:
        a = xp.matmul(hs[-1], W)
        a += b
        hs.append(act.value(xp, a))
    W, b = params[-1]
    o = xp.matmul(hs[-1], W)
    o += b
    c, d_b = layer.s_max, layer.split.d_b
    if c is None:                             # unbounded: s = u
        th, s = None, o[:, :d_b]
        ld = xp.sum(s, axis=1)                # eq. 6
    else:
        th = xp.tanh(o[:, :d_b] / c)          # s = c * th
        s = c * th
        ld = c * xp.sum(th, axis=1)           # eq. 6
    e = xp.exp(s)                             # exp(s)
    y_b = x_b * e
    y_b += o[:, d_b:]                         # eq. 3: y_b = x_b exp(s) + t
    cache = dict(hs=hs, x_b=x_b, th=th, e=e)
    return layer.split.join(x_a, y_b), ld, cache


def coupling_backward(layer, params, cache, g_y, g_ld, need_gx=True):
    """Adjoints of one coupling: (g_y: (N, D), g_ld: (N,) or scalar) -> (grads like params, g_x or None).

    Implements the formulas in the module docstring, top to bottom.
    """
    xp, act = array_module(g_y), activation(layer.activation)
    hs, x_b, th, e = cache["hs"], cache["x_b"], cache["th"], cache["e"]
    g_ya, g_yb = layer.split.split(g_y)
    g_xb = g_yb * e                            # g_xb = g_yb * exp(s)
    g_u = g_xb * x_b                           # g_s = g_yb * x_b * exp(s) + g_ld
    g_u += g_ld if xp.ndim(g_ld) == 0 else g_ld[:, None]
    if th is not None:                         # bounded: g_u = g_s * (1 - (s/c)^2)
        g_u *= 1 - th * th                     # (unbounded: ds/du = 1, g_u = g_s)
    g = xp.concatenate([g_u, g_yb], axis=1)    # g_o = [g_u | g_t]
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        W, h_in = params[l][0], hs[l]
        grads[l] = (xp.matmul(h_in.T, g), xp.sum(g, axis=0))   # g_W = h^T g_a, g_b = sum_n g_a
        if l == 0 and not need_gx:
            return grads, None
        g = xp.matmul(g, W.T)                                   # g_h = g_a W^T
        if l > 0:
            g *= act.derivative(xp, h_in)                       # g_a = g_h * act'(a)
    g_xa = g_ya + g                                             # x_a: copied and through the MLP
    return grads, layer.split.join(g_xa, g_xb)


def mean_nll_and_grad(layers, params, x, n=None):
    """Mean NLL of the batch and its gradient, every step by hand.

    layers: AffineCoupling layers only; params: the flow's parameter list; x: (N, D).
    ``n``: the size of the whole batch when x is one block of it (default N), so that the
    blocks' results add up to the batch's. Returns (loss: float, grads with the structure of params).
    """
    xp = array_module(x)
    dim = x.shape[1]
    n = x.shape[0] if n is None else n
    caches, ld, z = [], 0.0, x
    for layer, p in zip(layers, params):
        z, ld_k, cache = coupling_forward(layer, p, z)
        ld = ld + ld_k
        caches.append(cache)
    log_p = -0.5 * xp.sum(z * z, axis=1) - 0.5 * dim * LOG_2PI + ld     # eq. 2
    loss = -float(xp.sum(log_p)) / n
    g, g_ld = z / n, -1.0 / n                                           # dL/dz, dL/dld_k
    grads = [None] * len(layers)
    for k in range(len(layers) - 1, -1, -1):
        grads[k], g = coupling_backward(layers[k], params[k], caches[k], g, g_ld, need_gx=k > 0)
    return loss, grads


def manual_value_and_grad(layers):
    """The training gradient of ``engine="manual"``: (params, x) -> (loss, grads), no autograd."""
    if not couplings_only(layers):
        kinds = sorted({type(layer).__name__ for layer in layers} - {"AffineCoupling"})
        raise ValueError(f"engine: 'manual' implements flows of AffineCoupling layers only; this flow also "
                         f"has {kinds}: use engine='primitives' or 'reference'")
    return lambda params, x: mean_nll_and_grad_in_blocks(layers, params, x)


def mean_nll_and_grad_in_blocks(layers, params, x):
    """``mean_nll_and_grad`` with the rows split into blocks run on both cores (parallel.py).

    The loss and its gradient are sums over rows, so each block's share is computed alone and
    the shares are added in block order: the same numbers for any number of threads.
    """
    if array_module(x) is not np:  # a GPU is parallel already
        return mean_nll_and_grad(layers, params, x)
    n = x.shape[0]
    shares = parallel.map_blocks(lambda a, b: mean_nll_and_grad(layers, params, x[a:b], n),
                                 parallel.blocks(n, max(MIN_ROWS, -(-n // MAX_BLOCKS))))
    loss, leaves = shares[0][0], tree_leaves(shares[0][1])
    for loss_k, grads_k in shares[1:]:
        loss = loss + loss_k
        for g, h in zip(leaves, tree_leaves(grads_k)):
            g += h                         # each share's arrays are its own: add in place
    return loss, tree_unflatten(shares[0][1], leaves)
