"""Grade an exercises workspace: per-exercise scores with actionable messages.

    python -m minflow.classroom.grade                          # every exercise, workspace ./exercises
    python -m minflow.classroom.grade coupling_log_det mlp --workspace submissions/alice
    python -m minflow.classroom.grade --lesson 02 --json > alice.json   # for a gradebook

The checks run in a separate Python process (``grading/runner.py``) whose ``sys.path`` starts
with the workspace, so ``import minflow`` there is the student's copy; the expected values are
computed by the grader (``minflow/classroom/grading``, imported from the teacher's copy before the
workspace goes on ``sys.path``), never by the workspace. A stub (``NotImplementedError``) scores 0 for its
exercise, an exception in the student's code is reported as that case's result, and a case
running past its time limit fails; none of them stops the grading. Each exercise scores the
fraction of its cases that pass; the total is the mean over the graded exercises, in percent.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .catalog import BY_NAME, EXERCISES, NAMES

RUNNER = Path(__file__).resolve().parent / "grading" / "runner.py"


def find_package_root(workspace):
    """The folder to put first on sys.path: ``workspace`` if it holds ``minflow/``, or the parent of
    a ``minflow`` package folder given directly."""
    ws = Path(workspace).resolve()
    if (ws / "minflow" / "__init__.py").is_file():
        return ws
    if ws.name == "minflow" and (ws / "__init__.py").is_file():
        return ws.parent
    raise FileNotFoundError(f"workspace: no minflow package in {workspace} "
                            "(run `make exercises` to generate one, or pass --workspace DIR)")


def select(names=(), lesson=None):
    """The exercise names to grade, in course order; unknown names raise ValueError."""
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown exercise(s) {unknown}; the exercises are: {', '.join(NAMES)}")
    chosen = [n for n in NAMES if (not names or n in names) and (lesson is None or BY_NAME[n].lesson == lesson)]
    if not chosen:
        raise ValueError(f"no exercise in lesson {lesson!r}; lessons: {sorted({e.lesson for e in EXERCISES})}")
    return chosen


def grade(workspace="exercises", names=(), lesson=None, timeout=600):
    """Grade ``workspace``: -> report dict (JSON-ready), see ``format_grade_report``."""
    root = find_package_root(workspace)
    chosen = select(names, lesson)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        try:
            proc = subprocess.run([sys.executable, str(RUNNER), str(root), str(out), *chosen], cwd=tmp, env=env,
                                  capture_output=True, text=True, timeout=timeout)
            crash = "" if out.exists() else f"the grader's process failed:\n{proc.stderr[-2000:]}"
        except subprocess.TimeoutExpired:
            crash = f"grading took longer than {timeout} s and was stopped"
        raw = json.loads(out.read_text()) if not crash else {"package": None, "results": {}}
    exercises = []
    for name in chosen:
        cases = raw["results"].get(name) or [{"label": "grading", "status": "error", "message": crash,
                                              "hint": None}]
        passed = sum(c["status"] == "pass" for c in cases)
        status = ("pass" if passed == len(cases) else
                  "not implemented" if all(c["status"] == "not implemented" for c in cases) else "fail")
        e = BY_NAME[name]
        exercises.append({"name": name, "lesson": e.lesson, "title": e.title, "where": e.where, "status": status,
                          "passed": passed, "total": len(cases), "score": passed / len(cases), "cases": cases})
    points = sum(e["score"] for e in exercises)
    return {"workspace": str(Path(workspace)), "package": raw["package"], "points": points,
            "max_points": len(exercises), "percent": 100.0 * points / len(exercises), "exercises": exercises}


def format_grade_report(report, verbose=False):
    """The grade report of ``grade`` as text: one line per exercise, then each failed case with its message and hint."""
    lines = [f"Grading {report['workspace']} (minflow from {report['package'] or '?'})", "",
             f"  #  {'exercise':24s} lesson  score"]
    for i, e in enumerate(report["exercises"], start=1):
        number = NAMES.index(e["name"]) + 1
        label = {"pass": "ok", "not implemented": "not implemented", "fail": "FAIL"}[e["status"]]
        lines.append(f" {number:2d}  {e['name']:24s} {e['lesson']:6s}  {e['passed']}/{e['total']}   {label}")
        if e["status"] == "not implemented":
            lines.append(f"       {e['where']}: {e['cases'][0]['message']}")
            continue
        for case in e["cases"]:
            if case["status"] == "pass" and not verbose:
                continue
            mark = "ok" if case["status"] == "pass" else "x "
            lines.append(f"     {mark} {case['label']}")
            if case["message"]:
                lines.append(f"         {case['message']}")
            if case["hint"]:
                lines.append(f"         hint: {case['hint']}")
    lines += ["", f"Score: {report['points']:.2f} / {report['max_points']} exercises = {report['percent']:.1f}%"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minflow.classroom.grade", description=__doc__.split("\n")[0])
    parser.add_argument("exercises", nargs="*", metavar="EXERCISE", help=f"exercises to grade (default: all): "
                                                                          f"{', '.join(NAMES)}")
    parser.add_argument("--workspace", default="exercises", help="folder holding the student's minflow/ "
                                                                 "(default: exercises)")
    parser.add_argument("--lesson", help="grade only the exercises of this lesson, e.g. 02")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (for a gradebook)")
    parser.add_argument("--verbose", action="store_true", help="list passed cases too")
    parser.add_argument("--fail-under", type=float, default=None, metavar="PERCENT",
                        help="exit with status 1 if the score is below PERCENT")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for the whole grading (default 600)")
    args = parser.parse_args(argv)
    lesson = None if args.lesson is None else args.lesson.zfill(2)
    try:
        report = grade(args.workspace, args.exercises, lesson, args.timeout)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1) if args.json else format_grade_report(report, args.verbose))
    return 1 if args.fail_under is not None and report["percent"] < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
