"""An unanswered ``--scheduler`` is an error within seconds (issue 24): a socket that accepts and says
nothing, and a closed port. Skipped when dask.distributed is not installed (pip install -e .[dask])."""
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("dask.distributed")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _reproduce(address, out):
    cmd = [sys.executable, "-m", "minflow", "reproduce", "--preset", "tiny", "--dims", "4", "--out", str(out),
           "--quiet", "--no-figures", "--report", "", "--scheduler", address]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    return done, time.perf_counter() - start


def test_a_socket_that_accepts_and_says_nothing(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in range(5)], daemon=True).start()
    try:
        done, seconds = _reproduce(f"tcp://127.0.0.1:{server.getsockname()[1]}", tmp_path / "run")
    finally:
        server.close()
    assert seconds < 15, seconds
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "scheduler: no Dask scheduler answers at 'tcp://127.0.0.1:" in done.stderr


def test_a_closed_port(tmp_path):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    done, seconds = _reproduce(f"tcp://127.0.0.1:{port}", tmp_path / "run")
    assert seconds < 15 and done.returncode == 2 and "no Dask scheduler answers" in done.stderr, done.stderr
