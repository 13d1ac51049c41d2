"""The C10 settling sweep's runner and report (minflow/thesis/documents/regimes_run.py, regimes_report.py),
end to end on the tiny sweep."""
import dataclasses
import json
import math
import os
import re

import numpy as np
import pytest

from minflow.flow import RealNVP
from minflow.thesis.cli import main
from minflow.thesis.pipeline import run_files
from minflow.thesis.documents import regimes_run as R
from minflow.thesis.documents.regimes import PERTURBED, DataSpec, ModelSpec, decide, tnr_key
from minflow.thesis.documents.regimes_report import DECISION_COMMIT, load, read_points, regime_map, regimes_markdown

SWEEP = R.TINY_SWEEP


def _snapshot(folder):
    return {os.path.relpath(os.path.join(d, f), folder): os.stat(os.path.join(d, f)).st_mtime_ns
            for d, _, files in os.walk(folder) for f in files}


def _no_seconds(points):
    return [{k: v for k, v in p.items() if k != "seconds"} for p in points]


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    out = tmp_path_factory.mktemp("regimes")
    R.run_regimes(SWEEP, out, workers=1, progress=False)
    return out


def test_the_tiny_sweep_writes_every_file_and_column(done):
    for name in ("sweep.json", "points.csv", "decision.json", "run.json"):
        assert (done / name).is_file(), name
    assert sorted(os.listdir(done / "points")) == sorted(R.task_name(*t) + ".json" for t in R.all_tasks(SWEEP))
    points = read_points(done / "points.csv")
    n_checkpoints = sum(len(d.checkpoints) for d in SWEEP.data) * len(SWEEP.models) * len(SWEEP.seeds)
    assert len(points) == n_checkpoints
    for p in points:
        assert list(p) == list(R.COLUMNS)
        assert p["gap"] >= 0 and p["sd_logp"] > 0 and p["n_nonfinite"] == 0
        for s, t in PERTURBED:
            for key in (tnr_key(s, t), f"tnr_p_s{s:g}_t{t:g}", f"auroc_ptheta_s{s:g}_t{t:g}"):
                assert 0.0 <= p[key] <= 1.0, key
    run = run_files.read_json(done / "run.json", dict)
    assert run["sweep"] == R.sweep_settings(SWEEP) and set(run["timing"]["task_seconds"]) == {
        R.task_name(*t) for t in R.all_tasks(SWEEP)}


def test_decision_json_is_the_rule_applied_to_points_csv(done):
    points, decision = load(done)
    expected = json.loads(json.dumps(decide(points)))
    assert {k: decision[k] for k in expected} == expected
    assert decision["rule"]["gap_bar"] == 0.25 and decision["not_reached"] == []
    assert decision["sweep"] == R.sweep_settings(SWEEP)


def test_a_seed_scores_every_task_on_the_same_points(done):
    points = read_points(done / "points.csv")
    for seed in SWEEP.seeds:  # the true density's TNR depends only on the seed's evaluation sets
        assert len({(p["tnr_p_s1_t0"], p["mean_logp"], p["sd_logp"]) for p in points if p["seed"] == seed}) == 1


def test_a_resume_does_nothing_new(done):
    before, points = _snapshot(done), read_points(done / "points.csv")
    R.run_regimes(SWEEP, done, workers=1, progress=False)
    assert _snapshot(done) == before
    assert read_points(done / "points.csv") == points


def test_another_sweep_into_the_same_folder_is_refused(done, tmp_path):
    with pytest.raises(ValueError, match=re.escape(str(done))):
        R.run_regimes(dataclasses.replace(SWEEP, n_eval=1000), done, progress=False)
    (tmp_path / "points").mkdir()
    (tmp_path / "points" / "seed0_x_y.json").write_text("[]")
    with pytest.raises(ValueError, match="no sweep.json"):
        R.run_regimes(SWEEP, tmp_path, progress=False)


def test_two_workers_give_the_same_points_as_one(done, tmp_path):
    R.run_regimes(SWEEP, tmp_path, workers=2, progress=False)
    assert _no_seconds(read_points(tmp_path / "points.csv")) == _no_seconds(read_points(done / "points.csv"))


def test_a_checkpoint_does_not_depend_on_later_ones():
    data = SWEEP.data[1]
    longer = R.run_task(SWEEP, 0, data, SWEEP.models[0])
    shorter = R.run_task(SWEEP, 0, dataclasses.replace(data, checkpoints=(1,)), SWEEP.models[0])
    assert [p["epoch"] for p in longer] == [1, 2] and _no_seconds(shorter) == _no_seconds(longer[:1])


def test_the_figure_and_the_markdown(done):
    points, decision = load(done)
    path = regime_map(points, decision, str(done / "regime_map.png"))
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    text = "\n".join(regimes_markdown(str(done), lambda p: os.path.relpath(p, done)))
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert DECISION_COMMIT in text and "(pre-registered)" in text and "regime_map.png" in text
    assert "no configuration met the rule in 2 of 2 seeds" in text  # the tiny models are far from p


def test_the_markdown_names_the_configurations_when_reproducible(done, tmp_path):
    points, _ = load(done)
    for p in points:  # pretend: data "fresh", model "tiny" fits and flags nothing at epoch 2
        if (p["data"], p["model"], p["epoch"]) == ("fresh", "tiny", 2):
            p.update({"gap": 0.1 * p["sd_logp"], **{tnr_key(s, t): 0.01 for s, t in PERTURBED}})
    run_files.write_text(str(tmp_path / "points.csv"), R.points_csv(points))
    record = {**decide(points), "rule": {"gap_bar": 0.25, "tnr_bar": 0.1, "min_seeds": 2}, "not_reached": [],
              "sweep": R.sweep_settings(SWEEP)}
    run_files.write_json(str(tmp_path / "decision.json"), record)
    text = "\n".join(regimes_markdown(str(tmp_path), lambda p: p))
    assert "**Reproducible.**" in text and "fresh data, model tiny, epoch 2: met in 2 of 2 seeds" in text
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)


def test_the_command_draws_and_writes_the_report(done, capsys):
    assert main(["regimes", "--tiny", "--out", str(done), "--quiet"]) == 0
    assert (done / "regime_map.png").is_file() and (done / "regimes.md").read_text().startswith("## Is C10")
    assert "reproducible (pre-registered rule): no" in capsys.readouterr().out


def test_an_unbounded_model_is_passed_through(monkeypatch):
    seen = []

    def spy(*args, **kwargs):
        flow = RealNVP(*args, **kwargs)
        seen.append(flow.spec.s_max)
        return flow

    monkeypatch.setattr(R, "RealNVP", spy)
    points = R.run_task(SWEEP, 0, DataSpec("fixed-1k", 1000, (1, 2)), ModelSpec("unbounded", 2, (8,), None, None))
    assert seen == [None] and [p["epoch"] for p in points] == [1, 2]
    assert all(p["gap"] >= 0 and not math.isnan(p["gap"]) for p in points)
