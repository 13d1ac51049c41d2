"""A run folder that only one run owns (issue 24): the lock under two processes, a foreign folder,
links out of the folder, clean-up of our own files only, Ctrl-C's one line, and the files' modes."""
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import SMALL_RUN

from minflow.thesis.cli import main
from minflow.thesis.pipeline import preset, read_table, run
from minflow.thesis.pipeline.ownership import LOCK, RunInUseError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = SMALL_RUN
CLI_SMALL = ["reproduce", "--preset", "tiny", "--dims", "4", "--n-test", "500", "--quiet", "--no-figures",
             "--report", ""]
HOLD = """
import sys, time
from minflow.thesis.pipeline.ownership import session
with session(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def _holder(out):
    """A child process that holds ``out``'s lock until it is killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout.readline().decode().strip() == "locked"
    return proc


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    run(preset("tiny", **SMALL), out, progress=False)
    return out


def _snapshot(folder):
    return {os.path.relpath(os.path.join(r, f), folder): open(os.path.join(r, f), "rb").read()
            for r, _, files in os.walk(folder) for f in files if f != LOCK}


# --- the lock ------------------------------------------------------------------------------------------
def test_a_second_run_and_a_fresh_are_refused_while_one_is_live(finished, capsys):
    before = _snapshot(finished)
    holder = _holder(finished)
    try:
        with pytest.raises(RunInUseError, match=f"in use by another minflow run \\(process {holder.pid}"):
            run(preset("tiny", **SMALL), finished, progress=False)
        assert main([*CLI_SMALL, "--out", str(finished), "--fresh"]) == 2
        assert "in use by another minflow run" in capsys.readouterr().err
        assert main(["figures", str(finished)]) == 2
        assert _snapshot(finished) == before  # nothing deleted, nothing rewritten
    finally:
        holder.kill()
        holder.wait()
    # the holder died (kill -9): the kernel released its lock, and the folder is usable again
    assert (finished / LOCK).exists()  # the dead holder's file, no longer locked
    assert len(read_table(run(preset("tiny", **SMALL), finished, progress=False))) == 3
    assert not (finished / LOCK).exists()  # a run that ends removes its lock file


def test_two_concurrent_processes_one_runs_the_other_is_refused(tmp_path):
    out = tmp_path / "run"
    code = ("import sys; from minflow.thesis.pipeline import preset, run; run(preset('tiny', dims=(4,), "
            "n_test=int(sys.argv[2]), n_reference=2000, kde_keep=50), sys.argv[1], progress=False)")
    first = subprocess.Popen([sys.executable, "-c", code, str(out), "200000"], cwd=ROOT, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not any(f.endswith(".json") for _, _, fs in os.walk(out / "cells") for f in fs):  # mid-evaluation
        assert time.time() < deadline and first.poll() is None, "the first run finished no cell"
        time.sleep(0.05)
    second = subprocess.run([sys.executable, "-c", code, str(out), "200000"], cwd=ROOT, capture_output=True, text=True)
    assert first.poll() is None, "the first run ended before the second was checked: make it longer"
    assert second.returncode != 0 and "in use by another minflow run" in second.stderr, second.stderr
    assert first.wait(timeout=300) == 0, first.stderr.read().decode()
    assert len(read_table(out / "table.csv")) == preset("tiny", dims=(4,)).n_cells


# --- a foreign folder ------------------------------------------------------------------------------------
def test_a_non_empty_folder_that_is_not_a_run_is_refused_untouched(tmp_path, capsys):
    (tmp_path / "config.json").write_text('{"mine": true}')
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    before = _snapshot(tmp_path)
    for fresh in (False, True):
        with pytest.raises(ValueError, match="is not empty .*config.json.*not a minflow run folder"):
            run(preset("tiny", **SMALL), tmp_path, progress=False, fresh=fresh)
    assert main([*CLI_SMALL, "--out", str(tmp_path)]) == 2
    assert "not a minflow run folder" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["config.json", "table.csv"]  # not even a lock file left
    assert _snapshot(tmp_path) == before


def test_an_empty_folder_is_used(tmp_path):
    assert len(read_table(run(preset("tiny", **SMALL), tmp_path, progress=False))) == 3


# --- links out of the run folder ----------------------------------------------------------------------------
@pytest.mark.parametrize("link", ["models", "cells", os.path.join("cells", "D4")])
@pytest.mark.parametrize("fresh", [False, True])
def test_a_link_leading_out_of_the_run_folder_is_refused(finished, tmp_path, link, fresh):
    out = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished), str(out)], check=True)
    target = tmp_path / "elsewhere"
    os.rename(out / link, target)
    old_temp = target / ".D4.json.abcd1234.tmp"
    old_temp.write_text("someone else's")
    os.utime(old_temp, (time.time() - 3600,) * 2)
    os.symlink(target, out / link)
    before = _snapshot(target)
    with pytest.raises(ValueError, match=f"{link.replace(os.sep, '.')} is a symbolic link to .*outside the run folder"):
        run(preset("tiny", **SMALL), out, progress=False, fresh=fresh)
    assert _snapshot(target) == before


def test_a_link_inside_the_run_folder_is_allowed(finished, tmp_path):
    out = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished), str(out)], check=True)
    os.symlink(out / "table.csv", out / "table-link.csv")
    assert len(read_table(run(preset("tiny", **SMALL), out, progress=False))) == 3


# --- clean-up of our own files only ----------------------------------------------------------------------
def test_clean_up_removes_only_our_stale_temporary_files(finished, tmp_path):
    out = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished), str(out)], check=True)
    old = time.time() - 3600
    ours = [out / ".table.csv.k2j3h4g5.tmp", out / "models" / ".D4.npz.x1y2z3w4.tmp",
            out / "cells" / "D4" / ".outlier_s1_t0.json.q1w2e3r4.tmp"]
    theirs = [out / ".notes.tmp", out / "models" / ".mine.tmp", out / "cells" / "D4" / ".draft.tmp"]
    for path in ours + theirs:
        path.write_text("x")
        os.utime(path, (old, old))
    run(preset("tiny", **SMALL), out, progress=False)
    assert not [p for p in ours if p.exists()]
    assert all(p.exists() for p in theirs)


# --- Ctrl-C -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_is_one_line_with_the_resume_command(tmp_path, workers):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "minflow", "reproduce", "--preset", "tiny", "--out", str(out), "--quiet",
           "--no-figures", "--report", "", "--workers", workers, "--fresh"]
    # a terminal's shell starts a command with SIGINT at its default; a background job of a script (nohup cmd &)
    # inherits it ignored, and Python then never raises KeyboardInterrupt: give the child the terminal's default
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not any(f.endswith(".json") for _, _, fs in os.walk(out / "cells") for f in fs):
        assert time.time() < deadline and proc.poll() is None, "no cell was finished"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, err = proc.communicate(timeout=120)
    lines = [ln for ln in err.decode().splitlines() if ln.strip()]
    assert proc.returncode == 130, err.decode()
    assert "Traceback" not in err.decode()
    assert len(lines) == 1 and lines[0].startswith("interrupted: finished work is kept; to resume, rerun: ")
    assert lines[0].endswith(f"--workers {workers}") and "--fresh" not in lines[0]


# --- file modes --------------------------------------------------------------------------------------------
def test_files_are_written_with_the_users_umask(tmp_path):
    code = ("import os, sys; os.umask(0o027); from minflow.thesis.pipeline import preset, run; "
            "run(preset('tiny', dims=(4,), S=(1.0,), T=(0.0,), n_test=500, n_reference=500, kde_keep=50, "
            "training={'epochs': 2, 'epoch_size': 512, 'validation': 256}), sys.argv[1], progress=False)")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], cwd=ROOT, check=True)
    modes = {os.path.relpath(os.path.join(r, f), tmp_path): os.stat(os.path.join(r, f)).st_mode & 0o777
             for r, _, fs in os.walk(tmp_path / "run") for f in fs}
    assert modes and set(modes.values()) == {0o640}, modes


STRESS = """
import os, sys, time
from minflow.thesis.pipeline.ownership import RunInUseError, hold
out, inside, taken = sys.argv[1], os.path.join(sys.argv[1], "inside"), 0
while taken < 30:
    try:
        with hold(out):
            fd = os.open(inside, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # fails if another holder is inside
            time.sleep(0.001)
            os.close(fd)
            os.remove(inside)
            taken += 1
    except RunInUseError:
        time.sleep(0.0005)
"""


def test_the_lock_excludes_under_contention_although_each_holder_removes_its_file(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", STRESS, str(tmp_path)], cwd=ROOT, stderr=subprocess.PIPE)
             for _ in range(4)]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    assert os.listdir(tmp_path) == []
