"""The float32 evaluation (config.eval_dtype, the thesis32 preset of `make reproduce`) and its agreement rule.

The user's path is `python -m minflow precision` (here with --tiny, in a scratch folder): two runs of one
seed, the same trained models, the tables compared cell by cell, the rule of documents/precision.py."""
import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from minflow.thesis.documents import precision
from minflow.thesis.pipeline import preset
from minflow.thesis.pipeline import cells as C
from minflow.thesis.pipeline.store import config_digest
from minflow.tree import tree_map

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_eval_dtype_is_checked_and_named():
    with pytest.raises(ValueError, match="eval_dtype"):
        preset("tiny", eval_dtype="float16")
    assert preset("tiny").score_dtype == "float64"
    assert preset("tiny", eval_dtype="float32").score_dtype == "float32"
    assert preset("thesis32").score_dtype == "float32" and preset("thesis32").dtype == "float64"
    # the thesis32 preset is the thesis preset but for eval_dtype
    a, b = preset("thesis").to_dict(), preset("thesis32").to_dict()
    assert [k for k in a if a[k] != b[k]] == ["eval_dtype"]


def test_earlier_runs_keep_their_digest():
    """A run recorded before eval_dtype existed owns its cells: the digest leaves the field out while it is None."""
    cfg = preset("tiny").to_dict()
    old = {k: v for k, v in cfg.items() if k != "eval_dtype"}
    assert config_digest(cfg) == config_digest(old)
    assert config_digest(preset("tiny", eval_dtype="float32").to_dict()) != config_digest(cfg)


def _random_flow(dim, config):
    """A flow with random, non-identity conditioners (a zero-initialised one would hide the dtype)."""
    flow = C.build_model(dim, config, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    flow.params = tree_map(lambda a: a + 0.3 * rng.standard_normal(a.shape), flow.params)
    return flow


def test_float32_scores_differ_by_rounding_only():
    cfg64 = preset("tiny", n_test=4000)
    cfg32 = preset("tiny", n_test=4000, eval_dtype="float32")
    dists = C.distributions(6, cfg64)
    flow = _random_flow(6, cfg64)
    rows = {}
    for name, cfg in (("64", cfg64), ("32", cfg32)):
        ref = C.evaluate_reference(flow, dists, cfg, C.rng_for(0, "reference", 6))
        rows[name], _ = C.evaluate_cell(flow, dists, "outlier", 1.0, 0.5, cfg, C.rng_for(0, "cell", 6), reference=ref)
    a, b = rows["32"], rows["64"]
    for col in precision.SAME_COLUMNS:   # the draws and the true density: the same bits
        assert a[col] == b[col], col
    assert a["Hs_qptheta"] != b["Hs_qptheta"]   # float32 did run ...
    assert abs(a["Hs_qptheta"] - b["Hs_qptheta"]) < 1e-4 * abs(b["Hs_qptheta"])   # ... and only rounds
    assert abs(a["var_logp_theta"] - b["var_logp_theta"]) < 1e-4 * b["var_logp_theta"]


def _table(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def _write_table(path, rows):
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="module")
def tiny_precision(tmp_path_factory):
    """`python -m minflow precision --tiny` as a user types it, in an empty folder."""
    cwd = tmp_path_factory.mktemp("precision")
    env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-m", "minflow", "precision", "--tiny", "--quiet"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return cwd / "results" / "precision-tiny", done.stdout


def test_precision_command_agrees_on_the_same_models(tiny_precision):
    root, out = tiny_precision
    a = json.loads((root / "agreement.json").read_text())
    assert a["agrees"] and a["same_models"] is True and a["settings_differ"] == ["eval_dtype"]
    assert a["cells"] == 24 and a["cells_beyond_se"] == 0 and a["columns_unequal"] == []
    assert 0 < max(a["worst_in_se"].values()) < 1e-2   # float32 ran, and its rounding is far below the MC error
    assert len(_table(root / "agreement.csv")) == 24
    assert "float32 agrees over 24 cells" in out


def test_the_rule_fails_when_a_number_moves_one_standard_error(tiny_precision, tmp_path):
    root, _ = tiny_precision
    run32, run64 = tmp_path / "run32", root / "seed0-float64"
    shutil.copytree(root / "seed0-float32", run32)
    rows = _table(run32 / "table.csv")
    ref = _table(run64 / "table.csv")
    rows[5]["Hs_qptheta"] = repr(float(ref[5]["Hs_qptheta"]) + 1.01 * float(ref[5]["Hs_qptheta_se"]))
    rows[7]["mean_logp"] = repr(float(rows[7]["mean_logp"]) + 1e-12)
    _write_table(run32 / "table.csv", rows)
    d = precision.decide(precision.compare(str(run32), str(run64)), precision.verdicts(str(run32), str(run64)))
    assert not d["agrees"] and d["cells_beyond_se"] == 1 and d["columns_unequal"] == ["mean_logp"]


def test_the_rule_fails_when_a_verdict_flips(tiny_precision, tmp_path):
    root, _ = tiny_precision
    run32, run64 = tmp_path / "run32", root / "seed0-float64"
    shutil.copytree(root / "seed0-float32", run32)
    claims = json.loads((run32 / "claims.json").read_text())
    claims[0]["checks"][0]["passed"] = not claims[0]["checks"][0]["passed"]
    (run32 / "claims.json").write_text(json.dumps(claims))
    d = precision.decide(precision.compare(str(run32), str(run64)), precision.verdicts(str(run32), str(run64)))
    assert not d["agrees"] and d["verdicts_differ"] == [claims[0]["id"]]


def test_standard_errors_of_rates_never_vanish():
    assert precision._rate_se(0.0, 10**6) > 0 and precision._rate_se(1.0, 10**6) > 0
    assert precision._auroc_se(1.0, 10**6) > 0
    # Hanley-McNeil at A = 0.5 with n = m: sqrt((n + 1) / (12 n^2))... to first order 1 / sqrt(6 n)
    assert precision._auroc_se(0.5, 10**4) == pytest.approx(1 / np.sqrt(6 * 10**4), rel=0.02)


def test_a_second_precision_command_only_reads_the_finished_runs(tiny_precision):
    """Resuming a finished run would record a no-op invocation over the seed's timing (RESULTS.md judges it)."""
    root, _ = tiny_precision
    before = {p: p.read_bytes() for p in sorted(root.glob("seed0-float*/run.json"))}
    env = {**os.environ, "PYTHONPATH": ROOT, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-m", "minflow", "precision", "--tiny", "--quiet"], cwd=root.parent.parent,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(before) == 2 and {p: p.read_bytes() for p in before} == before
    assert "float32 agrees over 24 cells" in done.stdout
