"""What a run keeps on disk, and why it trusts it: the folder's owner mark and checked result files.

    .minflow-run.json         in out_dir: the runner made this folder (a non-empty folder without it is
                              refused: ``ownership``); --fresh deletes only the files it names itself
    models/D{D}.json          the training record, with the settings it was trained with (``check_model``)
    cells/D{D}/<cell>.json    {"format", "config_sha256", "row", "kept_sha256", "sha256"}
    cells/D{D}/<cell>.npz     the kept log-densities {"logp", "logp_theta"}

A cell is trusted only if its record has this format, was made with this run's settings
(``config_sha256``), describes this very cell (D, family, s, t, n_test), holds a finite number
in every column, and both digests match: ``kept_sha256`` of the .npz arrays and ``sha256`` of
the record itself. A hand-edited value, a truncated file or another cell's arrays fail this;
``audit`` then deletes the cell (it is ours: its name is one the runner writes) and it is
recomputed, with a ``ResultFileWarning`` saying so. A model is trusted only if it is whole and was
trained with this run's settings (architecture, dtype, seed, training); otherwise it is retrained,
and its D's cells recomputed, with the same warning naming its file.
"""
import hashlib
import json
import os
import re
import shutil
import time
import warnings

import numpy as np

from . import run_files
from .cells import COLUMNS
from .config import ExperimentConfig, ModelConfig
from .model_files import check_model

MARKER = ".minflow-run.json"
CELL_FORMAT = "minflow-cell-1"
KEPT = ("logp", "logp_theta")
STALE_TEMP_SECONDS = 60  # a temporary file this old belongs to no live writer (a write takes ms)
_CELL = r"(reference|(generalisation|perturbed|outlier)_s[^_/]+_t[^_/]+)\.(npz|json)"
_TEMP = r"\.({})\.[A-Za-z0-9_]+\.tmp"  # write_atomic's temporary name of one of our files
_TOP = r"\.minflow-run\.json|config\.json|distributions\.json|table\.csv|cell_seconds\.csv|kept\.npz|run\.json" \
       r"|claims\.json|claims\.md"
_OURS = {"models": re.compile(r"D\d+\.(npz|json)|" + _TEMP.format(r"D\d+\.(npz|json)")),
         "cell": re.compile(_CELL + "|" + _TEMP.format(_CELL)),
         "temp": {"models": re.compile(_TEMP.format(r"D\d+\.(npz|json)")), "cell": re.compile(_TEMP.format(_CELL)),
                  "top": re.compile(_TEMP.format(_TOP))}}


class ResultFileWarning(UserWarning):
    """A result file was not trusted and is recomputed."""


# --- the owner mark ------------------------------------------------------------------------------
def claim(out_dir):
    """Write the owner mark (the runner made, and may delete, ``models/`` and ``cells/`` here)."""
    # the mark's name for its writer, kept when runner.py moved from experiments/ to pipeline/ so that
    # rerunning a committed run leaves its mark byte for byte as it was
    run_files.write_json(os.path.join(out_dir, MARKER), {"generator": "minflow.thesis.experiments.runner",
                                                         "owns": ["models/", "cells/"]})


def is_run(out_dir):
    """Whether ``out_dir`` is a minflow run: it has the owner mark, or it is a run of an older minflow
    (no mark, but a readable config.json and distributions.json), which is adopted."""
    mark = os.path.join(out_dir, MARKER)
    return (os.path.isfile(mark) and not os.path.islink(mark)) or _legacy_run(out_dir)


def _legacy_run(out_dir):
    try:
        ExperimentConfig.from_dict(run_files.read_json(os.path.join(out_dir, "config.json"), dict))
        run_files.read_json(os.path.join(out_dir, "distributions.json"), dict)
    except (TypeError, ValueError):
        return False
    return True


def clear(out_dir):
    """Delete the runner's files under models/ and cells/ (--fresh); anything else stays, and is named."""
    kept = []
    for sub in ("models", "cells"):
        root = os.path.join(out_dir, sub)
        for folder, dirs, files in os.walk(root, topdown=False):
            pattern = _ours_in(folder, root, sub)
            for name in files:
                path = os.path.join(folder, name)
                if pattern and pattern.fullmatch(name) and not os.path.islink(path):
                    os.remove(path)
                else:
                    kept.append(path)
            if not os.listdir(folder) and not os.path.islink(folder):
                os.rmdir(folder)
    if kept:
        warnings.warn(f"fresh: kept {len(kept)} file(s) minflow did not write: {kept[:5]}", ResultFileWarning, 2)


def _ours_in(folder, root, sub):
    """The names the runner writes in ``folder`` (models/ itself, or cells/D{D}/), else None."""
    if sub == "models":
        return _OURS["models"] if folder == root else None
    in_cell_dir = os.path.dirname(folder) == root and re.fullmatch(r"D\d+", os.path.basename(folder))
    return _OURS["cell"] if in_cell_dir else None


# --- cells ---------------------------------------------------------------------------------------
# Model settings added after runs had been recorded (the ablations' knobs): left out of the digest
# while they hold their defaults, so a run recorded before they existed still owns its cells.
_LATER_MODEL_DEFAULTS = {k: getattr(ModelConfig(), k) for k in ("mask", "coupling", "permutation", "actnorm", "lu")}


# Run settings added later, likewise: eval_dtype (issue 27) is left out while it is None.
_LATER_RUN_DEFAULTS = {"eval_dtype": None}


def config_digest(cfg_dict):
    model = {k: v for k, v in cfg_dict.get("model", {}).items()
             if k not in _LATER_MODEL_DEFAULTS or v != _LATER_MODEL_DEFAULTS[k]}
    run = {k: v for k, v in cfg_dict.items() if k not in _LATER_RUN_DEFAULTS or v != _LATER_RUN_DEFAULTS[k]}
    return _sha256(json.dumps({**run, "model": model}, sort_keys=True).encode())


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _kept_digest(arrays):
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k], dtype=np.float64)
        h.update(k.encode() + str(a.shape).encode() + a.tobytes())
    return h.hexdigest()


def _record_digest(record):
    return _sha256(json.dumps({k: record[k] for k in ("format", "config_sha256", "row", "kept_sha256")},
                              sort_keys=True).encode())


def write_cell(base, row, kept, cfg_digest):
    """base.npz (the kept values), then base.json (the record; its presence marks the cell finished)."""
    kept = {k: np.asarray(v, dtype=np.float64) for k, v in kept.items()}
    run_files.write_npz(base + ".npz", kept)
    record = {"format": CELL_FORMAT, "config_sha256": cfg_digest, "row": row, "kept_sha256": _kept_digest(kept)}
    record["sha256"] = _record_digest(record)
    run_files.write_json(base + ".json", record)


def read_cell(config, out_dir, cell):
    """The table row of a finished cell (D, family, s, t), every check passed; else ``ResultFileError``."""
    base = run_files.cell_path(out_dir, *cell)
    record = run_files.read_json(base + ".json", dict)
    if record.get("format") != CELL_FORMAT or record.get("sha256") != _digest_or_none(record):
        raise run_files.ResultFileError(f"{base}.json: not a cell record of this minflow, or edited after it was written")
    if record["config_sha256"] != config_digest(config.to_dict()):
        raise run_files.ResultFileError(f"{base}.json: computed with other settings than this run's config.json")
    row = record["row"]
    _check_row(base + ".json", row, cell, config)
    kept = run_files.read_npz(base + ".npz", KEPT, min(config.kde_keep, config.n_test))
    if _kept_digest(kept) != record["kept_sha256"]:
        raise run_files.ResultFileError(f"{base}.npz: not the arrays its record {base}.json was written with")
    return row


def _digest_or_none(record):
    try:
        return _record_digest(record)
    except (KeyError, TypeError, ValueError):
        return None


def _check_row(path, row, cell, config):
    if not isinstance(row, dict) or list(row) != list(COLUMNS):
        raise run_files.ResultFileError(f"{path}: the row does not have the columns of the table")
    d, family, s, t = cell
    same = (row["D"] == d and row["family"] == family and row["n_test"] == config.n_test
            and row["s"] == float(s) and row["t"] == float(t))
    if not same:
        raise run_files.ResultFileError(f"{path}: the row is for another cell or test size "
                                 f"(D={row['D']!r} {row['family']!r} s={row['s']!r} t={row['t']!r} n={row['n_test']!r})")
    bad = [k for k, v in row.items() if k != "family" and not (isinstance(v, (int, float)) and np.isfinite(v))]
    if bad:
        raise run_files.ResultFileError(f"{path}: non-finite or non-numeric values in {bad}")


def collect(config, out_dir):
    """Every finished cell's row, checked, in the canonical order (D, family, s, t ascending)."""
    cells = [(d, f, s, t) for d in sorted(config.dims) for f in config.families for s in config.S for t in config.T]
    for cell in cells:
        if not os.path.exists(run_files.cell_path(out_dir, *cell) + ".json"):
            raise FileNotFoundError(f"cell D={cell[0]} {cell[1]} s={cell[2]} t={cell[3]} is not finished: "
                                    f"{run_files.cell_path(out_dir, *cell)}.json")
    return [read_cell(config, out_dir, cell) for cell in cells]


# --- models and the audit before a resume -------------------------------------------------------
def audit(config, out_dir):
    """Check every finished model, cell and Q(p) file before a run trusts it.

    What fails is deleted, with a ``ResultFileWarning`` naming the file and why, and is recomputed
    by the run (a model takes its D's cells with it: they were computed from it)."""
    _remove_stale_temps(out_dir)
    for d in sorted(config.dims):
        if os.path.exists(run_files.model_path(out_dir, d) + ".json"):
            _distrust_if_bad(lambda: check_model(out_dir, d, config), f"model D={d} and its test sets",
                             [run_files.model_path(out_dir, d) + ext for ext in (".json", ".npz")], run_files.cell_dir(out_dir, d))
        ref = os.path.join(run_files.cell_dir(out_dir, d), "reference.npz")
        if os.path.exists(ref):
            _distrust_if_bad(lambda: run_files.read_npz(ref, KEPT, min(config.kde_keep, config.n_ref)), f"Q(p) of D={d}", [ref])
    for cell in config.cells():
        base = run_files.cell_path(out_dir, *cell)
        if os.path.exists(base + ".json"):
            _distrust_if_bad(lambda: read_cell(config, out_dir, cell), "this test set", [base + ".json", base + ".npz"])


def _distrust_if_bad(check, what, files, folder=None):
    try:
        check()
    except run_files.ResultFileError as err:
        warnings.warn(f"{err}; recomputing {what}", ResultFileWarning, 3)
        for path in files:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)
        if folder is not None and os.path.isdir(folder):
            for name in os.listdir(folder):
                if _OURS["cell"].fullmatch(name) and os.path.isfile(os.path.join(folder, name)):
                    os.remove(os.path.join(folder, name))


def _remove_stale_temps(out_dir):
    """Temporary files left by a killed writer of ours (older than STALE_TEMP_SECONDS, so no live writer's):
    only the temporary names of files the runner writes, in the folders it writes them, never through a link."""
    temps = _OURS["temp"]
    folders = [(out_dir, temps["top"]), (os.path.join(out_dir, "models"), temps["models"])] + \
        [(run_files.cell_dir(out_dir, d), temps["cell"]) for d in _dims_on_disk(out_dir)]
    now = time.time()
    for folder, pattern in folders:
        if os.path.islink(folder) or not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if pattern.fullmatch(name) and os.path.isfile(path) and not os.path.islink(path) \
                    and now - os.path.getmtime(path) > STALE_TEMP_SECONDS:
                os.remove(path)


def _dims_on_disk(out_dir):
    root = os.path.join(out_dir, "cells")
    names = os.listdir(root) if os.path.isdir(root) else []
    return [int(n[1:]) for n in names if re.fullmatch(r"D\d+", n)]
