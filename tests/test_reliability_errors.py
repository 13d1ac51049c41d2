"""Errors that name their cause (issue 24): --workers capped with a warning and checked by name,
--report PATH reports the runs of --out, out-of-memory requests named."""
import os
import subprocess
import sys

import pytest

from minflow.thesis.cli import main
from minflow.thesis.experiments import preset, read_table, run
from minflow.thesis.experiments import workers as pools

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = dict(dims=(4,), S=(1.0,), T=(0.0,), n_test=500, n_reference=500, kde_keep=50,
             training={"epochs": 2, "epoch_size": 512, "validation": 256})


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
