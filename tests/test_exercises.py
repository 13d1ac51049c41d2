"""Classroom exercises: the generated workspace, the grader, and that no solution leaks.

One workspace is generated per module; copies of it get the solutions pasted back (100%),
nothing (0%), or deliberately wrong solutions (exactly those exercises fail, with their hints).
"""
import json
import shutil
import subprocess
import sys

import pytest

from minflow.classroom import exercises as ex
from minflow.classroom import grade as gr
from minflow.classroom.grading.templates import SPEED_STANDIN

SOURCE = ex.PACKAGE_DIR


@pytest.fixture(scope="module")
def fences():
    return ex.find_fences(SOURCE)


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    return ex.generate(tmp_path_factory.mktemp("ex") / "exercises", package_dir=SOURCE)


def _copy(stubs, tmp_path, name):
    dest = tmp_path / name
    shutil.copytree(stubs, dest)
    return dest


def _with_solutions(fences, replace=None):
    """The solution key, with some fences' bodies replaced: replace = {name: [body lines, ...]}."""
    replace = replace or {}
    return [f._replace(body=[f.indent + line for line in replace[f.name]]) if f.name in replace else f
            for f in fences]


def _by_name(report):
    return {e["name"]: e for e in report["exercises"]}


def test_every_exercise_has_a_fence_and_every_fence_an_exercise(fences):
    ex.check_registry(fences)
    for e in ex.EXERCISES:
        path = e.path.removeprefix("minflow/")
        assert any(f.name == e.name and f.path == path for f in fences), e
        assert (SOURCE.parent / e.path).is_file() and e.module == e.path[:-3].replace("/", "."), e


def test_malformed_fences_are_errors_naming_the_line():
    with pytest.raises(ValueError, match=r"f.py:2: .*no '# END EXERCISE'"):
        ex.parse_fences("def f():\n    # BEGIN EXERCISE a: hint\n    y = 2\n", "f.py")
    with pytest.raises(ValueError, match=r"f.py:1: '# END EXERCISE' without a BEGIN"):
        ex.parse_fences("# END EXERCISE\n", "f.py")
    with pytest.raises(ValueError, match="malformed"):
        ex.parse_fences("    # BEGIN EXERCISE Bad Name\n    # END EXERCISE\n", "f.py")
    with pytest.raises(ValueError, match="opens inside"):
        ex.parse_fences("  # BEGIN EXERCISE a: h\n  # BEGIN EXERCISE b: h\n  # END EXERCISE\n", "f.py")
    with pytest.raises(ValueError, match="inside a function"):
        ex.parse_fences("# BEGIN EXERCISE a: h\nx = 1\n# END EXERCISE\n", "f.py")


def test_stub_keeps_the_indentation_and_names_the_equation():
    text = "def f(x):\n    y = 1\n    # BEGIN EXERCISE eq_two: thesis eq. 2\n    return x + y\n    # END EXERCISE\n"
    new, found = ex.strip_fences(text)
    assert "return x + y" not in new and "BEGIN EXERCISE" not in new
    assert "    raise NotImplementedError('Exercise eq_two: thesis eq. 2')" in new.splitlines()
    namespace = {}
    exec(compile(new, "f.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="eq. 2"):
        namespace["f"](1)


def test_no_solution_leaks_into_the_workspace(stubs, fences):
    solution_lines = {line.strip() for f in fences for line in f.body if line.strip()}
    files = [p for p in stubs.rglob("*") if p.is_file()]
    package = [p.relative_to(stubs / "minflow") for p in files if (stubs / "minflow") in p.parents]
    assert package and not [p for p in package if p.parts[0] == "classroom"]
    assert not {"grading", "grade.py", "exercises.py", "fences.py", "catalog.py"} & {p.name for p in files}
    speed = [p for p in package if p.parts[0] == "speed"]
    assert [p.as_posix() for p in speed] == ["speed/__init__.py"]
    assert (stubs / "minflow" / "speed" / "__init__.py").read_text() == SPEED_STANDIN
    assert not [p for p in files if p.suffix in (".pyc", ".pyo")]
    for path in files:
        text = path.read_text()
        assert "BEGIN EXERCISE" not in text and "END EXERCISE" not in text, path
        leaked = solution_lines & {line.strip() for line in text.splitlines()}
        assert not leaked, f"{path}: solution lines {sorted(leaked)}"
    readme = (stubs / "README.md").read_text()
    assert all(f"`{e.name}`" in readme for e in ex.EXERCISES)


def _run_in(workspace, code):
    proc = subprocess.run([sys.executable, "-c", f"WS = {str(workspace)!r}\n" + code], cwd=workspace,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


def test_the_workspace_runs_the_students_code_not_a_fast_path(stubs):
    """Flow.log_prob and fit must reach the student's stubs: no speed engine runs instead of them."""
    code = """
import numpy as np, minflow
assert minflow.__file__.startswith(WS), minflow.__file__
assert minflow.engine.DEFAULT == "reference" and minflow.engine.names() == ["reference"]
rng = np.random.default_rng(0)
flow = minflow.RealNVP(2, n_layers=2, hidden=(4,), rng=rng)
assert flow.engine == "reference", flow.engine
for call in (lambda: flow.log_prob(np.zeros((3, 2))),
             lambda: minflow.fit(flow, rng.standard_normal((64, 2)), rng=rng, epochs=1, batch_size=32)):
    try:
        call()
    except NotImplementedError as err:
        assert str(err).startswith("Exercise "), err
    else:
        raise AssertionError("ran without reaching a stub")
print("ok")
"""
    _run_in(stubs, code)


def test_a_workspace_with_solutions_trains_on_the_reference_engine(tmp_path):
    key = ex.main(["generate", "--out", str(tmp_path / "key"), "--with-solutions"])
    assert key == 0
    code = """
import numpy as np, minflow
assert minflow.__file__.startswith(WS), minflow.__file__
rng = np.random.default_rng(0)
flow = minflow.RealNVP(2, n_layers=2, hidden=(8,), rng=rng)
assert flow.engine == "reference", flow.engine
data = rng.standard_normal((256, 2)) * [2.0, 0.5] + [1.0, -1.0]
before = -np.mean(flow.log_prob(data))
history = minflow.fit(flow, data, rng=rng, epochs=5, batch_size=64)
after = -np.mean(flow.log_prob(data))
assert np.isfinite(after) and after < before, (before, after)
print("ok")
"""
    _run_in(tmp_path / "key", code)


def test_solutions_pasted_back_score_100_percent(stubs, fences, tmp_path):
    key = _copy(stubs, tmp_path, "key")
    assert ex.fill(key, fences) == len(fences)
    report = gr.grade(key)
    failed = {e["name"]: e["cases"] for e in report["exercises"] if e["status"] != "pass"}
    assert not failed
    assert report["percent"] == 100.0 and len(report["exercises"]) == len(ex.EXERCISES)
    assert report["package"].startswith(str(key.resolve()))


def test_raw_stubs_score_0_without_crashing(stubs, capsys):
    code = gr.main(["--workspace", str(stubs), "--fail-under", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "Score: 0.00 / 13 exercises = 0.0%" in out
    assert out.count("not implemented") == len(ex.EXERCISES)
    assert "Exercise coupling_log_det: thesis eq. 5-6" in out


def test_log_det_with_the_wrong_sign_fails_only_that_exercise(stubs, fences, tmp_path):
    ws = _copy(stubs, tmp_path, "wrong_sign")
    ex.fill(ws, _with_solutions(fences, {"coupling_log_det": ["return -xp.sum(s, axis=1)"]}))
    report = _by_name(gr.grade(ws))
    assert [n for n, e in report.items() if e["status"] != "pass"] == ["coupling_log_det"]
    bad = [c for c in report["coupling_log_det"]["cases"] if c["status"] == "fail"]
    assert len(bad) == 2  # random s, and the whole layer; s = 0 still passes
    for case in bad:
        assert "expected" in case["message"] and "got" in case["message"]
        assert case["hint"].startswith("check the sign of the log-determinant")


def test_typical_mistakes_fail_exactly_their_exercises_with_their_hints(stubs, fences, tmp_path):
    ws = _copy(stubs, tmp_path, "mistakes")
    ex.fill(ws, _with_solutions(fences, {
        "coupling_inverse": ["return (y_b - t) * xp.exp(s)"],
        "flow_log_prob": ["z, log_det = forward_pass(layers, params, x)",
                          "return standard_normal_log_prob(z) - log_det"],
        "mean_nll": ["return xp.sum(flow_log_prob(layers, params, x)) / x.shape[0]"],
        "mlp": ["raise ValueError('shapes do not match')"],
        "kl_gaussian": ["return correct_kl(p, q)"],  # the arguments swapped
    }))
    info = ws / "minflow" / "thesis" / "information.py"
    kl_body = next(f for f in fences if f.name == "kl_gaussian").body
    info.write_text(info.read_text() + "\n\ndef correct_kl(q, p):\n" + "\n".join(kl_body) + "\n")
    report = _by_name(gr.grade(ws))
    failed = sorted(n for n, e in report.items() if e["status"] != "pass")
    assert failed == sorted(["coupling_inverse", "flow_log_prob", "mean_nll", "mlp", "kl_gaussian"])
    hints = lambda name: " ".join(c["hint"] or "" for c in report[name]["cases"])  # noqa: E731
    assert "did you use exp(-s)?" in hints("coupling_inverse")
    assert "check the sign of the log-determinant" in hints("flow_log_prob")
    assert "NEGATIVE mean log-likelihood" in hints("mean_nll")
    assert "you computed KL(p || q)" in hints("kl_gaussian")
    mlp_errors = [c for c in report["mlp"]["cases"] if c["status"] == "error"]
    where = "raised ValueError: shapes do not match (in minflow/conditioner.py, line"
    assert mlp_errors and all(where in c["message"] for c in mlp_errors)


def test_expected_values_come_from_the_graders_copy_not_the_workspace(stubs, fences, tmp_path):
    """A workspace that changes what the grader takes from the library (LOG_2PI, the activation
    table) fails: the grader's reference values are computed by the teacher's copy."""
    ws = _copy(stubs, tmp_path, "tampered")
    ex.fill(ws, fences)
    for rel, line in (("prior.py", "LOG_2PI = 1.8"), ("conditioner.py", "ACTIVATIONS['tanh'] = ACTIVATIONS['elu']")):
        path = ws / "minflow" / rel
        path.write_text(path.read_text() + "\n" + line + "\n")
    report = _by_name(gr.grade(ws, ["flow_log_prob", "mlp", "gaussian_entropy", "auroc"]))
    assert [n for n, e in report.items() if e["status"] != "pass"] == ["flow_log_prob", "mlp", "gaussian_entropy"]
    failed_mlp = [c["label"] for c in report["mlp"]["cases"] if c["status"] != "pass"]
    assert failed_mlp == ["activation='tanh': the argument chooses the activation",
                          "autograd's gradient in the parameters"]  # both in tanh; the relu cases pass


def test_a_package_that_does_not_import_is_reported_not_a_crash(stubs, tmp_path):
    ws = _copy(stubs, tmp_path, "syntax_error")
    prior = ws / "minflow" / "prior.py"  # imported by `import minflow`: every exercise scores 0
    prior.write_text(prior.read_text() + "\ndef broken(:\n")
    report = gr.grade(ws, ["mlp", "auroc"])
    for e in report["exercises"]:
        assert e["score"] == 0 and e["cases"][0]["label"] == "import minflow"
        assert "raised SyntaxError: invalid syntax (in minflow/prior.py, line" in e["cases"][0]["message"]


def test_a_thesis_module_that_does_not_import_fails_only_its_exercises(stubs, tmp_path):
    ws = _copy(stubs, tmp_path, "syntax_error_ood")
    ood = ws / "minflow" / "thesis" / "ood.py"  # loaded on first use, not by `import minflow`
    ood.write_text(ood.read_text() + "\ndef broken(:\n")
    report = _by_name(gr.grade(ws, ["mlp", "auroc"]))
    assert report["mlp"]["status"] == "not implemented"
    case = report["auroc"]["cases"][0]
    assert report["auroc"]["score"] == 0 and case["label"] == "import minflow.thesis.ood"
    assert "raised SyntaxError: invalid syntax (in minflow/thesis/ood.py, line" in case["message"]


def test_json_report_and_selection(stubs, capsys):
    assert gr.main(["auroc", "tpr_bounds", "--workspace", str(stubs), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in report["exercises"]] == ["tpr_bounds", "auroc"]
    assert report["percent"] == 0.0 and report["exercises"][0]["cases"][0]["status"] == "not implemented"
    assert gr.main(["no_such_exercise", "--workspace", str(stubs)]) == 2
    assert "unknown exercise" in capsys.readouterr().err
    assert gr.select(lesson="04") == ["gaussian_entropy", "kl_gaussian", "cross_entropy_gaussian"]


def test_generate_does_not_overwrite_students_work(stubs, tmp_path):
    out = tmp_path / "class"
    (out / "minflow").mkdir(parents=True)
    (out / "minflow" / "alice.py").write_text("work")
    with pytest.raises(FileExistsError, match="not made by this generator"):
        ex.generate(out, force=True, package_dir=SOURCE, smoke_test=False)
    with pytest.raises(FileExistsError, match="--force"):
        ex.generate(stubs, package_dir=SOURCE, smoke_test=False)
    assert (out / "minflow" / "alice.py").read_text() == "work"
    with pytest.raises(FileNotFoundError, match="no minflow package"):
        gr.grade(tmp_path / "nowhere")


def test_a_case_that_loops_or_exits_is_recorded_and_grading_goes_on():
    from minflow.classroom.grading.checker import Checker

    ck = Checker(SOURCE, case_timeout=0.3)
    with ck.case("endless loop that swallows exceptions"):
        while True:
            try:
                pass
            except Exception:
                pass
    with ck.case("sys.exit"):
        raise SystemExit(3)
    with ck.case("fine"):
        pass
    assert [c["status"] for c in ck.cases] == ["fail", "error", "pass"]
    assert "took longer than 0.3 s" in ck.cases[0]["message"]
