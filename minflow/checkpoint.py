"""Save and load a flow: parameter arrays in ``.npz``, architecture in JSON.

A checkpoint is one ``.npz`` file holding every parameter array (named by its
path in the parameter tree, e.g. ``"3/0/1"``) and a ``__config__`` entry with
the JSON description of the layers. Loading rebuilds the layers from the JSON
and the exact arrays, so ``log_prob`` is bit-identical after the round trip.
"""
import json
import os
import zipfile

import numpy as np

from .backend import to_numpy
from .flow import Flow
from .tree import tree_paths

FORMAT = "minflow-checkpoint-1"


def save(flow, path):
    """Write ``flow`` to ``path`` (a ``.npz`` file; the suffix is added if missing). Returns the path."""
    if not isinstance(flow, Flow):
        raise TypeError(f"flow: expected a minflow Flow, got {type(flow).__name__}")
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    config = {"format": FORMAT, "flow": flow.config()}
    arrays = {f"p/{k}": to_numpy(v) for k, v in tree_paths(flow.params)}
    arrays["__config__"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"path: directory {directory!r} does not exist")
    np.savez(path, **arrays)
    return path


def load(path):
    """Read a flow written by ``save``. A missing or corrupt file is a clear ``ValueError``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"path: no checkpoint file at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        config = json.loads(bytes(arrays.pop("__config__")).decode())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, EOFError) as err:
        raise ValueError(f"path: {path!r} is not a readable minflow checkpoint ({err})") from err
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"path: {path!r} is not a {FORMAT} file")
    try:
        template = Flow.from_config(config["flow"])
        params = _fill(template.params, arrays, "")
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"path: {path!r} has a corrupt configuration or is missing arrays ({err})") from err
    flow = Flow.from_config(config["flow"], params=params)
    return flow


def _fill(template, arrays, prefix):
    """Rebuild the parameter tree of ``template`` from the saved arrays, checking shapes."""
    if isinstance(template, dict):
        return {k: _fill(template[k], arrays, f"{prefix}{k}/") for k in template}
    if isinstance(template, (list, tuple)):
        return type(template)(_fill(t, arrays, f"{prefix}{i}/") for i, t in enumerate(template))
    key = "p/" + prefix.rstrip("/")
    if key not in arrays:
        raise KeyError(f"array {key!r} missing")
    a = arrays[key]
    if a.shape != np.shape(template) or a.dtype != template.dtype:
        raise ValueError(f"array {key!r}: expected {template.dtype}{np.shape(template)}, got {a.dtype}{a.shape}")
    return a
