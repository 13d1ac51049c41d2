"""Errors that name their cause (issue 24): --workers capped with a warning and checked by name,
--report PATH reports the runs of --out, out-of-memory requests named."""
import os
import subprocess
import sys

import pytest
from conftest import SMALL_RUN

from minflow.thesis.cli import main
from minflow.thesis.pipeline import preset, read_table, run
from minflow.thesis.pipeline import workers as pools

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = SMALL_RUN


def test_workers_beyond_the_cores_are_capped_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(pools, "cores", lambda: 1)
    with pytest.warns(RuntimeWarning, match="workers: 1000 processes on 1 cores would only compete"):
        table = read_table(run(preset("tiny", **SMALL), tmp_path, workers=1000, progress=False))
    assert len(table) == 3
    assert pools.useful_workers(1) == 1


@pytest.mark.parametrize("command", [["figures", "DIR"], ["reproduce", "--preset", "tiny", "--out", "DIR"],
                                     ["capacity"], ["ablations"], ["regimes", "--tiny"]])
@pytest.mark.parametrize("value", ["0", "-2", "x"])
def test_a_bad_workers_count_is_named(command, value, tmp_path, capsys):
    args = [str(tmp_path) if a == "DIR" else a for a in command]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--workers", value])
    assert stop.value.code == 2
    assert f"argument --workers: expected a whole number >= 1, got '{value}'" in capsys.readouterr().err


def test_report_with_out_reports_the_runs_of_out(tmp_path):
    out, report = tmp_path / "mine", tmp_path / "mine.md"
    cmd = [sys.executable, "-m", "minflow", "reproduce", "--preset", "tiny", "--dims", "4", "--n-test", "500",
           "--out", str(out), "--quiet", "--no-figures", "--report", str(report)]
    done = subprocess.run(cmd, cwd=os.path.join(tmp_path), capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ROOT})  # run where there is no reproduction/
    assert done.returncode == 0, done.stderr
    text = report.read_text()
    assert f"the runs in {out}" in text and "N = 500" in text and "table.csv" in text
    assert "reproduction/quick" not in text and "reproduction/thesis" not in text


# --- requests that can never fit in memory ------------------------------------------------------------
def test_a_model_too_big_for_memory_names_hidden():
    import numpy as np

    import minflow
    with pytest.raises(ValueError, match=r"hidden: a flow of [\d,]+ parameters .*widths \(100000, 100000\).* GiB, "
                                         r"more than this machine's"):
        minflow.RealNVP(4, 8, (100_000, 100_000), rng=np.random.default_rng(0))


def test_a_test_set_too_big_for_memory_names_n_test(tmp_path, capsys):
    args = ["reproduce", "--preset", "tiny", "--dims", "4", "--n-test", str(10**12), "--out", str(tmp_path / "r"),
            "--quiet", "--no-figures", "--report", ""]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: n_test: 1,000,000,000,000 points per test set") and "GiB" in err
    assert not (tmp_path / "r" / "models").exists()  # refused before any training


def test_evaluate_log_probs_names_n():
    import numpy as np

    from minflow.thesis.gaussians import ThesisDistributions
    from minflow.thesis.information import evaluate_log_probs
    d = ThesisDistributions(4, seed=0)
    with pytest.raises(ValueError, match="n: 1,000,000,000,000 points x 1 scorer"):
        evaluate_log_probs(d.p, 10**12, np.random.default_rng(0), {"logp": d.p.log_prob})


# --- errors that name their argument ---------------------------------------------------------------------
def _flow():
    import numpy as np

    import minflow
    return minflow.RealNVP(2, 2, (8,), rng=np.random.default_rng(0))


def test_consistency_report_names_its_arguments():
    import numpy as np

    import minflow
    x = np.random.default_rng(0).standard_normal((10, 2))
    with pytest.raises(TypeError, match="flow: expected a minflow Flow, got str"):
        minflow.consistency_report("x", x, np.random.default_rng(0))
    with pytest.raises(TypeError, match="brute_force_max_dim: expected an integer"):
        minflow.consistency_report(_flow(), x, np.random.default_rng(0), brute_force_max_dim="a")


@pytest.mark.parametrize("kwargs, named", [(dict(condition_number=1e17), "condition_number"),
                                           (dict(outlier_condition_number=1e17), "outlier_condition_number"),
                                           (dict(mean_scale=1e300), "mean_scale")])
def test_distributions_float64_cannot_hold_are_named(kwargs, named):
    from minflow.thesis.gaussians import ThesisDistributions
    with pytest.raises(ValueError, match=f"^{named}: expected a finite number in"):
        ThesisDistributions(4, **kwargs)


def test_eigen_spectrum_names_a_singular_condition_number():
    from minflow.thesis.gaussians import eigen_spectrum
    with pytest.raises(ValueError, match="condition_number: .*singular in float64"):
        eigen_spectrum(4, condition_number=1e17)


def test_kl_of_means_too_far_apart_is_named_not_inf(recwarn):
    import numpy as np

    from minflow.thesis.gaussians import Gaussian
    from minflow.thesis.information import kl_gaussian
    q, p = Gaussian(np.full(3, 1e200), np.eye(3)), Gaussian(np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="q, p: the means are 1e.200 apart .*overflows float64"):
        kl_gaussian(q, p)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_scorers_nan_is_named():
    import numpy as np

    from minflow.thesis.gaussians import ThesisDistributions
    from minflow.thesis.information import evaluate_log_probs
    d = ThesisDistributions(3, seed=0)
    bad = lambda x: np.where(np.arange(len(x)) == 2, np.nan, 0.0)  # noqa: E731
    with pytest.raises(ValueError, match=r"scorers\['model'\]: returned NaN for 1 of 10 points"):
        evaluate_log_probs(d.p, 10, np.random.default_rng(0), {"model": bad})


def test_a_nul_in_a_checkpoint_path_is_named(tmp_path):
    import minflow
    for call in (lambda: minflow.save(_flow(), str(tmp_path / "a\0b.npz")), lambda: minflow.load(str(tmp_path / "a\0b"))):
        with pytest.raises(ValueError, match="path: contains a NUL character"):
            call()


def test_a_full_disk_names_the_file_meant_not_its_temporary(tmp_path, monkeypatch):
    import errno

    import minflow
    from minflow import checkpoint

    def full(*_, **__):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(checkpoint.os, "fsync", full)
    with pytest.raises(OSError, match=f"cannot write {tmp_path / 'm.npz'} .No space left on device"):
        minflow.save(_flow(), str(tmp_path / "m.npz"))
    assert os.listdir(tmp_path) == []


def test_fit_interrupted_keeps_the_best_parameters():
    import numpy as np

    import minflow
    flow = _flow()
    x = np.random.default_rng(1).standard_normal((512, 2)) * 2 + 1

    def stop(epoch, hist, f):
        if epoch == 3:
            stop.best = [w.copy() for w, _ in f.params[0]] if hist.best_epoch == 3 else stop.best
            f.params = [[(w * 0 + 7, b) for w, b in p] for p in f.params]  # the last step's, made recognisable
            raise KeyboardInterrupt
        if hist.best_epoch == epoch:
            stop.best = [w.copy() for w, _ in f.params[0]]
    with pytest.raises(KeyboardInterrupt):
        minflow.fit(flow, x, rng=np.random.default_rng(2), epochs=10, batch_size=64, validation=0.25, callback=stop)
    assert flow.history.stop_reason == "interrupted"
    assert all(np.array_equal(w, b) for (w, _), b in zip(flow.params[0], stop.best))


def test_a_diverging_reference_fit_warns_once_not_dozens_of_overflows():
    import warnings

    import numpy as np

    import minflow
    flow = minflow.RealNVP(2, 2, (8,), rng=np.random.default_rng(0), s_max=None, engine="reference")
    x = np.random.default_rng(1).standard_normal((2000, 2)) * 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        minflow.fit(flow, x, rng=np.random.default_rng(2), epochs=30, batch_size=100, lr=50.0, schedule="constant")
    messages = [str(w.message) for w in caught]
    assert any("validation NLL" in m for m in messages)
    assert len(messages) <= 2, messages


# --- the scheduler probe, without Dask installed (tests/test_reliability_scheduler.py runs it end to end) ----
def test_the_scheduler_probe_names_a_silent_port_and_a_closed_one(monkeypatch):
    import socket
    import threading
    import time
    monkeypatch.setattr(pools, "CONNECT_SECONDS", 1)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    held = []  # the accepted connection stays open and says nothing
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    start, port = time.perf_counter(), server.getsockname()[1]
    try:
        with pytest.raises(ValueError, match="scheduler: no Dask scheduler answers at 'tcp://127.0.0.1:.*nothing was said"):
            pools._probe(f"tcp://127.0.0.1:{port}")
    finally:
        server.close()
        for conn, _ in held:
            conn.close()
    assert time.perf_counter() - start < 5
    with pytest.raises(ValueError, match="scheduler: no Dask scheduler answers .*refused"):
        pools._probe(f"127.0.0.1:{port}")
    with pytest.raises(ValueError, match="scheduler: expected an address such as"):
        pools._probe("tcp://nowhere")
