"""Save and load a flow: parameter arrays in ``.npz``, architecture in JSON.

A checkpoint is one ``.npz`` file holding every parameter array (named by its path in the
parameter tree, e.g. ``"p/3/0/1"``) and a ``__config__`` entry with the JSON description of
the layers. Loading rebuilds the layers from the JSON and the exact arrays, so ``log_prob`` is
bit-identical after the round trip.

Saving is atomic: the file is written under a temporary name in the same folder, flushed to
disk and renamed over the target, so a failed save (a full disk, a killed process) leaves the
old checkpoint intact, and a reader never sees a half-written file. Loading trusts nothing in
the file: the archive's directory and every array's header are read first (``archive``), and
the names, shapes and dtypes the configuration calls for are checked against them before any
array's data is read; every failure is a ``ValueError`` naming the file.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from . import bijectors
from .archive import Archive
from .backend import to_numpy
from .flow import Flow
from .tree import tree_paths
from .validation import check_dtype, shape_paths

FORMAT = "minflow-checkpoint-1"
MAX_CONFIG_BYTES = 1 << 20  # the JSON of the layers: a few kB for any real flow


def save(flow, path):
    """Write ``flow`` to ``path`` (a ``.npz`` file; the suffix is added if missing). Returns the path."""
    if not isinstance(flow, Flow):
        raise TypeError(f"flow: expected a minflow Flow, got {type(flow).__name__}")
    path = _check_path(path)
    arrays = {f"p/{k}": to_numpy(v) for k, v in tree_paths(flow.params)}
    bad = [k for k, a in arrays.items() if not np.all(np.isfinite(a))]
    if bad:
        raise ValueError(f"flow: parameters {bad[:5]} contain NaN or infinite values; not saving a broken model")
    config = {"format": FORMAT, "flow": flow.config()}
    arrays["__config__"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    write_atomic(path, lambda f: np.savez(f, **arrays))
    return path


def write_atomic(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The temporary name is unique per process and call; on any failure it is removed and the
    old ``path``, if any, is untouched.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; the file gets the mode open() would give
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError) and err.errno is not None:  # a full disk, say: named by the file meant
            raise OSError(err.errno, f"cannot write {path} ({err.strerror})") from None
        raise


def _umask():
    """The process's umask, read without changing it (Linux: /proc; elsewhere set and restored at once)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_path(path):
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path: expected a file name (str or os.PathLike), got {type(path).__name__}")
    path = os.fsdecode(os.fspath(path))
    if "\0" in path:
        raise ValueError(f"path: contains a NUL character ({path!r}); no file can have that name")
    if not path or os.path.isdir(path):
        raise ValueError(f"path: expected a file name, got {'an empty string' if not path else 'a directory'} "
                         f"({path!r})")
    path = path if path.endswith(".npz") else path + ".npz"
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"path: directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"path: {path!r} is a directory")
    return path


def load(path):
    """Read a flow written by ``save``. A missing, corrupt or inconsistent file is a ``ValueError``."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path: expected a file name (str or os.PathLike), got {type(path).__name__}")
    path = os.fsdecode(os.fspath(path))
    if "\0" in path:
        raise ValueError(f"path: contains a NUL character ({path!r}); no file can have that name")
    if not os.path.isfile(path):
        raise ValueError(f"path: no checkpoint file at {path!r}")
    try:
        return _rebuild(*_read(path))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, NotImplementedError, RecursionError,
            OverflowError, MemoryError, OSError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as err:
        raise ValueError(f"path: {path!r} is not a valid minflow checkpoint ({type(err).__name__}: {err})") from err


def _read(path):
    """(flow config, layers, {name: array}): the archive's directory, every array's header and the
    configuration are checked against each other before any parameter's data is read (``archive``)."""
    with Archive(path) as archive:
        config = _read_config(archive)
        layers, expected = _expected(config, archive.headers)
        arrays = {k: archive.read(k) for k in expected}
    return config, layers, arrays


def _read_config(archive):
    header = archive.headers.get("__config__")
    if header is None:
        raise ValueError("no __config__ entry (not written by minflow.save)")
    if header.dtype != np.uint8 or len(header.shape) != 1 or header.nbytes > MAX_CONFIG_BYTES:
        raise ValueError(f"__config__: expected at most {MAX_CONFIG_BYTES} bytes of JSON, got {header.dtype}{header.shape}")
    config = json.loads(archive.read("__config__").tobytes().decode())
    if not isinstance(config, dict) or config.get("format") != FORMAT or not isinstance(config.get("flow"), dict):
        raise ValueError(f"not a {FORMAT} file")
    return config["flow"]


def _expected(config, headers):
    """(layers, {name: shape}) the configuration calls for, required to be exactly what the headers declare."""
    layer_configs = config.get("layers")
    if not isinstance(layer_configs, list) or not layer_configs:
        raise ValueError("the configuration lists no layers")
    held = {k: h for k, h in headers.items() if k != "__config__"}
    _check_sizes(layer_configs, sum(h.nbytes // h.dtype.itemsize for h in held.values()))
    dtype = np.dtype(check_dtype(config.get("dtype", "float64")))
    layers = [bijectors.from_config(c) for c in layer_configs]
    expected = {f"p/{k}": shape for k, shape in shape_paths([layer.param_shapes() for layer in layers])}
    if set(expected) != set(held):
        missing, extra = sorted(set(expected) - set(held)), sorted(set(held) - set(expected))
        raise ValueError(f"arrays missing {missing[:5]} / not expected {extra[:5]}")
    for k, shape in expected.items():
        if held[k].shape != shape or held[k].dtype != dtype:
            raise ValueError(f"array {k!r}: expected {dtype}{shape}, got {held[k].dtype}{held[k].shape}")
    return layers, expected


def _rebuild(config, layers, arrays):
    """The flow around the checked arrays (each finite)."""
    for k, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise ValueError(f"array {k!r} contains NaN or infinite values")
    params = [_fill(layer.param_shapes(), arrays, f"p/{i}/") for i, layer in enumerate(layers)]
    return Flow.from_config(config, params=params)


def _check_sizes(layer_configs, held):
    """Sizes claimed by the JSON must fit what the file holds, before any layer allocates them.

    Every dimension and width of a real flow is bounded by the number of stored scalars (a
    coupling's biases alone hold D/2 + widths of them) or, for permutations, by the stored order."""
    for i, c in enumerate(layer_configs):
        if not isinstance(c, dict):
            raise ValueError(f"layer config {i}: expected a dict, got {type(c).__name__}")
        perm = c["perm"] if isinstance(c.get("perm"), list) else []
        sizes = [c.get("dim"), *(c["hidden"] if isinstance(c.get("hidden"), list) else [])]
        for n in sizes:
            if isinstance(n, int) and n > 2 * held + len(perm) + 2:
                raise ValueError(f"layer config {i}: size {n} is larger than anything stored in the file")


def _fill(shapes, arrays, prefix):
    """The parameter tree with the structure of ``shapes`` (lists of tuples), leaves from ``arrays``."""
    if isinstance(shapes, tuple) and all(isinstance(n, int) for n in shapes) and shapes:
        return arrays[prefix.rstrip("/")]
    return type(shapes)(_fill(s, arrays, f"{prefix}{i}/") for i, s in enumerate(shapes))


__all__ = ["save", "load", "write_atomic", "FORMAT"]
