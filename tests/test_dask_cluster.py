"""A Dask cluster without a shared disk (issue 27): a ``dask scheduler`` and two ``dask worker`` processes,
started from the command line as the README says, each in its own empty working folder; the runner (the
only process that sees the run folder) gets every result back through the scheduler and writes it, and
its files are those of a local run, byte for byte (table.csv; kept.npz's arrays; run.json's results).

The setting is the quick preset's smallest: its model and training (25 epochs of 16,384 points) at its
smallest D (10), with N = 1,000 test points instead of 20,000 (``--dims 10 --n-test 1000``). Marked slow
(about a minute on 2 cores, both runs); skipped only where Dask cannot be imported (``make test-slow``
installs the extra ``.[dask]``)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")  # the extra .[dask]; make test-slow installs it

from minflow.thesis.pipeline import run_files  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
SETTING = ["--preset", "quick", "--dims", "10", "--n-test", "1000"]
# run.json's results: everything but the timing and the library versions (platform, time of day)
RESULT_FIELDS = ("settings", "distributions", "seeds", "models", "learning_curves", "n_rows", "table_sha256")
RUN_FILES = {"table.csv", "kept.npz", "run.json", "config.json", "reference.npz", "cells", "models"}


def _dask(args, cwd, log):
    """``python -m dask <args>`` (the venv's ``dask`` command) in ``cwd``, in a process group of its own."""
    return subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(procs):
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@pytest.fixture
def cluster(tmp_path):
    """(scheduler address, the workers' folders): one scheduler and two one-thread workers, no nanny, each in
    an empty folder of its own (its working folder and its --local-directory); all ended after the test."""
    procs, logs = [], []
    try:
        home = tmp_path / "scheduler"
        home.mkdir()
        logs.append(open(tmp_path / "scheduler.log", "wb"))
        procs.append(_dask(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                            "--scheduler-file", str(home / "scheduler.json")], home, logs[-1]))
        address, deadline = None, time.time() + 60
        while address is None:
            assert procs[0].poll() is None and time.time() < deadline, (tmp_path / "scheduler.log").read_text()
            try:
                address = json.loads((home / "scheduler.json").read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.2)
        folders = []
        for name in ("a", "b"):
            folder = tmp_path / f"worker-{name}"
            folder.mkdir()
            folders.append(folder)
            logs.append(open(tmp_path / f"worker-{name}.log", "wb"))
            procs.append(_dask(["worker", address, "--name", name, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                "--local-directory", str(folder)], folder, logs[-1]))
        from distributed import Client
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, folders
    finally:
        _stop(procs)
        for log in logs:
            log.close()


def _reproduce(out, *extra):
    cmd = [sys.executable, "-m", "minflow", "reproduce", *SETTING, "--out", str(out), "--quiet", "--no-figures",
           "--report", "", *extra]
    done = subprocess.run(cmd, cwd=out.parent, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _kept(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def test_two_workers_in_their_own_folders_write_the_bytes_of_a_local_run(cluster, tmp_path):
    address, worker_folders = cluster
    runner = tmp_path / "runner"  # the runner's folder: the workers are never told of it
    runner.mkdir()
    on_dask = _reproduce(runner / "dask", "--scheduler", address)
    local = _reproduce(runner / "local", "--workers", "2")

    assert (on_dask / "table.csv").read_bytes() == (local / "table.csv").read_bytes()
    a, b = _kept(on_dask / "kept.npz"), _kept(local / "kept.npz")
    assert sorted(a) == sorted(b) and all(a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes() for k in a)
    run_dask, run_local = (run_files.read_json(str(d / "run.json")) for d in (on_dask, local))
    assert {k: run_dask[k] for k in RESULT_FIELDS} == {k: run_local[k] for k in RESULT_FIELDS}
    assert (on_dask / "models" / "D10.json").read_bytes() != b""  # the model came back and was written here

    timing = run_dask["timing"]
    assert timing["executor"] == "ClientExecutor"
    # the runner trains and scores nothing itself on a cluster: these seconds were the workers'
    assert timing["stage_seconds"]["train"] > 0 and timing["stage_seconds"]["logp_theta"] > 0
    for folder in worker_folders:  # nothing of the run in a worker's folder (its temporary files are its own)
        names = {p.name for p in folder.rglob("*")}
        assert not names & RUN_FILES, f"{folder}: {sorted(names & RUN_FILES)}"
