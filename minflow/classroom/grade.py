"""Grade exercise workspaces: one student, or a whole class in one command.

    python -m minflow.classroom.grade --workspace alice                  # every exercise, a text report
    python -m minflow.classroom.grade coupling_log_det --workspace alice --json
    python -m minflow.classroom.grade --batch submissions/ --csv scores.csv --jobs 2 --secret-file secret

Only the code between a submission's markers is graded: the grader copies the submission's
regular files (``grading/intake.py``), pastes its regions into a clean copy of the library
(``grading/clean_copy.py``) and runs each exercise in a bubblewrap sandbox (``grading/sandbox.py``)
that hands back raw numbers only; every verdict is computed here, in a process that never imports
the student's code. With a secret (grading for marks) the sandbox is required; ``--unsandboxed``
grades without it, for practice, and flags every report. Inputs are fresh random draws
for every run (the seed is in the report); variants come from the student id and the secret.
Each exercise scores the fraction of its cases that pass (0 if no non-trivial case passes); the
total is the mean over the graded exercises, in percent.
"""
import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor
import secrets
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

from .catalog import BY_NAME, EXERCISES, NAMES
from .exercises import MARKER, fingerprint, read_secret
from .grading import PLANS, clean_copy, intake, sandbox
from .grading.checker import judge_case, score
from .grading.protocol import clean_text
from .report import format_grade_report, write_csv
from .variants import check_student, variant_for

FLAG_EDITED = "edited outside the stubs"
FLAG_ID = "student id differs from the workspace's"
FLAG_UNSANDBOXED = "graded WITHOUT the sandbox (--unsandboxed: practice only, not for marks)"
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
    data = intake.read_regular(root / MARKER, 1 << 16)
    try:
        marker = json.loads(data or b"")
    except (ValueError, RecursionError):
        return {}
    return marker if isinstance(marker, dict) else {}


def grade(workspace="exercises", names=(), lesson=None, student=None, secret=None, seed=None,
          exercise_timeout=sandbox.EXERCISE_TIMEOUT, case_timeout=sandbox.CASE_TIMEOUT,
          budget=sandbox.STUDENT_BUDGET, unsandboxed=None):
    """Grade ``workspace`` for ``student`` (default: the id the workspace was made for, else its
    folder name): -> report dict (JSON-ready), see ``format_grade_report``.

    unsandboxed: None (default) sandboxes when ``bwrap`` can run, and requires it when there is a
    secret (grading for marks: SandboxMissing otherwise); True never sandboxes (practice, flagged)."""
    root = find_package_root(workspace)
    sandboxed = _sandboxed(unsandboxed, secret)
    chosen = select(names, lesson)
    with tempfile.TemporaryDirectory(prefix="minflow-grade-") as tmp:
        tmp = Path(tmp)
        skipped = intake.private_copy(root, tmp / "submission")
        marker = _marker(tmp / "submission")
        own = marker.get("student")
        student = student or own or root.name
        seed = secrets.randbits(63) if seed is None else int(seed)
        rng = np.random.default_rng([seed, zlib.crc32(student.encode())])
        variant = variant_for(student, secret)
        plans = {name: PLANS[name](rng, variant) for name in chosen}
        problems, edits = clean_copy.prepare(tmp / "submission", variant, tmp / "clean")
        runnable = [n for n in chosen if n not in problems]
        for name in runnable:
            clean_copy.write_job(tmp / "job", name, plans[name])
        (tmp / "job").mkdir(exist_ok=True)
        clean_copy.open_up(tmp / "clean"), clean_copy.open_up(tmp / "job")
        results = sandbox.run_exercises(tmp / "clean", tmp / "job", runnable, tmp / "work", exercise_timeout,
                                        case_timeout, budget, sandboxed) if runnable else {}
    exercises = [_exercise(name, plans[name], problems.get(name), results.get(name)) for name in chosen]
    edits = [f"skipped {path}" for path in skipped] + edits
    flags = ([FLAG_EDITED] if edits else []) + ([FLAG_ID] if own and own != student else [])
    if marker.get("library") not in (None, fingerprint()):
        flags.append(FLAG_VERSION)
    flags += [] if sandboxed else [FLAG_UNSANDBOXED]
    points = sum(e["score"] for e in exercises)
    return {"workspace": str(workspace), "student": student, "seed": seed, "variant": variant,
            "secret": secret is not None, "sandboxed": sandboxed, "points": points, "max_points": len(exercises),
            "percent": 100.0 * points / len(exercises), "flags": flags, "edits": edits, "exercises": exercises}


def _sandboxed(unsandboxed, secret):
    """Whether to run the sandbox: required with a secret (marks) unless ``unsandboxed`` says not."""
    if unsandboxed:
        return False
    if secret is not None:
        sandbox.require()
        return True
    return not sandbox.unavailable()


def _lost_message(result):
    if result is None:
        return "not run"
    if "lost" in result:
        return result["lost"]
    status = result["status"]
    if status["exit"] == 0 and not status["timed_out"]:
        return ("no result came back for this case: your code ended the process (os._exit, sys.exit), or its "
                "output was over the size limits")
    if status["timed_out"]:
        return "stopped: the exercise ran past its time limit (an endless loop?) before this case finished"
    return (f"your code ended the process (exit code {status['exit']}: os._exit, sys.exit or a crash) "
            "before this case finished")


def _exercise(name, cases, problem, result):
    if problem:
        results = [{"label": c.label, "status": "error", "message": problem, "hint": None} for c in cases]
    else:
        records = (result or {}).get("cases", {})
        results = [judge_case(c, records.get(k), _lost_message(result)) for k, c in enumerate(cases)]
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
    except sandbox.SandboxMissing:
        raise
    except Exception as err:  # noqa: BLE001 - one broken submission must not stop the class
        return {"student": folder.name, "error": clean_text(f"{type(err).__name__}: {err}")}


def _folders(submissions):
    """The student folders of ``submissions``: real folders (no symlinks) named by a valid student id."""
    folders, invalid = [], []
    for p in sorted(Path(submissions).iterdir()):
        if p.name.startswith(".") or p.is_symlink() or not p.is_dir():
            continue
        try:
            check_student(p.name)
            folders.append(p)
        except ValueError:
            invalid.append(clean_text(repr(p.name), 60))
    return folders, invalid


def grade_class(submissions, out_dir, jobs=1, **options):
    """Grade every folder of ``submissions`` (one per student, named by the student id), each once,
    ``jobs`` at a time, each from a private copy in a sandbox of its own. Only when every one has
    ended: per-student JSON and text feedback in ``out_dir``. -> list of reports."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs: expected an integer >= 1, got {jobs!r}")
    if not options.get("unsandboxed"):
        sandbox.require()
    folders, invalid = _folders(submissions)
    if not folders:
        raise FileNotFoundError(f"batch: no submission folders in {submissions}")
    work = [(f, options) for f in folders]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            reports = list(pool.map(_grade_one, work))
    else:
        reports = [_grade_one(w) for w in work]
    reports += [{"student": name, "error": "not graded: a folder name is not a student id"} for name in invalid]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for report in reports[:len(folders)]:
        _save_feedback(out_dir, report)
    return reports


def _save_feedback(out_dir, report):
    """feedback/<id>.json (everything) and <id>.txt (the report to hand back), each written whole."""
    _write_new(out_dir / f"{report['student']}.json", json.dumps(report, indent=1))
    if "error" not in report:
        _write_new(out_dir / f"{report['student']}.txt", format_grade_report(report) + "\n")
    return report


def _write_new(path, text):
    """Write ``text`` to a new file, then rename it over ``path`` (a link there is replaced, not followed)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.write_text(text)
    os.replace(tmp, path)


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
    parser.add_argument("--case-timeout", type=float, default=sandbox.CASE_TIMEOUT, help="seconds per case")
    parser.add_argument("--budget", type=float, default=sandbox.STUDENT_BUDGET,
                        help="seconds per student, all exercises together")
    parser.add_argument("--unsandboxed", action="store_true",
                        help="practice grading without the bubblewrap sandbox (flagged; never for marks)")
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
                       exercise_timeout=args.timeout, case_timeout=args.case_timeout, budget=args.budget,
                       unsandboxed=args.unsandboxed or None)
        if args.batch:
            reports = grade_class(args.batch, args.feedback, args.jobs, **options)
            write_csv(args.csv, reports)
            print(f"graded {len(reports)} submissions: {args.csv}, feedback in {args.feedback}/"
                  + ("" if not args.unsandboxed else f" -- WITHOUT the sandbox: {FLAG_UNSANDBOXED}"))
            return 0
        report = grade(args.workspace, student=args.student, **options)
    except (FileNotFoundError, ValueError, RuntimeError) as err:  # SandboxMissing included
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1) if args.json else format_grade_report(report, args.verbose))
    return 1 if args.fail_under is not None and report["percent"] < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
