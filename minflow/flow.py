"""A normalizing flow: a composition of bijectors with a standard-normal prior.

    f = f_K o ... o f_1 maps data x to latent z (``forward``), and
    log p_theta(x) = log p_Z(f(x)) + sum_i log|det J_{f_i}|        (thesis eq. 2)

Generation draws z ~ p_Z and returns x = f^{-1}(z) (thesis section 2.1.4).

The pure functions ``forward_pass``, ``inverse_pass``, ``flow_log_prob`` and ``mean_nll`` take
the layers and a parameter list, so training can differentiate them; ``Flow`` is a thin holder
of (layers, params) with the checked, user-facing methods. Which code evaluates ``Flow.log_prob``
and the training gradient is ``flow.engine`` (see engine.py); these functions are the "reference"
engine, registered in train.py.
"""
import numpy as np

from . import bijectors
from . import engine as engines
from .backend import DEFAULT_BACKEND, namespace, to_backend, to_numpy
from .prior import standard_normal_log_prob, standard_normal_sample
from .replaceable import replaceable
from .spec import RealNVPSpec, make_spec
from .tree import tree_leaves, tree_map
from .validation import (check_batch, check_bool, check_dtype, check_int, check_memory, check_params, check_rng,
                         shape_paths, warn_if_far)

DEFAULT_CHUNK = 4096


def forward_pass(layers, params, x):
    """x: (N, D) -> z: (N, D), log_det: (N,), the sum of every layer's log|det J|."""
    log_det = 0.0
    for layer, p in zip(layers, params):
        x, ld = layer.forward(p, x)
        log_det = log_det + ld
    return x, log_det


def inverse_pass(layers, params, z):
    """z: (N, D) -> x: (N, D), log_det: (N,) of the inverse map (layers in reverse order)."""
    log_det = 0.0
    for layer, p in zip(reversed(layers), reversed(params)):
        z, ld = layer.inverse(p, z)
        log_det = log_det + ld
    return z, log_det


@replaceable  # the grader may check mean_nll with a stand-in for it (replaceable.py)
def flow_log_prob(layers, params, x):
    """log p_theta(x) = log p_Z(f(x)) + log|det J_f(x)| (eq. 2): x: (N, D) -> (N,) nats."""
    # BEGIN EXERCISE flow_log_prob: thesis eq. 2 (section 2.1): change of variables through forward_pass and the prior
    z, log_det = forward_pass(layers, params, x)
    return standard_normal_log_prob(z) + log_det
    # END EXERCISE


def mean_nll(params, layers, x):
    """The training loss: -(1/N) sum_i log p_theta(x_i), a Monte Carlo estimate of H(p, p_theta) (eq. 15)."""
    xp = namespace(x)
    # BEGIN EXERCISE mean_nll: thesis eq. 15 (section 4): the loss to minimise is the negative mean log-likelihood
    return -xp.sum(flow_log_prob(layers, params, x)) / x.shape[0]
    # END EXERCISE


def in_chunks(fn, x, chunk_size):
    """fn applied to blocks of ``chunk_size`` rows of x, the results joined: memory bounded for any N."""
    if len(x) <= chunk_size:
        return fn(x)
    parts = [fn(x[i:i + chunk_size]) for i in range(0, len(x), chunk_size)]
    xp = namespace(x)
    if isinstance(parts[0], tuple):
        return tuple(xp.concat([p[k] for p in parts], axis=0) for k in range(len(parts[0])))
    return xp.concat(parts, axis=0)


class Flow:
    """A flow: ``layers`` (bijector objects) and ``params`` (a list, one entry per layer).

    flow.forward(x)  x: (N, D) -> z: (N, D), log_det: (N,)   data -> latent
    flow.inverse(z)  z: (N, D) -> x: (N, D), log_det: (N,)   latent -> data
    flow.log_prob(x) x: (N, D) -> (N,) in nats
    flow.sample(n, rng) -> (n, D)
    flow.engine       which code computes log_prob and the training gradient (engine.py)
    """

    def __init__(self, layers, params=None, *, dim=None, rng=None, dtype="float64", engine=None):
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, bijectors.Bijector):
                raise TypeError(f"layers[{i}]: expected a Bijector, got {type(layer).__name__}")
        dims = {layer.dim for layer in layers}
        if dim is not None:
            dims.add(check_int(dim, "dim", minimum=1))
        if len(dims) > 1:
            raise ValueError(f"layers, dim: all layers must have the same dim, got dims {sorted(dims)}")
        self.layers = layers
        self.dtype = check_dtype(dtype)
        self.dim = dims.pop() if dims else None
        if params is None:
            if rng is None and layers:
                raise TypeError("rng: a numpy.random.Generator is needed to initialise the parameters "
                                "(e.g. rng=np.random.default_rng(0)), or pass params")
            params = [layer.init(check_rng(rng), self.dtype) for layer in layers]
        else:
            params = check_params(layers, params)  # shapes and finiteness, named: params[i][j][k]
        self.params = list(params)
        self.needs_data_init = any(hasattr(layer, "data_init") for layer in layers)
        self.engine = engine
        self.backend = "numpy"
        self.spec = None  # a RealNVP's RealNVPSpec (spec.py); a Flow of hand-picked layers has none
        if DEFAULT_BACKEND == "cupy":  # $MINFLOW_BACKEND=cupy (read once, backend.py): every new flow on the GPU
            self.to("cupy")

    @property
    def engine(self):
        """Name of the engine that computes log_prob and the training gradient (see engine.py)."""
        return self._engine

    @engine.setter
    def engine(self, name):
        name = engines.default() if name is None else name
        engines.get(name)
        self._engine = name

    # --- the maps -----------------------------------------------------------
    def _check(self, x, name):
        if self.dim is None:
            raise ValueError("this flow has no layers and no dim: build it as Flow([], dim=D)")
        if self.backend == "cupy":
            return check_batch(to_backend(x, "cupy"), self.dim, name, self.dtype)
        x = check_batch(x, self.dim, name, self.dtype)
        warn_if_far(x, name, self.dtype)
        return x

    @staticmethod
    def _chunk_size(chunk_size):
        return None if chunk_size is None else check_int(chunk_size, "chunk_size", minimum=1)

    @staticmethod
    def _finite(result, x, name):
        """``result`` if every number is finite; else a ValueError naming the input that was too far out."""
        xp = namespace(x)
        for r in result if isinstance(result, tuple) else (result,):
            if not bool(xp.all(xp.isfinite(r))):
                raise ValueError(f"{name}: gives non-finite values in {x.dtype} (|{name}| up to "
                                 f"{float(xp.max(xp.abs(x))):.3g}): too far out for the working precision")
        return result

    def forward(self, x, chunk_size=None):
        """Data -> latent: x: (N, D) -> z: (N, D), log_det: (N,) = log|det df/dx|."""
        x, size = self._check(x, "x"), self._chunk_size(chunk_size) or DEFAULT_CHUNK
        with np.errstate(over="ignore", invalid="ignore"):
            return self._finite(in_chunks(lambda c: forward_pass(self.layers, self.params, c), x, size), x, "x")

    def inverse(self, z, chunk_size=None):
        """Latent -> data: z: (N, D) -> x: (N, D), log_det: (N,) = log|det df^{-1}/dz|."""
        z, size = self._check(z, "z"), self._chunk_size(chunk_size) or DEFAULT_CHUNK
        with np.errstate(over="ignore", invalid="ignore"):
            return self._finite(in_chunks(lambda c: inverse_pass(self.layers, self.params, c), z, size), z, "z")

    def log_prob(self, x, chunk_size=None, *, finite=True):
        """log p_theta(x) in nats (eq. 2): x: (N, D) -> (N,), evaluated in chunks of rows
        (memory bounded for any N) by the engine ``self.engine``.

        finite=False: values that overflow are returned as they are (inf, NaN) instead of raising;
        for code that watches a diverging model (``fit``, the regime sweep)."""
        x, size = self._check(x, "x"), self._chunk_size(chunk_size)
        with np.errstate(over="ignore", invalid="ignore"):
            out = engines.get(self._engine).log_prob(self.layers, self.params, x, size)
        return self._finite(out, x, "x") if check_bool(finite, "finite") else out

    score_samples = log_prob  # the scikit-learn name

    def sample(self, n, rng):
        """x = f^{-1}(z), z ~ N(0, I) (section 2.1.4): returns (n, D)."""
        z = standard_normal_sample(n, self.dim, rng, self.dtype)
        return self.inverse(z)[0]

    def trace(self, x):
        """Every layer's output, log-det and (for couplings) s and t: a list of dicts.

        Entry i: {"layer": repr, "input": (N, D), "output": (N, D), "log_det": (N,)}, plus
        "s": (N, d_b) and "t": (N, d_b) for an affine coupling, "t" for an additive one.
        """
        h = self._check(x, "x")
        out = []
        for layer, p in zip(self.layers, self.params):
            entry = {"layer": repr(layer), "input": h}
            if hasattr(layer, "scale_shift"):
                entry["s"], entry["t"] = layer.scale_shift(p, layer.split.split(h)[0])
            elif hasattr(layer, "shift"):
                entry["t"] = layer.shift(p, layer.split.split(h)[0])
            h, entry["log_det"] = layer.forward(p, h)
            entry["output"] = h
            out.append(entry)
        return out

    # --- bookkeeping --------------------------------------------------------
    def data_init(self, x):
        """Set data-dependent parameters (ActNorm) from the batch x: (N, D); idempotent."""
        h = self._check(x, "x")
        params = []
        for layer, p in zip(self.layers, self.params):
            if hasattr(layer, "data_init") and self.needs_data_init:
                p = layer.data_init(to_numpy(h))
            params.append(p)
            h = layer.forward(p, h)[0]
        self.params, self.needs_data_init = params, False
        return self

    @property
    def n_params(self):
        """Number of trainable scalars."""
        return int(sum(np.size(a) for a in tree_leaves(self.params)))

    def config(self):
        """JSON-ready description of the architecture and the engine (not the parameter values); a
        RealNVP adds the ``spec`` it was built from."""
        config = {"dim": self.dim, "dtype": np.dtype(self.dtype).name, "engine": self.engine,
                  "needs_data_init": self.needs_data_init, "layers": [layer.config() for layer in self.layers]}
        if self.spec is not None:
            config["spec"] = self.spec.to_dict()
        return config

    @classmethod
    def from_config(cls, config, params=None):
        """Rebuild a flow from ``config()``; without ``params`` they are fresh placeholders (seed 0).

        The layers are rebuilt from their own configs (a random permutation keeps its order); a
        recorded ``spec`` is checked and kept as ``flow.spec``."""
        rng = np.random.default_rng(0) if params is None else None
        flow = Flow([bijectors.from_config(c) for c in config["layers"]], params=params, rng=rng,
                    dim=config.get("dim"), dtype=config.get("dtype", "float64"), engine=config.get("engine"))
        flow.needs_data_init = check_bool(config.get("needs_data_init", False), "needs_data_init")
        flow.spec = RealNVPSpec.from_dict(config["spec"], "spec") if config.get("spec") is not None else None
        return flow

    def astype(self, dtype):
        """A copy of this flow with parameters cast to float32 or float64."""
        dt = check_dtype(dtype)
        flow = Flow(self.layers, tree_map(lambda a: a.astype(dt), self.params), dim=self.dim, dtype=dt,
                    engine=self.engine)
        flow.needs_data_init, flow.spec = self.needs_data_init, self.spec
        return flow

    def to(self, backend):
        """Move the parameters to "numpy" or "cupy"; returns self."""
        self.params = tree_map(lambda a: to_backend(a, backend), self.params)
        self.backend = backend
        return self

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return (f"{type(self).__name__}(dim={self.dim}, dtype={np.dtype(self.dtype).name}, engine={self.engine!r}, "
                f"layers=[\n  {inner}])")


class RealNVP(Flow):
    """The thesis's core model: K affine coupling layers, halves alternating, N(0, I) prior.

    RealNVP(dim, n_layers=8, hidden=(64, 64), rng=np.random.default_rng(0))
    RealNVP(dim, spec=RealNVPSpec(...), rng=rng)      # every option in one record (spec.py)

    The options, their defaults and what they build are the fields of ``RealNVPSpec``: beyond the
    core model (the extensions of the thesis's appendix D) ``coupling="additive"`` (NICE),
    ``mask="alternate"``, ``permutation="reverse"|"random"`` between couplings, ``actnorm=True`` and
    ``lu=True`` (Glow's step: ActNorm, LU linear, coupling); ``s_max``, the bound of the affine couplings'
    log-scale, s = s_max tanh(s_raw / s_max); ``s_max=None``: unbounded, s = s_raw (eq. 3 exactly).
    Options given as arguments replace those of ``spec``. ``flow.spec`` is the record it was built from.
    A new RealNVP is the identity map (zero-initialised last conditioner layer).
    """

    def __init__(self, dim, n_layers=None, hidden=None, *, rng, spec=None, dtype="float64", engine=None, **options):
        dim = check_int(dim, "dim", minimum=2)
        rng = check_rng(rng)
        given = {k: v for k, v in (("n_layers", n_layers), ("hidden", hidden)) if v is not None}
        spec = make_spec(spec, **given, **options)
        layers = spec.layers(dim, rng)
        n = sum(int(np.prod(s)) for layer in layers for _, s in shape_paths(layer.param_shapes()))
        check_memory(n * np.dtype(check_dtype(dtype)).itemsize, "hidden",
                     f"a flow of {n:,} parameters ({spec.n_layers} couplings of widths {spec.hidden}, dim {dim})")
        super().__init__(layers, rng=rng, dtype=dtype, engine=engine)
        self.spec = spec
