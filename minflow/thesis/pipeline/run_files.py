"""Files of a run: paths, atomic writes, the tidy table (CSV) and the kept log-densities.

The table is a plain list of dicts (one per test set), so figures and the claim
checker need nothing beyond the standard library and NumPy to read it.
"""
import csv
import hashlib
import json
import os
import platform
import tempfile
import time
import zipfile
from io import StringIO

import numpy as np

from ...archive import Archive
from ...checkpoint import write_atomic
from .cells import CELL_KEY, TABLE_COLUMNS, distributions
from .lookup import train_kl

TEXT_COLUMNS = ("family",)
INT_COLUMNS = ("D", "n_test")


# --- paths ------------------------------------------------------------------
def model_path(out_dir, dim):
    """Without extension: + ".npz" (the flow) and + ".json" (its learning curve)."""
    return os.path.join(out_dir, "models", f"D{dim}")


def cell_dir(out_dir, dim):
    return os.path.join(out_dir, "cells", f"D{dim}")


def cell_path(out_dir, dim, family, s, t):
    return os.path.join(cell_dir(out_dir, dim), f"{family}_s{float(s):g}_t{float(t):g}")


def kept_key(dim, family, s=1.0, t=0.0):
    """The name of one test set's kept values; family "reference" is Q(p)."""
    return f"{int(dim)}/{family}/{float(s):g}/{float(t):g}"


# --- atomic writes and checked reads ---------------------------------------
class ResultFileError(ValueError):
    """A result file that cannot be trusted; the message names the file and how to recover."""


def write_json(path, obj):
    """Atomic: a unique temporary file beside ``path``, flushed and renamed (checkpoint.write_atomic)."""
    write_atomic(path, lambda fh: fh.write((json.dumps(obj, indent=1, sort_keys=False) + "\n").encode()))


def read_json(path, expect=None):
    """The JSON value in ``path``, required to be an ``expect`` (dict or list; None: any type).

    Any failure (missing, a directory, unreadable, not JSON, nested too deeply, another type) is a
    ``ResultFileError`` naming the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            value = json.load(fh)
    except (OSError, ValueError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ResultFileError(f"{path}: cannot be read as JSON ({type(err).__name__}: {err})") from None
    except RecursionError:
        raise ResultFileError(f"{path}: cannot be read as JSON (nested too deeply for a result file)") from None
    if expect is not None and not isinstance(value, expect):
        raise ResultFileError(f"{path}: expected a JSON {expect.__name__}, got {type(value).__name__}")
    return value


def write_text(path, text):
    """A text file (UTF-8), atomically."""
    write_atomic(path, lambda fh: fh.write(text.encode()))


def write_npz(path, arrays):
    write_atomic(path, lambda fh: np.savez(fh, **arrays))


def read_npz(path, names, length=None):
    """{name: 1-D finite float64 array} from ``path``, which must hold exactly ``names`` (each of
    ``length`` values when given). Any other content is a ``ResultFileError`` naming the file."""
    try:  # the names and shapes from the headers first: nothing is inflated that was not asked for (``archive``)
        with Archive(path) as z:
            _check_headers(path, z.headers, names, length)
            arrays = {k: z.read(k) for k in z.headers}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        if isinstance(err, ResultFileError):
            raise
        raise ResultFileError(f"{path}: cannot be read as .npz ({type(err).__name__}: {err})") from None
    for k, a in arrays.items():
        if not np.all(np.isfinite(a)):
            raise ResultFileError(f"{path}: array {k!r} contains NaN or infinite values")
    return {k: a.astype(np.float64) for k, a in arrays.items()}


def _check_headers(path, headers, names, length):
    if sorted(headers) != sorted(names):
        raise ResultFileError(f"{path}: holds the arrays {sorted(headers)}, expected {sorted(names)}")
    for k, h in headers.items():
        if len(h.shape) != 1 or h.dtype.kind != "f" or (length is not None and h.shape[0] != length):
            raise ResultFileError(f"{path}: array {k!r} is {h.dtype}{h.shape}, expected float of shape ({length},)")


def check_writable(out_dir):
    """Create ``out_dir`` if needed and prove that a file can be written there."""
    out_dir = os.fspath(out_dir)
    try:
        os.makedirs(out_dir, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".probe-")
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        raise ValueError(f"out_dir: cannot write to {out_dir!r} ({err.strerror or err})") from err


def dict_diff(old, new, prefix=""):
    """Human-readable differences between two nested settings dicts."""
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k, "<missing>"), new.get(k, "<missing>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += dict_diff(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} before, {b!r} now")
    return out


# --- the table ------------------------------------------------------------
def write_table(path, table, columns=TABLE_COLUMNS):
    """table.csv, atomically: one row per test set, the columns ``TABLE_COLUMNS``, floats as repr."""
    text = StringIO()
    w = csv.DictWriter(text, fieldnames=list(columns), extrasaction="ignore")
    w.writeheader()
    for row in table:
        w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    write_text(path, text.getvalue())


def table_digest(path):
    """sha256 of the file's bytes (run.json's ``table_sha256``: the table as the run wrote it)."""
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def read_csv(path, what, text=(), ints=(), required=()):
    """A results CSV -> list of dicts: columns ``text`` kept as str, ``ints`` as int, the rest float.

    ``what`` names the file in errors; a bad file (unreadable, no rows, a missing ``required`` column,
    a cell that is not a number) raises ``ResultFileError``."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, ValueError, csv.Error) as err:
        raise ResultFileError(f"{what}: {path} cannot be read ({type(err).__name__}: {err})") from None
    if not rows:
        raise ResultFileError(f"{what}: {path} has no rows")
    missing = [c for c in required if c not in rows[0]]
    if missing:
        raise ResultFileError(f"{what}: {path} lacks the columns {missing}")
    for i, row in enumerate(rows):
        try:
            for k, v in row.items():
                row[k] = v if k in text else int(v) if k in ints else float(v)
        except (TypeError, ValueError):
            raise ResultFileError(f"{what}: {path} row {i + 1} column {k!r}: {v!r} is not a number") from None
    return rows


def read_table(path):
    """table.csv -> list of dicts with ints, floats and the family name (a bad file: ``ResultFileError``).

    A table written before issue 24 also has the cells' ``seconds`` column; it is read as it is."""
    return read_csv(path, "table", TEXT_COLUMNS, INT_COLUMNS, TABLE_COLUMNS)


def collect_kept(config, out_dir):
    """{kept_key: {"logp": (k,), "logp_theta": (k,)}} for every cell and every Q(p), each file checked."""
    names = ("logp", "logp_theta")
    kept = {}
    for d in sorted(config.dims):
        ref = os.path.join(cell_dir(out_dir, d), "reference.npz")
        kept[kept_key(d, "reference")] = read_npz(ref, names, min(config.kde_keep, config.n_ref))
        for f in config.families:
            for s in config.S:
                for t in config.T:
                    path = cell_path(out_dir, d, f, s, t) + ".npz"
                    kept[kept_key(d, f, s, t)] = read_npz(path, names, min(config.kde_keep, config.n_test))
    return kept


def save_kept(path, kept):
    write_npz(path, {f"{key}/{name}": v.astype(np.float32) for key, arrays in kept.items() for name, v in arrays.items()})


def load_kept(path):
    """kept.npz -> {kept_key: {"logp": (k,), "logp_theta": (k,)}} (a bad file: ``ResultFileError``)."""
    kept = {}
    try:
        with Archive(path) as z:  # headers first: only 1-D float arrays are read (``archive``)
            bad = [k for k, h in z.headers.items() if len(h.shape) != 1 or h.dtype.kind != "f"]
            if bad:
                raise ValueError(f"arrays {bad[:3]} are not 1-D float arrays")
            for name in z.headers:
                key, _, series = name.rpartition("/")
                kept.setdefault(key, {})[series] = z.read(name).astype(float)
    except (OSError, ValueError, TypeError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise ResultFileError(f"{path}: cannot be read as kept log-densities ({type(err).__name__}: {err}); "
                              "rerun `python -m minflow reproduce` on its folder to rewrite it") from None
    return kept


def load_histories(config, out_dir):
    """D -> the model record (learning curve, seconds) written by training."""
    return {d: read_json(model_path(out_dir, d) + ".json", dict) for d in sorted(config.dims)}


def versions():
    """The library versions a result depends on."""
    from importlib.metadata import version

    import matplotlib
    import scipy

    from ... import __version__
    return {"minflow": __version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "autograd": version("autograd"), "matplotlib": matplotlib.__version__,
            "python": platform.python_version(), "platform": platform.platform()}


TIMING_OF_INVOCATION = ("last_invocation_wall_s", "workers_last_invocation", "finished_utc", "threads_per_worker",
                        "executor", "stage_seconds", "finish_wall_s")


def write_outputs(config, out_dir, table, wall_seconds, workers, keep_timing=False, timing=None):
    """table.csv, kept.npz and run.json; returns the path of table.csv.

    keep_timing: keep the timing of the earlier run.json (this invocation computed nothing).
    timing: more entries for run.json's "timing" (threads_per_worker, executor, stage_seconds);
    the time taken here to write table.csv and kept.npz is added to the wall time and to the
    stage "outputs"."""
    start = time.perf_counter()
    path = os.path.join(out_dir, "table.csv")
    write_table(path, table)
    write_table(os.path.join(out_dir, "cell_seconds.csv"), table, (*CELL_KEY, "seconds"))  # this run's timing
    save_kept(os.path.join(out_dir, "kept.npz"), collect_kept(config, out_dir))
    spent = time.perf_counter() - start
    timing = dict(timing or {})
    if "stage_seconds" in timing:
        timing["stage_seconds"] = {**timing["stage_seconds"]}
        timing["stage_seconds"]["outputs"] = timing["stage_seconds"].get("outputs", 0.0) + spent
    wall_seconds += spent
    models = load_histories(config, out_dir)
    record = {
        "settings": config.to_dict(),
        "distributions": {str(d): distributions(d, config).settings() for d in sorted(config.dims)},
        "seeds": {"seed": config.seed, "scheme": "numpy default_rng([seed, crc32(key)]); keys: "
                  "train/D, reference/D, cell/D/family/s/t, keep/D/family/s/t"},
        "versions": versions(),
        "timing": {"last_invocation_wall_s": wall_seconds, "workers_last_invocation": workers,
                   "train_s": {str(d): m["seconds"] for d, m in models.items()},
                   "cells_s_total": float(sum(r["seconds"] for r in table)),
                   "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **timing},
        "models": {str(d): {"n_params": m["n_params"], "final_train_nll": m["history"]["train_nll"][-1],
                            "best_val_nll": m["history"]["best_val_nll"], "epochs_run": len(m["history"]["train_nll"]),
                            "train_kl": train_kl(table, d)}
                   for d, m in models.items()},
        "learning_curves": {str(d): {k: m["history"][k] for k in ("train_nll", "val_nll", "lr", "best_epoch")}
                            for d, m in models.items()},
        "n_rows": len(table),
        "table_sha256": table_digest(path),
    }
    old = os.path.join(out_dir, "run.json")
    if keep_timing and os.path.exists(old):
        try:
            prev = read_json(old, dict).get("timing", {})
        except ResultFileError:  # an unreadable old record: this one replaces it
            prev = {}
        prev = prev if isinstance(prev, dict) else {}
        for k in TIMING_OF_INVOCATION:
            if k in prev:
                record["timing"][k] = prev[k]
    write_json(old, record)  # last: with table.csv, it marks the run as finished (``multiseed.seed_dirs``)
    return path
