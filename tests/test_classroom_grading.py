"""The grader against hostile students: each attack gets exactly the score it deserves.

One hostile submission carries many attacks, one per exercise, so that a single grading run
checks them all; the other exercises hold the solutions and must keep full marks. Solutions
score 100% in every variant, stubs 0%, and a class is graded in one command.
"""
import csv
import json
import shutil

import pytest

from minflow.classroom import exercises as ex
from minflow.classroom import fences
from minflow.classroom import grade as gr
from minflow.classroom.variants import variant_for

SECRET = "hostile-suite-secret"
FAST = dict(exercise_timeout=4.0, case_timeout=2.0)
needs_bwrap = pytest.mark.skipif(bool(gr.sandbox.unavailable()), reason=f"needs bwrap: {gr.sandbox.INSTALL}")


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    return ex.generate(tmp_path_factory.mktemp("g") / "stubs", smoke_test=False)


def submission(stubs, dest, student="student", replace=None, secret=None):
    """A fresh workspace of ``student`` with the solutions of their variant in every region, except
    ``replace`` = {exercise: [lines of its first region]} (its other regions keep the solution)."""
    ex.generate(dest, student=student, secret=secret, smoke_test=False)
    bodies = ex.solution_bodies(ex.find_fences(), variant_for(student, secret))
    for name, lines in (replace or {}).items():
        path = gr.BY_NAME[name].path
        bodies[path][name][0] = lines
    for rel, by_name in bodies.items():
        path = dest / rel
        path.write_text(fences.paste(path.read_text(), by_name, rel)[0])
    return dest


def scores(report):
    return {e["name"]: e["score"] for e in report["exercises"]}


ATTACKS = {
    # the grader's modules are not in the child: no reference to borrow
    "coupling_log_det": ["import importlib", "ref = importlib.import_module('minflow.classroom.grading.reference')",
                         "return -ref.affine_inverse(s, s, s).sum(axis=1)"],
    # no other minflow (the teacher's, an editable install) on the child's path
    "mlp": ["import os, sys", "found = [p for p in sys.path if os.path.isdir(os.path.join(p, 'minflow', 'classroom'))]",
            "sys.modules.pop('minflow.conditioner', None)", "raise RuntimeError(f'no teacher copy: {found}')"],
    "flow_log_prob": ["import os", "os._exit(0)"],
    "mean_nll": ["while True:", "    try:", "        pass", "    except BaseException:", "        pass"],
    "kl_gaussian": ["return 0.5 * (", "    q.dim"],                          # a syntax error
    "tpr_bounds": ["return (-2.2414, 2.2310)"],                           # a lookup table of printed answers
    "coupling_forward": ["return x_b"],                                   # echo the input
    "auroc": ["return 0.5"],                                              # a constant
    "coupling_inverse": ["return ((y_b - t) * xp.exp(-s)).astype('float32')"],
    "gaussian_entropy": ["import os, signal", "os.kill(os.getppid(), signal.SIGKILL)"],
    "additive_coupling": ["return helper_outside_the_region(x_b, t)"],    # code outside the regions is not used
    "cross_entropy_gaussian": ["import sys", "tasks = sys.modules.get('_grading_tasks')",
                               "return float('nan') if tasks is None else tasks.standin_kl(q, p)"],
}


# what each attack deserves: 0, except the float32 result (its two direct calls fail, the layer and the
# gradient, where it is promoted to float64, pass) and the helper outside the region (additive_inverse,
# the second region of that exercise, holds the solution)
DESERVED = dict({name: 0.0 for name in ATTACKS}, coupling_inverse=0.5, additive_coupling=1 / 3)


@pytest.fixture(scope="module")
def hostile(stubs, tmp_path_factory):
    ws = submission(stubs, tmp_path_factory.mktemp("h") / "mallory", replace=ATTACKS)
    additive = ws / "minflow/bijectors/additive.py"
    additive.write_text(additive.read_text() + "\n\ndef helper_outside_the_region(x_b, t):\n    return x_b + t\n")
    init = ws / "minflow/__init__.py"  # the attack that once gave 100%: replace the grader's Checker.case
    init.write_text(init.read_text() + "\nimport sys\nfor m in list(sys.modules):\n    if 'grading' in m:\n"
                    "        sys.modules[m].Checker = None\n")
    return gr.grade(ws, **FAST)


def test_each_attack_scores_zero_on_its_exercise_and_nothing_else_is_lost(hostile):
    got = scores(hostile)
    assert {n: s for n, s in got.items() if n in ATTACKS} == pytest.approx(DESERVED), got
    assert all(s == 1.0 for n, s in got.items() if n not in ATTACKS), got
    assert hostile["percent"] == pytest.approx(100.0 * (len(got) - len(ATTACKS) + 0.5 + 1 / 3) / len(got))


def test_the_reports_say_what_happened(hostile):
    cases = {e["name"]: e["cases"] for e in hostile["exercises"]}
    text = lambda name: " ".join(f"{c['message']} {c['hint']}" for c in cases[name])  # noqa: E731
    assert "ModuleNotFoundError" in text("coupling_log_det")
    assert "no teacher copy: []" in text("mlp")
    assert "ended the process" in text("flow_log_prob")
    assert "time limit" in text("mean_nll") or "took longer" in text("mean_nll")
    assert "does not compile" in text("kl_gaussian")
    assert "float32, expected float64" in text("coupling_inverse")
    assert "NameError" in text("additive_coupling")
    assert "kill its parent" in text("gaussian_entropy") or "returned None" in text("gaussian_entropy")
    assert gr.FLAG_EDITED in hostile["flags"]
    edits = "\n".join(hostile["edits"])
    assert "helper_outside_the_region" in edits and "Checker = None" in edits


def test_the_trivial_cases_a_constant_passes_do_not_count(stubs, tmp_path):
    ws = submission(stubs, tmp_path / "lazy", replace={"coupling_log_det": ["return 0 * s[:, 0]"],
                                                       "kl_gaussian": ["return 0.0"]})
    marker = json.loads((ws / ex.MARKER).read_text())
    assert marker["library"] == ex.fingerprint()
    (ws / ex.MARKER).write_text(json.dumps(dict(marker, library="0" * 16)))  # a hand-out of an older library
    report = gr.grade(ws, ["coupling_log_det", "kl_gaussian"], **FAST)
    for e in report["exercises"]:
        assert e["passed"] == 1 and e["score"] == 0, e
    assert gr.FLAG_VERSION in report["flags"] and gr.FLAG_ID not in report["flags"]


@needs_bwrap
def test_solutions_score_100_percent_in_every_variant_and_the_library_fails_the_variants(stubs, tmp_path):
    for student in ("ada", "grace"):
        ws = submission(stubs, tmp_path / student, student=student, secret=SECRET)
        report = gr.grade(ws, secret=SECRET, **FAST)
        assert report["percent"] == 100.0, [e["cases"] for e in report["exercises"] if e["score"] < 1]
        assert report["variant"] == variant_for(student, SECRET)
        if gr.FLAG_VERSION not in report["flags"]:  # the library changed meanwhile: its diff shows as edits
            assert not report["flags"]
    library = submission(stubs, tmp_path / "copied", student="ada")  # the public library's choices, no secret
    got = scores(gr.grade(library, student="ada", secret=SECRET, **FAST))
    assert {n for n, s in got.items() if s < 1} == {e.name for e in ex.EXERCISES if e.variant}


@needs_bwrap
def test_stubs_score_0_and_the_class_is_graded_in_one_command(stubs, tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    shutil.copytree(stubs, subs / "bob")
    submission(stubs, subs / "ada", student="ada", secret=SECRET)
    (tmp_path / "secret").write_text(SECRET + "\n")
    code = gr.main(["--batch", str(subs), "--csv", str(tmp_path / "scores.csv"), "--feedback",
                    str(tmp_path / "fb"), "--jobs", "2", "--secret-file", str(tmp_path / "secret")])
    assert code == 0
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "scores.csv"))}
    assert float(rows["ada"]["percent"]) == 100.0 and float(rows["bob"]["percent"]) == 0.0
    assert gr.FLAG_EDITED not in rows["ada"]["flags"] or gr.FLAG_VERSION in rows["ada"]["flags"]
    assert rows["bob"]["split_join"] == "0.0"
    bob = json.loads((tmp_path / "fb" / "bob.json").read_text())
    assert all(e["status"] == "not implemented" for e in bob["exercises"])
    assert "Exercise coupling_log_det:" in (tmp_path / "fb" / "bob.txt").read_text()


def test_fresh_inputs_every_run_and_a_recorded_seed_reproduces_one(stubs, tmp_path):
    ws = submission(stubs, tmp_path / "eve", replace={"tpr_bounds": ["return (-1.96, 1.96)"]})
    a, b = gr.grade(ws, ["tpr_bounds", "auroc"], **FAST), gr.grade(ws, ["tpr_bounds", "auroc"], **FAST)
    assert a["seed"] != b["seed"]
    label = lambda r: r["exercises"][0]["cases"][0]["label"]  # noqa: E731
    again = gr.grade(ws, ["tpr_bounds", "auroc"], seed=a["seed"], **FAST)
    assert label(again) == label(a) and scores(again) == scores(a) == {"tpr_bounds": 0.0, "auroc": 1.0}


def test_bad_arguments_are_named(stubs, capsys):
    assert gr.main(["no_such_exercise", "--workspace", str(stubs)]) == 2
    assert "unknown exercise" in capsys.readouterr().err
    assert gr.select(lesson="04")[:3] == ["gaussian_entropy", "kl_gaussian", "cross_entropy_gaussian"]
    with pytest.raises(FileNotFoundError, match="no minflow package"):
        gr.grade(stubs / "nowhere")


def test_every_standard_quantile_rule_is_accepted_and_a_wrong_tail_split_is_not():
    import numpy as np

    from minflow.classroom.grading.checker import Mismatch
    from minflow.classroom.grading.checks_info import bounds_judge

    rng = np.random.default_rng(7)
    methods = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf",
               "hazen", "weibull", "linear", "median_unbiased", "normal_unbiased", "lower", "higher",
               "midpoint", "nearest")
    for n, tpr, frac in ((1000, 0.975, 0.5), (501, 0.9, 0.25), (777, 0.85, 0.7)):
        scores = rng.standard_normal(n)
        judge = bounds_judge(scores, tpr, frac, "bounds")
        for method in methods:
            q = lambda p: float(np.quantile(scores, p, method=method))  # noqa: E731
            judge({"value": (q((1 - tpr) * frac), q(1 - (1 - tpr) * (1 - frac)))})
        with pytest.raises(Mismatch):
            judge({"value": (float(np.quantile(scores, (1 - tpr) / 2)), float(np.quantile(scores, 1 - (1 - tpr) / 2)))}
                  if frac != 0.5 else {"value": (float(np.quantile(scores, 1 - tpr)), np.inf)})


def test_grading_with_a_secret_refuses_without_the_sandbox_and_says_how_to_install_it(stubs, monkeypatch, capsys,
                                                                                     tmp_path):
    monkeypatch.setenv("MINFLOW_BWRAP", "")
    with pytest.raises(gr.sandbox.SandboxMissing, match=r"apt-get install bubblewrap.*--unsandboxed"):
        gr.grade(stubs, ["auroc"], secret=SECRET)
    (tmp_path / "secret").write_text(SECRET + "\n")
    assert gr.main(["auroc", "--workspace", str(stubs), "--secret-file", str(tmp_path / "secret")]) == 2
    assert "apt-get install bubblewrap" in capsys.readouterr().err
    practice = gr.grade(stubs, ["auroc"], **FAST)  # no secret: practice, unsandboxed and flagged
    assert practice["sandboxed"] is False and gr.FLAG_UNSANDBOXED in practice["flags"]
