"""Every lesson ends with its exercises, read from the classroom's catalog (minflow/classroom/catalog.py,
the one list of them): each exercise of the catalog is printed, and recorded in results.json, under
exactly the lesson it belongs to; a lesson without exercises says so in one line; the self-check command
printed grades exactly that lesson's exercises.
"""
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minflow.classroom import catalog
from minflow.classroom.grade import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "lessons"))
import _lesson  # noqa: E402
from test_lessons import FIGURES, run_all_tiny  # noqa: E402

LESSONS = sorted(FIGURES)


@dataclasses.dataclass(frozen=True)
class _Config:
    seed: int = 0


def _finish(name, tmp_path, capsys):
    """A lesson's own finish() (no training): -> (what it printed, results.json)."""
    lesson = _lesson.Lesson(name, _Config, argv=["--out", str(tmp_path / name)])
    capsys.readouterr()
    lesson.finish()
    return capsys.readouterr().out, json.loads((tmp_path / name / "results.json").read_text())


def _printed_names(out):
    """The exercise names listed in the printed exercises block."""
    block = out.split("--- Exercises", 1)[1]
    return re.findall(r"^  - (\w+): ", block, flags=re.M)


@pytest.mark.parametrize("name", LESSONS)
def test_finish_lists_exactly_the_lessons_exercises(name, tmp_path, capsys):
    number = name[:2]
    expected = [e.name for e in catalog.EXERCISES if e.lesson == number]
    out, summary = _finish(name, tmp_path, capsys)
    assert "--- Exercises" in out
    assert [e["name"] for e in summary["exercises"]] == expected
    if expected:
        assert _printed_names(out) == expected
        for e in catalog.EXERCISES:
            if e.lesson == number:
                assert f"  - {e.name}: {e.title} " in out
        assert "make exercises" in out and f'make grade ARGS="--lesson {number}"' in out
        # the self-check grades exactly these exercises (the grader's own selection by lesson)
        assert list(select(lesson=number)) == expected
    else:
        block = out.split("--- Exercises", 1)[1].strip().splitlines()
        assert "none belong to lesson" in block[0] and not _printed_names(out)


def test_every_catalog_exercise_under_exactly_one_lesson(tmp_path, capsys):
    """Over all the lessons: each exercise of the catalog is listed once, under the lesson the catalog names."""
    seen = {}
    for name in LESSONS:
        _, summary = _finish(name, tmp_path, capsys)
        for e in summary["exercises"]:
            seen.setdefault(e["name"], []).append(name[:2])
    assert seen == {e.name: [e.lesson] for e in catalog.EXERCISES}


def test_self_check_command_is_the_makefiles():
    proc = subprocess.run(["make", "-n", "grade", 'ARGS=--lesson 02'], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "minflow.classroom.grade --lesson 02" in proc.stdout, proc.stdout + proc.stderr
    proc = subprocess.run(["make", "-n", "exercises"], cwd=ROOT, capture_output=True, text=True)
    assert "minflow.classroom.exercises generate" in proc.stdout


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_run_records_its_exercises(name):
    """The real runs (the smoke test's, --tiny, shared with tests/test_lessons.py): results.json lists them."""
    runs = run_all_tiny()
    assert name in runs, "an earlier lesson failed"
    proc, out = runs[name]
    assert proc.returncode == 0
    expected = [e.name for e in catalog.EXERCISES if e.lesson == name[:2]]
    assert [e["name"] for e in json.loads((out / "results.json").read_text())["exercises"]] == expected
    assert "--- Exercises" in proc.stdout
    if expected:
        assert _printed_names(proc.stdout) == expected
