"""The runner and the files it keeps (issue 11, findings 2, 7 and 8): it deletes only what it made,
trusts no result file it cannot check, leaves no worker alive when it is killed, and two runners
on one folder do not trip over each other's temporary files."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from minflow.thesis.cli import main
from minflow.thesis.pipeline import run_files, preset, read_table, run
from minflow.thesis.pipeline.store import MARKER, ResultFileWarning

SMALL = dict(dims=(4,), S=(1.0,), T=(0.0,), n_test=500, n_reference=500, kde_keep=50,
             training={"epochs": 2, "epoch_size": 512, "validation": 256})
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _strip(table):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in table]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A finished small run (one D, three test sets) and its table."""
    out = tmp_path_factory.mktemp("clean")
    config = preset("tiny", **SMALL)
    return config, out, _strip(read_table(run(config, out, progress=False)))


@pytest.fixture
def copy(clean, tmp_path):
    config, out, table = clean
    shutil.copytree(out, tmp_path / "run")
    return config, tmp_path / "run", table


# --- finding 2: --fresh deletes only what minflow made ---------------------------------------------
def test_fresh_refuses_a_foreign_folder_and_deletes_nothing(tmp_path, capsys):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "important.txt").write_text("mine")
    config = preset("tiny", **SMALL)
    for fresh in (True, False):
        with pytest.raises(ValueError, match=f"not a minflow run folder \\(no {MARKER}\\)"):
            run(config, tmp_path, progress=False, fresh=fresh)
    assert main(["reproduce", "--preset", "tiny", "--out", str(tmp_path), "--fresh", "--quiet"]) == 2
    assert "not a minflow run folder" in capsys.readouterr().err
    assert (tmp_path / "models" / "important.txt").read_text() == "mine"


def test_fresh_in_its_own_folder_keeps_a_users_file(copy):
    config, out, table = copy
    (out / "models" / "notes.txt").write_text("mine")
    with pytest.warns(ResultFileWarning, match="kept 1 file"):
        assert _strip(read_table(run(config, out, progress=False, fresh=True))) == table
    assert (out / "models" / "notes.txt").read_text() == "mine"


# --- finding 7: hostile result files ---------------------------------------------------------------
CELL = os.path.join("cells", "D4", "outlier_s1_t0")
REF = os.path.join("cells", "D4", "reference.npz")
MODEL = os.path.join("models", "D4")


def _truncate(path):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])


def _edit_row(path, column, value):
    rec = json.load(open(path))
    rec["row"][column] = value
    open(path, "w").write(json.dumps(rec))


def _swap_npz(out):
    shutil.copy(out / "cells" / "D4" / "perturbed_s1_t0.npz", out / (CELL + ".npz"))


def _wrong_keys(path):
    np.savez(path, a=np.zeros(50), b=np.zeros(50))


def _directory(path):
    os.remove(path)
    os.mkdir(path)


HOSTILE = {
    "truncated cell npz": lambda out: _truncate(out / (CELL + ".npz")),
    "truncated cell json": lambda out: _truncate(out / (CELL + ".json")),
    "cell json is a list": lambda out: (out / (CELL + ".json")).write_text("[1, 2]"),
    "cell json is a directory": lambda out: _directory(out / (CELL + ".json")),
    "cell npz with wrong keys": lambda out: _wrong_keys(out / (CELL + ".npz")),
    "edited value": lambda out: _edit_row(out / (CELL + ".json"), "H_q", 1.5),
    "NaN value": lambda out: _edit_row(out / (CELL + ".json"), "gap", float("nan")),
    "another cell's arrays": _swap_npz,
    "truncated reference": lambda out: _truncate(out / REF),
    "reference is a directory": lambda out: _directory(out / REF),
    "truncated model": lambda out: _truncate(out / (MODEL + ".npz")),
    "model record is a list": lambda out: (out / (MODEL + ".json")).write_text("[]"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_result_file_is_named_and_recomputed(copy, case):
    config, out, table = copy
    HOSTILE[case](out)
    with pytest.warns(ResultFileWarning, match=r"(D4|reference).*recomputing"):
        resumed = read_table(run(config, out, progress=False))
    assert _strip(resumed) == table


def test_resume_without_the_settings_record_is_refused(copy, capsys):
    config, out, _ = copy
    os.remove(out / "config.json")
    other = preset("tiny", **{**SMALL, "n_test": 400})
    with pytest.raises(ValueError, match="no settings record .*config.json"):
        run(other, out, progress=False)
    with pytest.raises(ValueError, match="no settings record"):
        run(config, out, progress=False)


@pytest.mark.parametrize("content", ["[1, 2]", "{", "not json"])
def test_a_corrupt_settings_record_is_one_clear_error(copy, content, capsys):
    _, out, _ = copy
    (out / "config.json").write_text(content)
    assert main(["reproduce", "--preset", "tiny", "--dims", "4", "--out", str(out), "--quiet", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "config.json" in err and "Traceback" not in err


def test_claims_of_a_corrupt_table_name_the_file(copy, capsys):
    _, out, _ = copy
    _truncate(out / "table.csv")
    (out / "table.csv").write_text((out / "table.csv").read_text() + "\n4,outlier,x,y\n")
    assert main(["claims", str(out)]) == 2
    assert "table.csv" in capsys.readouterr().err


# --- finding 8: workers end with their parent; temporary names are unique --------------------------
def _children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.isdigit() and int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def _alive(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_a_two_worker_run_leaves_no_worker_and_resumes(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "minflow", "reproduce", "--preset", "tiny", "--dims", "4", "--workers", "2",
           "--out", str(out), "--quiet", "--no-figures", "--report", ""]
    parent = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
    cells = out / "cells" / "D4"
    deadline = time.time() + 120
    while not (cells.is_dir() and any(f.endswith(".json") for f in os.listdir(cells))):
        assert time.time() < deadline and parent.poll() is None, "no cell was finished"
        time.sleep(0.1)
    workers = _children(parent.pid)
    assert len(workers) >= 2
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while any(_alive(p) for p in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)], "a worker outlived its parent"
    written = sorted(os.listdir(cells))
    time.sleep(1.0)
    assert sorted(os.listdir(cells)) == written, "cells were written after the parent died"
    config = preset("tiny", dims=(4,))
    table = read_table(run(config, out, progress=False, workers=2))
    assert len(table) == config.n_cells
    again = _strip(read_table(run(config, out, progress=False)))       # everything checked, nothing redone
    assert again == _strip(table)
    os.remove(out / "cells" / "D4" / "outlier_s1_t0.5.json")            # one cell recomputed from scratch
    assert _strip(read_table(run(config, out, progress=False))) == again


RACE = """
import sys
from minflow.thesis.pipeline import preset, run
run(preset("tiny", dims=(4,), S=(1.0,), T=(0.0,), n_test=500, n_reference=500, kde_keep=50,
           training={"epochs": 2, "epoch_size": 512, "validation": 256}), sys.argv[1], progress=False)
"""


def test_two_runners_on_one_folder_one_finishes_the_other_is_refused(clean, tmp_path):
    _, _, table = clean
    out = str(tmp_path / "run")
    os.makedirs(out)
    procs = [subprocess.Popen([sys.executable, "-c", RACE, out], cwd=ROOT, stderr=subprocess.PIPE) for _ in range(2)]
    errors = [p.communicate(timeout=300)[1].decode() for p in procs]
    assert 0 in [p.returncode for p in procs], errors  # the lock (issue 24): a second live run is refused by name
    assert all(p.returncode == 0 or "in use by another minflow run" in e for p, e in zip(procs, errors)), errors
    assert _strip(read_table(os.path.join(out, "table.csv"))) == table
    left = [f for _, _, files in os.walk(out) for f in files if f.endswith(".tmp")]
    assert not left


def test_atomic_writes_leave_no_temporary_file_on_failure(tmp_path):
    class Boom:
        def __float__(self):
            raise RuntimeError("disk full")
    with pytest.raises(TypeError):
        run_files.write_json(str(tmp_path / "x.json"), {"a": Boom()})
    with pytest.raises(ValueError):
        run_files.write_npz(str(tmp_path / "x.npz"), {"a": [[1.0], [1.0, 2.0]]})
    assert os.listdir(tmp_path) == []
