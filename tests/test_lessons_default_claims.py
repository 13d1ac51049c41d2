"""The lessons' asserted claims at their default settings, without running `make lessons` twice.

`make lessons` asserts every claim at default settings, while tests/test_lessons.py runs the lessons
with --tiny, where claims about a trained model are only reported. A claim that fails at the defaults
must fail here too:
- lessons 01-03 are cheap: they run whole, at default settings, as a user types them;
- lessons 04-09 and 12 train the core model (minutes): they run at default settings with that model
  replaced by the untrained one (``_thesis.thesis_model`` patched), so every claim that does not need
  training (the true density, Monte Carlo estimates, identities of eq. 2 and eq. 18) is computed by the
  lesson's own code on the default sample sizes, and must hold. Claims marked ``needs_training`` are
  left to `make lessons` (CI runs it).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
CHEAP = ["01_change_of_variables", "02_affine_coupling", "03_training"]
# 05, 06 and 09 score many test sets (a minute or more each on 2 cores): `make test-slow` runs them (CI does)
WITH_CORE_MODEL = ["04_information", pytest.param("05_baseline", marks=pytest.mark.slow),
                   pytest.param("06_generalisation", marks=pytest.mark.slow), "07_perturbed", "08_outliers",
                   pytest.param("09_ood_detection", marks=pytest.mark.slow), "12_inside_the_model"]
# The longest line a lesson may print (tests/test_lessons.py: PRINTED_LINE_LIMIT): checked here at the defaults.
PRINTED_LINE_LIMIT = 300
# Claims about the training run itself, which an untrained stand-in cannot have (each holds in make lessons).
ABOUT_TRAINING = ("training lowered the validation NLL",)

UNTRAINED = """
import runpy, sys
sys.path.insert(0, {lessons!r})
import _thesis
import numpy as np
from minflow.tree import tree_map
from minflow.thesis.pipeline import rng_for
from minflow.thesis.pipeline.cells import build_model

def untrained(lesson, dim, config):
    # the initial flow is the identity; small random parameters make every layer act (log-dets vary)
    flow = build_model(dim, config, rng_for(config.seed, "train", dim))
    rng = np.random.default_rng(dim)
    flow.params = tree_map(lambda a: a + 0.01 * rng.standard_normal(a.shape), flow.params)
    return flow, {{"train_nll": [float("nan")], "val_nll": [float("nan")], "seconds": 0.0}}

_thesis.thesis_model = untrained
sys.argv = [{script!r}, "--out", {out!r}]
runpy.run_path({script!r}, run_name="__main__")
"""


def _env():
    return {**os.environ, "MPLBACKEND": "Agg", "MINFLOW_TINY": ""}


def _results(out):
    for folder in (out, out.with_name(out.name + ".partial")):
        if (folder / "results.json").is_file():
            return json.loads((folder / "results.json").read_text())
    raise AssertionError(f"no results.json in {out} or its .partial")


@pytest.mark.parametrize("name", CHEAP)
def test_cheap_lesson_passes_at_default_settings(name, tmp_path):
    out = tmp_path / name
    proc = subprocess.run([sys.executable, str(LESSONS / f"{name}.py"), "--out", str(out)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    summary = _results(out)
    assert summary["settings"] == "default" and not summary["exploring"]
    assert all(c["holds"] and c["asserted"] for c in summary["claims"]), summary["claims"]
    _assert_short_lines(name, proc.stdout)


def _assert_short_lines(name, stdout):
    """No printed line over PRINTED_LINE_LIMIT characters (the lessons wrap their generated sentences)."""
    long = [(len(line), line[:120]) for line in stdout.splitlines() if len(line) > PRINTED_LINE_LIMIT]
    assert not long, f"{name} prints lines over {PRINTED_LINE_LIMIT} characters at default settings: {long}"


@pytest.mark.parametrize("name", WITH_CORE_MODEL)
def test_claims_that_need_no_training_hold_at_default_settings(name, tmp_path):
    out = tmp_path / name
    code = UNTRAINED.format(lessons=str(LESSONS), script=str(LESSONS / f"{name}.py"), out=str(out))
    proc = subprocess.run([sys.executable, "-c", code], cwd=LESSONS, env=_env(), capture_output=True, text=True,
                          timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    summary = _results(out)
    assert not summary["exploring"], "the stand-in must run the lesson at its default settings"
    truth = [c for c in summary["claims"] if not c["needs_training"]
             and not any(text in c["claim"] for text in ABOUT_TRAINING)]
    assert truth, f"{name}: no claim that needs no training"
    failed = [f"{c['claim']} ({c['detail']})" for c in truth if not c["holds"]]
    assert not failed, f"{name} at default settings: " + "; ".join(failed)
    _assert_short_lines(name, proc.stdout)
