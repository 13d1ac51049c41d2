"""Fast evaluation of log p_theta(x): the same numbers as ``flow.log_prob``, fewer passes over memory.

The reference ``flow.log_prob`` (eq. 2) allocates a new array for every operation:
per hidden layer ``h @ W`` (matmul), ``+ b`` (a pass), ``maximum`` (a pass), and for the
coupling ``/ s_max``, ``tanh``, ``* s_max``, ``exp``, ``*``, ``+``. On a CPU the matrix
products run on every core but NumPy's elementwise functions on one, so every pass
we remove and every allocation we avoid is time. Here, for each chunk of rows:

* biases are *folded* into the products: a hidden buffer has one extra column of
  ones, and ``[h | 1] @ [[W], [b]] = h W + b`` - the bias costs no pass of its own;
* ReLU runs in place over the whole buffer (the ones column stays 1 = ReLU(1));
* ``1 / s_max`` is folded into the output layer's s-columns, so s = c tanh(o_s);
* x_b is overwritten by ``x_b * exp(s) + t`` in place (eq. 3);
* all buffers are allocated once per call and reused by every layer and chunk,
  so evaluating 1,000,000 points needs memory for one chunk, not for 10^6 rows.

Layers other than AffineCoupling are applied with their own ``forward``.
Runs on NumPy or CuPy arrays (both have ``out=``). Checked against the reference in tests.
"""
import math

from .bijectors import AffineCoupling
from .engines import array_module

LOG_2PI = math.log(2.0 * math.pi)
ENABLED = True     # False: Flow.log_prob runs the reference code (e.g. to test one's own exercises)
BEST_CHUNK = 2048  # rows per chunk: buffers stay in cache-friendly sizes (see benchmarks/RESULTS.md)


def fold_coupling(layer, params, xp):
    """Augmented weights [[W], [b]] for every layer; s-columns of the last divided by s_max."""
    folded = [xp.concatenate([W, b[None, :]], axis=0) for W, b in params]
    last = folded[-1].copy()
    last[:, :layer.split.d_b] /= layer.s_max
    folded[-1] = last
    return folded


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


def _coupling_in_place(layer, folded, z, ld, buf):
    """z <- coupling(z) in place, ld += its log-det. z: (n, D) contiguous, ld: (n,)."""
    xp, n = array_module(z), z.shape[0]
    split = layer.split
    x_a, x_b = split.split(z)
    h = buf.get("in", n, split.d_a, ones_column=True)
    h[:, :split.d_a] = x_a
    for l, Wb in enumerate(folded[:-1]):
        out = buf.get(l, n, Wb.shape[1], ones_column=True)
        xp.matmul(h, Wb, out=out[:, :-1])                  # h W + b (bias folded)
        _activation(xp, layer.activation, out)             # in place; act(1) = 1 keeps the ones column
        h = out
    o = buf.get("out", n, folded[-1].shape[1])
    xp.matmul(h, folded[-1], out=o)
    d_b = split.d_b
    th, t = o[:, :d_b], o[:, d_b:]
    xp.tanh(th, out=th)                                    # s = s_max * tanh(u / s_max)
    ld += layer.s_max * xp.sum(th, axis=1)                 # eq. 6
    th *= layer.s_max
    e = xp.exp(th, out=th)
    if split.mask == "half":                               # x_b is a view of z: update in place
        x_b *= e
        x_b += t                                           # eq. 3
    else:
        z[:, split.idx_b] = x_b * e + t


def _activation(xp, name, h):
    """act(h) in place; each keeps 1 -> 1 except tanh and elu, whose ones column is restored."""
    if name == "relu":
        xp.maximum(h, 0, out=h)
    elif name == "leaky_relu":
        xp.maximum(h, 0.01 * h, out=h)
    else:
        if name == "tanh":
            xp.tanh(h, out=h)
        else:
            h[...] = xp.where(h > 0, h, xp.expm1(xp.minimum(h, 0)))
        h[:, -1] = 1


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


def log_prob(layers, params, x, chunk_size=None):
    """log p_theta(x) = log N(f(x); 0, I) + sum_k log|det J_k| (eq. 2), evaluated in place.

    x: (N, D) NumPy or CuPy array -> (N,) nats. Peak extra memory ~ chunk_size * (D + widths)
    numbers, independent of N. Same values as ``flow.log_prob`` (to rounding).
    """
    xp = array_module(x)
    chunk = int(chunk_size or BEST_CHUNK)
    prepared = [fold_coupling(layer, p, xp) if type(layer) is AffineCoupling else p
                for layer, p in zip(layers, params)]
    buf = _Buffers(xp, x.dtype)
    out = xp.empty(x.shape[0], dtype=x.dtype)
    for i in range(0, x.shape[0], chunk):
        out[i:i + chunk] = _log_prob_chunk(layers, prepared, x[i:i + chunk], buf)
    return out
