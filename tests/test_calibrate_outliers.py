"""Smoke test of tools/calibrate_outliers.py: its --quick sweep runs, writes both files and agrees with itself."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quick_sweep_writes_a_consistent_report(tmp_path):
    run = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "calibrate_outliers.py"), "--quick",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "outlier_calibration.json").read_text())
    members = report["members"]
    assert len(members) == 5 and members[0]["knobs"] == report["config"]["reference"]
    chosen = report["chosen"]
    assert chosen in members and chosen["score"] == min(m["score"] for m in members)
    for m in members:
        assert len(m["mean"]) == len(m["min"]) == len(report["config"]["seeds"])
        assert all(0.0 <= lo <= mean <= 1.0 for lo, mean in zip(m["min"], m["mean"]))
        score = sum(max(abs(a - 0.98), abs(b - 0.96)) for a, b in zip(m["mean"], m["min"])) / len(m["mean"])
        assert abs(score - m["score"]) < 1e-4
    assert report["check"]["max_abs_diff"] <= 1e-3      # the whitened shortcut equals q_out.sample + p.log_prob
    assert set(report["dims"]) == {"10", "20"}
    md = (tmp_path / "outlier_calibration.md").read_text()
    assert "| **chosen** |" in md and "30-cell grid" in md
