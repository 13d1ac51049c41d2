"""Grade only the student's code, where the student cannot reach the grader.

1. ``prepare``: take the code between the markers of a submission (``fences.extract``), paste it
   into a clean, freshly generated copy of the library (``exercises.workspace_files``) in a
   temporary folder, and compare everything outside the markers with that fresh copy (edits
   there are reported, never graded). A region that does not compile costs its exercise only.
2. ``run``: write each case's inputs (``.npz``, no pickle) and start ``harness/zygote.py`` in a
   fresh interpreter (``-I``, an empty environment) on the clean copy: one forked process per
   exercise, each with its own time limit. The child never sees an expected value, the teacher's
   secret or the grader's modules; if it dies, a new one grades the exercises not yet started.
"""
import difflib
import json
import os
import signal
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ..exercises import workspace_files
from ..fences import extract, outside, paste

HARNESS = Path(__file__).resolve().parent / "harness"
EXERCISE_TIMEOUT, CASE_TIMEOUT = 20.0, 10.0
CHILD_ENV = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
             "MKL_NUM_THREADS": "1", "MINFLOW_THREADS": "1", "MPLBACKEND": "Agg", "LANG": "C.UTF-8"}


def _compiles(body):
    """'' if the region's code compiles as a function body, else the error (line counted in the region)."""
    lines = [line for line in body]
    indent = min((len(b) - len(b.lstrip()) for b in lines if b.strip()), default=0)
    if not any(b.strip() and not b.strip().startswith("#") for b in lines):
        return "empty"
    src = "def _region():\n" + "\n".join("    " + b[indent:] if b.strip() else "" for b in lines) + "\n"
    try:
        compile(src, "<region>", "exec")
    except SyntaxError as err:
        return f"line {(err.lineno or 2) - 1} of your code: {err.msg}"
    return ""


def _student_regions(root, rel, fresh_text):
    """-> (bodies {name: [body]}, problems {name: message}) of the submission's file ``rel``."""
    expected = [r.name for r in extract(fresh_text, rel)]
    path = root / rel
    if not path.is_file():
        return {}, {n: f"{rel} is missing from the submission" for n in expected}
    try:
        regions = extract(path.read_text(errors="replace"), rel)
    except ValueError as err:
        return {}, {n: f"the markers of {rel} are damaged ({err}): not graded" for n in expected}
    if [r.name for r in regions] != expected:
        return {}, {n: f"the marker lines of {rel} were removed, renamed or reordered: not graded" for n in expected}
    bodies, problems = {}, {}
    for r in regions:
        error = _compiles(r.body)
        if error and error != "empty":
            problems[r.name] = f"your code for {r.name} in {rel} does not compile ({error})"
        bodies.setdefault(r.name, []).append(None if error else r.body)
    return bodies, problems


def prepare(submission, variant, target):
    """Build the clean copy at ``target`` with the submission's regions pasted in.

    -> (problems {exercise: message}, edits [str]): regions that could not be used, and the edits
    outside the regions (a unified diff per file, files added or removed)."""
    root, files, problems, edits = Path(submission), workspace_files(variant), {}, []
    for rel, content in files.items():
        dest = Path(target) / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not isinstance(content, str):
            shutil.copyfile(content, dest)
            continue
        if rel.endswith(".py") and "# >>> your code" in content:
            bodies, bad = _student_regions(root, rel, content)
            problems.update(bad)
            content = _paste_usable(content, bodies, rel, problems)
        dest.write_text(content)
        edits += _edits(root, rel, files[rel])
    extra = sorted(p.relative_to(root).as_posix() for p in (root / "minflow").rglob("*.py")
                   if "__pycache__" not in p.parts and p.relative_to(root).as_posix() not in files)
    edits += [f"added file {rel} (not graded)" for rel in extra]
    return problems, edits


def _paste_usable(content, bodies, rel, problems):
    """Paste the usable bodies; a None body (empty or broken) keeps its stub."""
    usable = {n: [b if b is not None else None for b in bs] for n, bs in bodies.items()}
    for name, bs in usable.items():
        if any(b is None for b in bs):  # keep every stub of an exercise with a missing or broken part
            usable[name] = []
    text, _ = paste(content, usable, rel)
    try:
        compile(text, rel, "exec")
    except SyntaxError as err:
        for name in usable:
            problems.setdefault(name, f"{rel} does not compile with your code ({err.msg}, line {err.lineno})")
        return content
    return text


def _edits(root, rel, fresh):
    path = root / rel
    if not path.is_file():
        return [f"removed file {rel}"]
    if not rel.endswith(".py"):
        return [] if path.read_bytes() == (fresh.read_bytes() if isinstance(fresh, Path) else fresh.encode()) \
            else [f"changed file {rel}"]
    try:
        mine, theirs = outside(path.read_text(errors="replace"), rel), outside(fresh, rel)
    except ValueError:
        return [f"damaged markers in {rel}"]
    if mine == theirs:
        return []
    diff = difflib.unified_diff(theirs, mine, f"fresh/{rel}", f"submission/{rel}", lineterm="", n=1)
    return ["\n".join(list(diff)[:60])]


def write_job(job_dir, name, cases):
    """The cases of ``name`` for the child: tasks and params in JSON, inputs in one .npz per case."""
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    for k, case in enumerate(cases):
        if case.inputs:
            np.savez(job_dir / f"{name}.{k}.npz", **{key: np.asarray(v) for key, v in case.inputs.items()})
    (job_dir / f"{name}.json").write_text(json.dumps({"cases": [{"task": c.task, "params": c.params}
                                                                for c in cases]}))


def run_exercises(clean_root, job_dir, names, work, exercise_timeout=EXERCISE_TIMEOUT, case_timeout=CASE_TIMEOUT):
    """Run the exercises ``names`` in the child; restart it for those not started if it dies.

    -> {name: status dict (exit, timed_out, seconds) or {"lost": message}}; outputs in work/out."""
    work = Path(work)
    harness, out = work / "harness", work / "out"
    shutil.copytree(HARNESS, harness, ignore=shutil.ignore_patterns("__pycache__"))
    out.mkdir()
    statuses, remaining = {}, list(names)
    while remaining:
        cmd = [sys.executable, "-I", str(harness / "zygote.py"), str(clean_root), str(job_dir), str(out),
               str(exercise_timeout), str(case_timeout), *remaining]
        limit = len(remaining) * (exercise_timeout + 2) + 30
        _run_child(cmd, work, limit)
        for name in remaining:
            status = out / f"{name}.status.json"
            if status.exists():
                statuses[name] = _read_json(status)
            elif (out / f"{name}.started").exists():
                statuses[name] = {"lost": "the grading process ended while this exercise ran (did your code "
                                          "kill its parent?)"}
        if not any(n in statuses for n in remaining):
            for name in remaining:
                statuses[name] = {"lost": f"the grading child failed to start: {_log_tail(work)}"}
        remaining = [n for n in remaining if n not in statuses]
    return statuses


def _run_child(cmd, work, limit):
    """Run the child in a session of its own; then kill that process group, so that nothing the
    student's code started (an orphaned fork, a subprocess) outlives it."""
    with open(work / "child.log", "ab") as log:
        proc = subprocess.Popen(cmd, cwd=work, env=dict(CHILD_ENV, HOME=str(work)), stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except ValueError:
        return {"lost": "the grading process was cut short while this exercise ended"}


def _log_tail(work):
    path = Path(work) / "child.log"
    return path.read_text(errors="replace")[-600:] if path.exists() else "(no log)"


def _decode(desc, arrays):
    kind = desc["kind"]
    if kind == "none":
        return None
    if kind in ("tuple", "list"):
        items = [_decode(d, arrays) for d in desc["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "array":
        return arrays[desc["key"]]
    return Foreign(desc["type"])


class Foreign:
    """An output that is not numbers (a string, an object): shown by its type."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name}>"


def load_case(out, name, k):
    """The child's record of case ``k`` of ``name``: status, message, outputs (decoded); None if absent."""
    stem = Path(out) / f"{name}.{k}"
    try:
        record = json.loads(Path(str(stem) + ".json").read_text())
        arrays = {}
        if Path(str(stem) + ".npz").exists():
            with np.load(str(stem) + ".npz", allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError):  # absent, or cut short by a killed process
        return None
    if "outputs" in record:
        record["outputs"] = {key: _decode(d, arrays) for key, d in record["outputs"].items()}
    return record


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    return fn(*args, **kwargs), time.perf_counter() - start
