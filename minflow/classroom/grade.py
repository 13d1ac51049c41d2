"""Grade exercise workspaces: one student, or a whole class in one command.

    python -m minflow.classroom.grade --workspace alice                  # every exercise, a text report
    python -m minflow.classroom.grade coupling_log_det --workspace alice --json
    python -m minflow.classroom.grade --batch submissions/ --csv scores.csv --jobs 2 --secret-file secret

Only the code between a submission's markers is graded: ``grading/sandbox.py`` pastes it into a
clean copy of the library and runs each exercise in its own child process; the comparisons
happen here, in a process that never imports the student's code. Inputs are fresh random draws
for every run (the seed is in the report); variants come from the student id and the secret.
Each exercise scores the fraction of its cases that pass (0 if no non-trivial case passes); the
total is the mean over the graded exercises, in percent.
"""
import argparse
import json
from concurrent.futures import ProcessPoolExecutor
import secrets
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

from .catalog import BY_NAME, EXERCISES, NAMES
from .exercises import MARKER, fingerprint, read_secret
from .grading import PLANS, sandbox
from .grading.checker import judge_case, score
from .report import format_grade_report, write_csv
from .variants import variant_for

FLAG_EDITED = "edited outside the stubs"
FLAG_ID = "student id differs from the workspace's"
FLAG_VERSION = "hand-out made from another version of the library (outside edits are diffed against this one)"


def find_package_root(workspace):
    """The folder that holds ``minflow/``: ``workspace``, or the parent of a ``minflow`` folder given directly."""
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


def _marker(root):
    """The hand-out's marker file (student id, library fingerprint), {} if absent or unreadable."""
    try:
        marker = json.loads((root / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def grade(workspace="exercises", names=(), lesson=None, student=None, secret=None, seed=None,
          exercise_timeout=sandbox.EXERCISE_TIMEOUT, case_timeout=sandbox.CASE_TIMEOUT):
    """Grade ``workspace`` for ``student`` (default: the id the workspace was made for, else its
    folder name): -> report dict (JSON-ready), see ``format_grade_report``."""
    root = find_package_root(workspace)
    chosen, marker = select(names, lesson), _marker(root)
    own = marker.get("student")
    student = student or own or root.name
    seed = secrets.randbits(63) if seed is None else int(seed)
    rng = np.random.default_rng([seed, zlib.crc32(student.encode())])
    variant = variant_for(student, secret)
    plans = {name: PLANS[name](rng, variant) for name in chosen}
    with tempfile.TemporaryDirectory(prefix="minflow-grade-") as tmp:
        problems, edits = sandbox.prepare(root, variant, Path(tmp) / "clean")
        runnable = [n for n in chosen if n not in problems]
        for name in runnable:
            sandbox.write_job(Path(tmp) / "job", name, plans[name])
        statuses = sandbox.run_exercises(Path(tmp) / "clean", Path(tmp) / "job", runnable, Path(tmp) / "work",
                               exercise_timeout, case_timeout) if runnable else {}
        exercises = [_exercise(name, plans[name], problems.get(name), statuses.get(name),
                               Path(tmp) / "work" / "out") for name in chosen]
    flags = ([FLAG_EDITED] if edits else []) + ([FLAG_ID] if own and own != student else [])
    if marker.get("library") not in (None, fingerprint()):
        flags.append(FLAG_VERSION)
    points = sum(e["score"] for e in exercises)
    return {"workspace": str(workspace), "student": student, "seed": seed, "variant": variant,
            "secret": secret is not None, "points": points, "max_points": len(exercises),
            "percent": 100.0 * points / len(exercises), "flags": flags, "edits": edits, "exercises": exercises}


def _lost_message(status):
    if status is None:
        return "not run"
    if "lost" in status:
        return status["lost"]
    if status["timed_out"]:
        return "stopped: the exercise ran past its time limit (an endless loop?) before this case finished"
    return (f"your code ended the process (exit code {status['exit']}: os._exit, sys.exit or a crash) "
            "before this case finished")


def _exercise(name, cases, problem, status, out):
    if problem:
        results = [{"label": c.label, "status": "error", "message": problem, "hint": None} for c in cases]
    else:
        results = [judge_case(c, sandbox.load_case(out, name, k), _lost_message(status)) for k, c in enumerate(cases)]
    e = BY_NAME[name]
    points = score(cases, results)
    passed = sum(r["status"] == "pass" for r in results)
    state = ("pass" if passed == len(results) else
             "not implemented" if all(r["status"] == "not implemented" for r in results) else "fail")
    return {"name": name, "lesson": e.lesson, "section": e.section, "title": e.title, "where": e.where,
            "variant": e.variant, "status": state, "passed": passed, "total": len(results), "score": points,
            "cases": results}


def _grade_one(job):
    """Grade one submission of a batch; a crash of the grader itself becomes an error row."""
    folder, options = job
    try:
        return grade(folder, student=folder.name, **options)
    except Exception as err:  # noqa: BLE001 - one broken submission must not stop the class
        return {"student": folder.name, "error": f"{type(err).__name__}: {err}"}


def grade_class(submissions, out_dir, jobs=1, **options):
    """Grade every folder of ``submissions`` (one per student, named by the student id), each once,
    ``jobs`` at a time: per-student JSON and text feedback in ``out_dir``. -> list of reports."""
    folders = sorted(p for p in Path(submissions).iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise FileNotFoundError(f"batch: no submission folders in {submissions}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    work, reports = [(f, options) for f in folders], []
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: expected an integer >= 1, got {jobs!r}")
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            for r in pool.map(_grade_one, work):
                reports.append(_save_feedback(out_dir, r))
    else:
        reports = [_save_feedback(out_dir, _grade_one(w)) for w in work]
    return reports


def _save_feedback(out_dir, report):
    """feedback/<id>.json (everything) and <id>.txt (the report to hand back), as soon as graded."""
    (out_dir / f"{report['student']}.json").write_text(json.dumps(report, indent=1))
    if "error" not in report:
        (out_dir / f"{report['student']}.txt").write_text(format_grade_report(report) + "\n")
    return report


def _parser():
    parser = argparse.ArgumentParser(prog="python -m minflow.classroom.grade", description=__doc__.split("\n")[0])
    parser.add_argument("exercises", nargs="*", metavar="EXERCISE", help="exercises to grade (default: all)")
    parser.add_argument("--workspace", default="exercises", help="the student's folder (default: exercises)")
    parser.add_argument("--student", help="student id (default: the workspace's, else its folder name)")
    parser.add_argument("--secret-file", help="the teacher's secret: per-student variants")
    parser.add_argument("--seed", type=int, help="reproduce a run: the seed of its report")
    parser.add_argument("--lesson", help="grade only the exercises of this lesson, e.g. 02")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--verbose", action="store_true", help="list passed cases too")
    parser.add_argument("--fail-under", type=float, metavar="PERCENT", help="exit 1 if the score is below PERCENT")
    parser.add_argument("--timeout", type=float, default=sandbox.EXERCISE_TIMEOUT, help="seconds per exercise")
    parser.add_argument("--batch", metavar="DIR", help="grade every student folder of DIR (named by student id)")
    parser.add_argument("--csv", default="scores.csv", help="with --batch: the class's CSV (default scores.csv)")
    parser.add_argument("--feedback", default="feedback", help="with --batch: per-student JSON and text")
    parser.add_argument("--jobs", type=int, default=1, help="with --batch: students graded at once")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    lesson = None if args.lesson is None else args.lesson.zfill(2)
    try:
        secret = read_secret(args.secret_file) if args.secret_file else None
        options = dict(names=args.exercises, lesson=lesson, secret=secret, seed=args.seed,
                       exercise_timeout=args.timeout)
        if args.batch:
            reports = grade_class(args.batch, args.feedback, args.jobs, **options)
            write_csv(args.csv, reports)
            print(f"graded {len(reports)} submissions: {args.csv}, feedback in {args.feedback}/")
            return 0
        report = grade(args.workspace, student=args.student, **options)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1) if args.json else format_grade_report(report, args.verbose))
    return 1 if args.fail_under is not None and report["percent"] < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
