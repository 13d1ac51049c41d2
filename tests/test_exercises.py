"""Classroom exercises: the generated workspace, its regions, and that no solution leaks.

The grader itself (clean copies, child processes, hostile submissions, a class) is tested in
tests/test_classroom_grading.py.
"""
import json
import subprocess
import sys

import pytest

from minflow.classroom import exercises as ex
from minflow.classroom import fences
from minflow.classroom.grading.templates import SPEED_STANDIN
from minflow.classroom.variants import STANDARD, VARIANTS, describe, variant_for

SOURCE = ex.PACKAGE_DIR


@pytest.fixture(scope="module")
def all_fences():
    return ex.find_fences(SOURCE)


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    return ex.generate(tmp_path_factory.mktemp("ex") / "exercises", package_dir=SOURCE)


def test_every_exercise_has_a_fence_in_its_file(all_fences):
    ex.check_registry(all_fences)
    assert len(ex.EXERCISES) >= 20
    for e in ex.EXERCISES:
        assert (SOURCE.parent / e.source).is_file(), e
        assert e.module == e.path[:-3].replace("/", "."), e
        assert e.variant in ("", *VARIANTS), e
    assert len({e.variant for e in ex.EXERCISES} - {""}) >= 5


def test_malformed_fences_and_regions_are_errors_naming_the_line():
    with pytest.raises(ValueError, match=r"f.py:2: .*never closed"):
        fences.parse_fences("def f():\n    # BEGIN EXERCISE a: hint\n    y = 2\n", "f.py")
    with pytest.raises(ValueError, match=r"f.py:1: .*without an opening line"):
        fences.parse_fences("# END EXERCISE\n", "f.py")
    with pytest.raises(ValueError, match="malformed"):
        fences.parse_fences("    # BEGIN EXERCISE Bad Name\n    # END EXERCISE\n", "f.py")
    with pytest.raises(ValueError, match="opens inside"):
        fences.parse_fences("  # BEGIN EXERCISE a: h\n  # BEGIN EXERCISE b: h\n  # END EXERCISE\n", "f.py")
    with pytest.raises(ValueError, match="inside a function"):
        fences.parse_fences("# BEGIN EXERCISE a: h\nx = 1\n# END EXERCISE\n", "f.py")
    with pytest.raises(ValueError, match="malformed marker"):
        fences.extract("def f():\n    # >>> your code for exercise A below\n", "w.py")


def test_a_region_keeps_the_indentation_and_takes_the_students_code():
    text = "def f(x):\n    y = 1\n    # BEGIN EXERCISE eq_two: thesis eq. 2\n    return x + y\n    # END EXERCISE\n"
    new, found = fences.strip_fences(text)
    assert "return x + y" not in new and "BEGIN EXERCISE" not in new
    assert "    raise NotImplementedError('Exercise eq_two: thesis eq. 2')" in new.splitlines()
    namespace = {}
    exec(compile(new, "f.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="eq. 2"):
        namespace["f"](1)
    [region] = fences.extract(new)
    assert region.name == "eq_two" and region.body == ["    raise NotImplementedError('Exercise eq_two: thesis eq. 2')"]
    # code at any indentation is put back inside the function: a region cannot reach module level
    filled, names = fences.paste(new, {"eq_two": [["import os", "return 2 * x"]]})
    assert names == ["eq_two"] and "    import os" in filled.splitlines()
    namespace = {}
    exec(compile(filled, "f.py", "exec"), namespace)
    assert namespace["f"](3) == 6 and "os" not in namespace
    assert fences.outside(filled) == fences.outside(new)


def test_no_solution_leaks_into_the_workspace(stubs, all_fences):
    solution_lines = {line.strip() for f in all_fences for line in f.body if len(line.strip()) > 16}
    files = [p for p in stubs.rglob("*") if p.is_file()]
    package = [p.relative_to(stubs / "minflow") for p in files if (stubs / "minflow") in p.parents]
    assert package and not [p for p in package if p.parts[0] == "classroom"]
    assert not {"grading", "grade.py", "exercises.py", "fences.py", "catalog.py", "variants.py"} & {
        p.name for p in files}
    assert sorted(p.as_posix() for p in package if p.parts[0] == "speed") == sorted(
        ["speed/__init__.py", *(f"speed/{name}" for name in ex.SPEED_KEPT)])
    assert (stubs / "minflow" / "speed" / "__init__.py").read_text() == SPEED_STANDIN
    for path in files:
        text = path.read_text()
        assert "BEGIN EXERCISE" not in text and "BEGIN VARIANT" not in text and "{variant:" not in text, path
        leaked = solution_lines & {line.strip() for line in text.splitlines()}
        assert not leaked, f"{path}: solution lines {sorted(leaked)}"
    for name in ("PRIOR_SCALE =", "BETAS =", "COPY_PART =", "S_BOUND =", "LOWER_FRACTION ="):
        assert not any(name in p.read_text() for p in files if p.suffix == ".py"), name
    readme = (stubs / "README.md").read_text()
    assert all(f"`{e.name}`" in readme for e in ex.EXERCISES)


def test_variants_come_from_the_id_and_the_secret_and_never_equal_the_library():
    a, b = variant_for("alice", "s3cret-key"), variant_for("alice", "s3cret-key")
    assert a == b and variant_for("alice") == STANDARD
    ids = [f"s{i:03d}" for i in range(60)]
    for key, choices in VARIANTS.items():
        drawn = {variant_for(i, "s3cret-key")[key] for i in ids}
        assert STANDARD[key] not in drawn and len(drawn) >= 3, key
        assert all(describe(key, c) for c in choices)
    assert variant_for("alice", "another-secret") != a or variant_for("bob", "another-secret") != variant_for(
        "bob", "s3cret-key")
    with pytest.raises(ValueError, match="student_id"):
        variant_for("../x", "s3cret-key")
    with pytest.raises(TypeError, match="secret"):
        variant_for("alice", 42)


def test_a_handout_states_the_variant_and_checks_itself_without_the_repository(tmp_path):
    (tmp_path / "roster.txt").write_text("alice\nbob  # a comment\n")
    (tmp_path / "secret").write_text("s3cret-key\n")
    assert ex.main(["handout", "--roster", str(tmp_path / "roster.txt"), "--secret-file", str(tmp_path / "secret"),
                    "--out", str(tmp_path / "h")]) == 0
    alice = tmp_path / "h" / "alice"
    v = variant_for("alice", "s3cret-key")
    readme, parts = (alice / "README.md").read_text(), (alice / "minflow/practice/parts.py").read_text()
    assert describe("copy_part", v["copy_part"]) in readme and describe("copy_part", v["copy_part"]) in parts
    assert json.loads((alice / ex.MARKER).read_text())["student"] == "alice"
    assert (alice / "lessons" / "02_affine_coupling.py").is_file() and (tmp_path / "h" / "bob").is_dir()
    proc = subprocess.run([sys.executable, "-I", "selfcheck.py", "coupling_forward", "split_join"], cwd=alice,
                          capture_output=True, text=True)
    assert "not implemented" in proc.stdout and proc.returncode == 0, proc.stdout + proc.stderr


def _run_in(workspace, code):
    proc = subprocess.run([sys.executable, "-c", f"WS = {str(workspace)!r}\n" + code], cwd=workspace,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr


def test_the_workspace_runs_the_students_code_not_a_fast_path(stubs):
    code = """
import numpy as np, minflow
assert minflow.__file__.startswith(WS), minflow.__file__
assert minflow.engine.DEFAULT == "reference" and minflow.engine.names() == ["reference"]
rng = np.random.default_rng(0)
flow = minflow.RealNVP(2, n_layers=2, hidden=(4,), rng=rng)
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


def test_a_key_with_solutions_trains_on_the_reference_engine(tmp_path):
    assert ex.main(["generate", "--out", str(tmp_path / "key"), "--with-solutions"]) == 0
    code = """
import numpy as np, minflow
rng = np.random.default_rng(0)
flow = minflow.RealNVP(2, n_layers=2, hidden=(8,), rng=rng)
assert flow.engine == "reference", flow.engine
data = rng.standard_normal((256, 2)) * [2.0, 0.5] + [1.0, -1.0]
before = -np.mean(flow.log_prob(data))
minflow.fit(flow, data, rng=rng, epochs=5, batch_size=64)
assert -np.mean(flow.log_prob(data)) < before
print("ok")
"""
    _run_in(tmp_path / "key", code)


def test_generate_does_not_overwrite_students_work(stubs, tmp_path):
    out = tmp_path / "class"
    (out / "minflow").mkdir(parents=True)
    (out / "minflow" / "alice.py").write_text("work")
    with pytest.raises(FileExistsError, match="not made by this generator"):
        ex.generate(out, force=True, package_dir=SOURCE, smoke_test=False)
    with pytest.raises(FileExistsError, match="--force"):
        ex.generate(stubs, package_dir=SOURCE, smoke_test=False)
    assert (out / "minflow" / "alice.py").read_text() == "work"
    with pytest.raises(ValueError, match="secret"):
        ex.handouts(["a"], tmp_path / "h", secret=None)


def test_selfcheck_passes_a_correct_variant_and_covers_every_exercise(tmp_path):
    """Correct code in a personal variant: every one of the 25 checks says ok (NumPy's bools included)."""
    ex.generate(tmp_path / "alice", student="alice", secret="s3cret-key", handout=True, solved=True, smoke_test=False)
    proc = subprocess.run([sys.executable, "-I", "selfcheck.py"], cwd=tmp_path / "alice", capture_output=True, text=True)
    verdicts = dict(line.split(None, 1) for line in proc.stdout.splitlines()[:-1])
    assert list(verdicts) == list(ex.NAMES), proc.stdout
    assert set(verdicts.values()) == {"ok"} and proc.returncode == 0, proc.stdout + proc.stderr


def test_a_practice_workspace_runs_the_command_its_readme_gives_first(stubs):
    """`make exercises` (no hand-out): the README says `python selfcheck.py`; it is there and runs."""
    assert "python selfcheck.py" in (stubs / "README.md").read_text()
    proc = subprocess.run([sys.executable, "-I", "selfcheck.py", "split_join"], cwd=stubs, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode in (0, 1) and "split_join" in proc.stdout, proc.stdout + proc.stderr
