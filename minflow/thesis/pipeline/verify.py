"""Results checked where they are read: a run's table.csv against its grid, its record and its cells.

    table = checked_table(config, out_dir, record)   # else a ResultFileError naming table.csv

``claims DIR``, ``figures DIR`` and the report read a run through ``report.load_run``, which calls
this. A table is trusted only if

* it has one row per test set of the run's grid, in the runner's order (D, family, s, t as
  ``store.collect`` writes them) and with the run's ``n_test``;
* every numeric column holds a finite number (a NaN would flip a verdict silently);
* its bytes have the digest run.json recorded for it (``table_sha256``, runs since issue 24);
* every row equals the cell file it was built from, where cells/ still holds it (each cell
  checked by ``store.read_cell`` first).
"""
import math
import os

from . import run_files, store
from .cells import TABLE_COLUMNS
from .run_files import TEXT_COLUMNS


def checked_table(config, out_dir, record=None):
    """table.csv of the run in ``out_dir`` (made with ``config``; ``record``: its run.json), every check passed."""
    path = os.path.join(out_dir, "table.csv")
    table = run_files.read_table(path)
    _check_rows(path, table, config)
    _check_digest(path, record)
    _check_cells(path, table, config, out_dir)
    return table


def _refuse(path, why):
    return run_files.ResultFileError(f"{path}: {why}; not trusting it: restore it, or rerun `python -m minflow "
                              "reproduce` on its folder with its settings to rebuild it from the checked cells")


def grid_keys(config):
    """(D, family, s, t) of every row, in the order of ``store.collect``."""
    return [(d, f, float(s), float(t)) for d in sorted(config.dims) for f in config.families
            for s in config.S for t in config.T]


def _check_rows(path, table, config):
    want = grid_keys(config)
    if len(table) != len(want):
        raise _refuse(path, f"{len(table)} rows, but the run's grid (config.json) has {len(want)} test sets")
    for i, (row, key) in enumerate(zip(table, want)):
        got = (row["D"], row["family"], row["s"], row["t"])
        if got != key or row["n_test"] != config.n_test:
            raise _refuse(path, f"row {i + 1} is D={got[0]} {got[1]!r} s={got[2]:g} t={got[3]:g} n_test={row['n_test']}, "
                                f"but the grid's row {i + 1} is D={key[0]} {key[1]!r} s={key[2]:g} t={key[3]:g} "
                                f"n_test={config.n_test}")
        bad = [k for k in TABLE_COLUMNS if k not in TEXT_COLUMNS and not math.isfinite(row[k])]
        if bad:
            raise _refuse(path, f"row {i + 1} (D={key[0]} {key[1]} s={key[2]:g} t={key[3]:g}) has non-finite {bad}")


def _check_digest(path, record):
    want = record.get("table_sha256") if isinstance(record, dict) else None
    if want is not None and run_files.table_digest(path) != want:
        raise _refuse(path, "not the table its run.json recorded (edited after the run)")


def _check_cells(path, table, config, out_dir):
    for row in table:
        cell = (row["D"], row["family"], row["s"], row["t"])
        if not os.path.exists(run_files.cell_path(out_dir, *cell) + ".json"):
            continue  # a committed run keeps no cells/: its rows are checked above
        stored = store.read_cell(config, out_dir, cell)  # a bad cell file: ResultFileError naming it
        diff = [k for k in TABLE_COLUMNS if stored[k] != row[k]]
        if diff:
            raise _refuse(path, f"the row D={cell[0]} {cell[1]} s={cell[2]:g} t={cell[3]:g} differs from its cell "
                                f"file {run_files.cell_path(out_dir, *cell)}.json in {diff[:5]}")
