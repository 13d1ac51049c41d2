"""Evaluation of log p_theta(x) in place: the reference's numbers, fewer passes over memory.

The reference ``flow_log_prob`` (eq. 2) allocates a new array for every operation: per hidden
layer ``h @ W`` (matmul), ``+ b`` (a pass), the activation (a pass), and for the coupling
``/ s_max``, ``tanh``, ``* s_max``, ``exp``, ``*``, ``+``. On a CPU the matrix products run on
every core but NumPy's elementwise functions on one, so every pass removed is time. Here, for
each chunk of rows:

* biases are *folded* into the products: ``[h | 1] @ [[W, 0], [b, 1]] = [h W + b | 1]``, so the
  bias costs no pass of its own and the product writes the next layer's column of ones itself;
* every elementwise pass runs over a whole contiguous buffer (NumPy's fast loops; on a strided
  view of one it goes row by row, several times slower): ReLU, leaky ReLU and ELU map 1 to 1,
  so they run over the column of ones as well, and the output layer is split into an s-product
  and a t-product, each into an array of its own;
* ``1 / s_max`` is folded into the s-product, so s = s_max tanh(o_s)
  (an unbounded layer, ``s_max=None``: nothing folded, no tanh, s = o_s);
* x_b is overwritten by ``x_b * exp(s) + t`` in place (eq. 3);
* all buffers are allocated once per call and thread and reused by every layer and chunk, so
  evaluating 1,000,000 points needs memory for one chunk per thread, not for 10^6 rows;
* the chunks run on both cores (``parallel.py``): each thread has its own buffers.

Layers other than AffineCoupling are applied with their own ``forward``. Runs on NumPy or
CuPy arrays (both have ``out=``).
"""
import threading

import numpy as np

from ..bijectors import AffineCoupling
from ..conditioner import activation
from ..prior import LOG_2PI
from . import parallel
from ._arrays import array_module

BEST_CHUNK = 2048  # rows per chunk: buffers stay in cache-friendly sizes (see benchmarks/RESULTS.md)


def fold_coupling(layer, params, xp):
    """Augmented weights for every layer, biases folded in; s-columns of the last divided by s_max (if any).

    Hidden layers: [[W, 0], [b, 1]], so [h | 1] @ it = [h W + b | 1]: the product writes the next
    layer's column of ones itself, into a whole (contiguous) buffer. The last is split in two,
    [[W_s], [b_s]] and [[W_t], [b_t]], so s and t come out as contiguous arrays of their own."""
    *hidden, last = [xp.concatenate([W, b[None, :]], axis=0) for W, b in params]
    ones = [xp.zeros((Wb.shape[0], 1), dtype=Wb.dtype) for Wb in hidden]
    for one in ones:
        one[-1, 0] = 1
    hidden = [xp.concatenate([Wb, one], axis=1) for Wb, one in zip(hidden, ones)]
    d_b = layer.split.d_b
    last_s, last_t = xp.ascontiguousarray(last[:, :d_b]), xp.ascontiguousarray(last[:, d_b:])
    if layer.s_max is not None:  # bounded: s = s_max tanh(o_s), o_s = s_raw / s_max
        last_s /= layer.s_max
    return hidden + [last_s, last_t]


class _Buffers:
    """Scratch arrays (rows, cols) reused across layers and chunks; ``get`` returns a view of n rows."""

    def __init__(self, xp, dtype):
        self.xp, self.dtype, self.arrays = xp, dtype, {}

    def get(self, key, n, cols, ones_column=False):
        key = (key, cols)  # with odd D the halves alternate in size: one buffer for each
        a = self.arrays.get(key)
        if a is None or a.shape[0] < n:
            a = self.xp.empty((n, cols + ones_column), dtype=self.dtype)
            if ones_column:
                a[:, cols] = 1
            self.arrays[key] = a
        return a[:n]


KEEPS_ONE = ("relu", "leaky_relu", "elu")   # act(1) = 1: applied to the column of ones too, it stays ones


def _in_place(name, xp, a):
    """a <- act(a) over the whole buffer: ReLU without a temporary, the others by the one activation table."""
    if name == "relu":
        xp.maximum(a, 0, out=a)
    else:
        a[...] = activation(name).value(xp, a)


def _conditioner_output(layer, folded, x_a, buf):
    """The MLP's output s_raw / s_max (unbounded: s_raw) and t for x_a: (n, d_a) -> two (n, d_b), biases folded."""
    xp, n, act = array_module(x_a), x_a.shape[0], activation(layer.activation).value
    h = buf.get("in", n, x_a.shape[1], ones_column=True)
    h[:, :-1] = x_a
    keeps_one = layer.activation in KEEPS_ONE
    for i, Wb in enumerate(folded[:-2]):
        out = buf.get(i, n, Wb.shape[1])
        xp.matmul(h, Wb, out=out)            # [h W + b | 1], the bias folded
        if keeps_one:                        # act(1) = 1: the whole contiguous buffer in one pass
            _in_place(layer.activation, xp, out)
        else:
            out[:, :-1] = act(xp, out[:, :-1])
        h = out
    o_s, o_t = buf.get("s", n, folded[-2].shape[1]), buf.get("t", n, folded[-1].shape[1])
    return xp.matmul(h, folded[-2], out=o_s), xp.matmul(h, folded[-1], out=o_t)


def _coupling_in_place(layer, folded, z, ld, buf):
    """z <- coupling(z) in place (eq. 3), ld += its log-det (eq. 6). z: (n, D), ld: (n,)."""
    xp, split = array_module(z), layer.split
    s, t = _conditioner_output(layer, folded, split.split(z)[0], buf)
    if layer.s_max is None:                  # unbounded: s = s_raw
        ld += xp.sum(s, axis=1)              # eq. 6
    else:
        xp.tanh(s, out=s)                    # s = s_max * tanh(s_raw / s_max)
        ld += layer.s_max * xp.sum(s, axis=1)   # eq. 6
        s *= layer.s_max
    e = xp.exp(s, out=s)
    if split.mask == "half":                 # x_b is a block of columns: update it in place
        x_b = z[:, split.idx_b[0]:split.idx_b[-1] + 1]
        x_b *= e
        x_b += t                             # eq. 3
    else:
        z[:, split.idx_b] = z[:, split.idx_b] * e + t


def _log_prob_chunk(layers, prepared, x, buf):
    xp = array_module(x)
    z = buf.get("z", x.shape[0], x.shape[1])
    z[...] = x
    ld = xp.zeros(x.shape[0], dtype=x.dtype)
    for layer, p in zip(layers, prepared):
        if type(layer) is AffineCoupling:
            _coupling_in_place(layer, p, z, ld, buf)
        else:
            z2, ld_k = layer.forward(p, z)
            z[...] = z2
            ld += ld_k
    sq = xp.einsum("ij,ij->i", z, z) if xp.__name__ == "numpy" else xp.sum(z * z, axis=1)
    return -0.5 * sq - 0.5 * x.shape[1] * LOG_2PI + ld      # eq. 2


def log_prob_in_place(layers, params, x, chunk_size=None):
    """log p_theta(x) = log N(f(x); 0, I) + sum_k log|det J_k| (eq. 2), evaluated in place.

    x: (N, D) NumPy or CuPy array -> (N,) nats. Peak extra memory ~ chunk_size * (D + widths)
    numbers, independent of N. Same values as the reference ``flow_log_prob`` (to rounding).
    """
    xp = array_module(x)
    prepared = [fold_coupling(layer, p, xp) if type(layer) is AffineCoupling else p
                for layer, p in zip(layers, params)]
    out = xp.empty(x.shape[0], dtype=x.dtype)
    local = threading.local()  # one set of buffers per thread

    def run(a, b):
        if not hasattr(local, "buf"):
            local.buf = _Buffers(xp, x.dtype)
        out[a:b] = _log_prob_chunk(layers, prepared, x[a:b], local.buf)

    spans = parallel.blocks(x.shape[0], chunk_size or BEST_CHUNK)
    if xp is np:
        parallel.map_blocks(run, spans)
    else:  # a GPU is parallel already
        for a, b in spans:
            run(a, b)
    return out
