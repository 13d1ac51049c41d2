"""Input checks that fail early with a message naming the argument.

A flow fed a wrong shape would otherwise broadcast silently or fail deep
inside NumPy; a NaN would propagate into every log-density. Everything that
enters the library from a user goes through these functions first.
"""
import numbers
import os
import warnings

import numpy as np

from .backend import namespace
from .tree import tree_paths

FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}


def check_dtype(dtype, name="dtype"):
    """Return ``np.float32`` or ``np.float64``; anything else is a ``ValueError``."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{name}: expected float32 or float64, got {dtype!r}") from err
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{name}: expected float32 or float64, got {dt}")
    return dt.type


def check_int(value, name, minimum=None):
    """Return ``value`` as an int, checking type and lower bound."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def check_positive(value, name):
    """Return ``value`` as a float, requiring a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {value}")
    return float(value)


def check_bool(value, name):
    """``value`` if it is exactly True or False (a string such as "no" is not a boolean)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_permutation(perm, name="perm", dim=None):
    """``perm`` as an int64 array holding each of 0..D-1 exactly once."""
    arr = np.asarray(perm)
    if arr.ndim != 1 or arr.dtype.kind not in "iu" or (dim is not None and len(arr) != dim):
        want = f"of length {dim}" if dim is not None else "1-D"
        raise ValueError(f"{name}: expected an integer array {want}, got {arr.dtype} of shape {arr.shape}")
    if not np.array_equal(np.sort(arr), np.arange(len(arr))):
        raise ValueError(f"{name}: expected a permutation of 0..{len(arr) - 1}, got {arr.tolist()[:20]}")
    return arr.astype(np.int64)


def check_hidden(hidden, name="hidden"):
    """Hidden-layer widths as a tuple of ints >= 1 (an int is one layer)."""
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"{name}: expected a sequence of layer widths, got {hidden!r}")
    return tuple(check_int(h, f"{name}[{i}]", minimum=1) for i, h in enumerate(hidden))


def check_rng(rng, name="rng"):
    """Require an explicit ``numpy.random.Generator`` (no global seeding anywhere)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name}: expected a numpy.random.Generator (e.g. np.random.default_rng(0)), "
            f"got {type(rng).__name__}"
        )
    return rng


def check_batch(x, dim=None, name="x", dtype=np.float64, allow_empty=False):
    """Validate a batch of points and return it as a float array.

    x: (N, D) array-like; integers and booleans are converted to ``dtype``.
    Raises TypeError for object, complex or string data; ValueError for a wrong
    number of dimensions or features, an empty batch, NaN or inf.
    Arrays of another backend (CuPy) are checked the same way and kept there.
    """
    if type(x).__module__.startswith("cupy"):
        return _check_device_batch(x, dim, name, dtype, allow_empty)
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{name}: could not be read as an array ({err})") from err
    kind = arr.dtype.kind
    if kind in "OUSV":
        raise TypeError(f"{name}: expected real numbers, got an array of dtype {arr.dtype}")
    if kind == "c":
        raise TypeError(f"{name}: expected real numbers, got complex dtype {arr.dtype}")
    if arr.ndim != 2:
        want = f"(N, {dim})" if dim is not None else "(N, D)"
        raise ValueError(f"{name}: expected a 2-D array of shape {want}, got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name}: expected {dim} features (shape (N, {dim})), got shape {arr.shape}")
    if arr.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name}: empty batch (shape {arr.shape}); need at least one row")
    if kind == "f" and not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(f"{name}: contains {bad} NaN or infinite value(s)")
    with np.errstate(over="ignore"):
        out = arr.astype(dtype, copy=False)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name}: values up to {np.max(np.abs(arr)):.3g} overflow {np.dtype(dtype).name}, "
                         f"the working dtype (largest {np.finfo(dtype).max:.3g})")
    return out


def warn_if_far(x, name, dtype):
    """Warn when |x| is so large that the round trip and log-density lose their precision.

    The coupling's shift t(x_a) grows with |x|, and x_b = (y_b - t) exp(-s) then subtracts two
    large numbers: the error of the round trip is about |x| * eps (relative precision of the
    dtype) times the network's gain. Beyond 1/sqrt(eps) (6.7e7 in float64, 2.9e3 in float32)
    that is no longer small; beyond sqrt(max) (1.3e154, 1.8e19) ||z||^2 overflows to inf.
    Python shows a warning once per place in the code that triggers it.
    """
    limit = np.finfo(dtype).eps ** -0.5
    biggest = max(float(x.max()), -float(x.min())) if x.size else 0.0  # no copy of x
    if biggest > limit:
        warnings.warn(f"{name}: |{name}| reaches {biggest:.3g}, beyond {limit:.3g} for {np.dtype(dtype).name}: "
                      f"the round trip and the log-density lose precision this far out (relative error grows "
                      f"like |{name}| * eps); standardise the data or use float64", RuntimeWarning, stacklevel=4)


def _check_device_batch(x, dim, name, dtype, allow_empty):
    import cupy

    if x.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected real numbers, got dtype {x.dtype}")
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        raise ValueError(f"{name}: expected shape (N, {dim}), got shape {x.shape}")
    if x.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name}: empty batch (shape {x.shape}); need at least one row")
    x = x.astype(dtype, copy=False)
    if not bool(cupy.all(cupy.isfinite(x))):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return x


def physical_memory():
    """Bytes of memory of this machine (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(n_bytes, name, what):
    """A ValueError naming ``name`` when ``what`` needs ``n_bytes``, more than this machine's memory: a request
    that can never fit fails at once, by name, not as a MemoryError (or the OOM killer) deep inside NumPy."""
    total = physical_memory()
    if total is not None and n_bytes > total:
        raise ValueError(f"{name}: {what} needs {n_bytes / 2**30:,.1f} GiB, more than this machine's "
                         f"{total / 2**30:,.1f} GiB of memory")


def check_params(layers, params, name="params"):
    """``params`` as a list, one tree per layer, every array of the shape ``layer.param_shapes()`` names
    (same structure, same order) and finite; else a ValueError naming ``params[i]`` and the array's path."""
    if isinstance(params, (str, bytes, dict)) or not hasattr(params, "__len__"):
        raise TypeError(f"{name}: expected a list with one parameter tree per layer, got {type(params).__name__}")
    params = list(params)
    if len(params) != len(layers):
        raise ValueError(f"{name}: expected {len(layers)} entries (one per layer), got {len(params)}")
    for i, (layer, tree) in enumerate(zip(layers, params)):
        want, got = shape_paths(layer.param_shapes()), tree_paths(tree)
        if [p for p, _ in got] != [p for p, _ in want]:
            raise ValueError(f"{name}[{i}]: expected the {len(want)} arrays of {layer!r} "
                             f"({[s for _, s in want][:4]}...), got {len(got)} entries")
        for (path, a), (_, shape) in zip(got, want):
            where = f"{name}[{i}]" + "".join(f"[{k}]" for k in path.split("/") if k)
            if tuple(getattr(a, "shape", ())) != shape or not hasattr(a, "dtype") or a.dtype.kind != "f":
                raise ValueError(f"{where}: expected a float array of shape {shape}, got "
                                 f"{type(a).__name__} {getattr(a, 'dtype', '')}{getattr(a, 'shape', '')}")
            xp = namespace(a)
            if not bool(xp.all(xp.isfinite(a))):
                raise ValueError(f"{where}: contains NaN or infinite values")
    return params


def shape_paths(tree, prefix=""):
    """(path, shape) pairs of a tree of shape tuples, the paths as ``tree.tree_paths`` names arrays."""
    if isinstance(tree, tuple) and tree and all(isinstance(n, int) for n in tree):
        return [(prefix.rstrip("/"), tree)]
    if isinstance(tree, dict):
        return [pl for k in sorted(tree) for pl in shape_paths(tree[k], f"{prefix}{k}/")]
    return [pl for i, t in enumerate(tree) for pl in shape_paths(t, f"{prefix}{i}/")]
