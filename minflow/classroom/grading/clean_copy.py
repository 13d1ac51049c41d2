"""The clean copy: only the code between a submission's markers, pasted into a fresh library.

``prepare`` takes the regions of the grader's private copy of a submission (``intake.py``; no
symlink or special file gets this far), pastes them into a clean, freshly generated copy of the
library (``exercises.workspace_files``) and compares everything outside the markers with that
fresh copy (edits there are reported, never graded). A region that does not compile costs its
exercise only. ``write_job`` writes each case's inputs (``.npz``, no pickle) and tasks (JSON) for
the child. Both folders are made readable for the sandbox's unprivileged user and are mounted
read-only there.
"""
import difflib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..exercises import workspace_files
from ..fences import extract, outside, paste


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


def open_up(folder):
    """Folders 0755 and files 0644 under ``folder``: the sandbox's own user reads them (read-only mounts)."""
    for dirpath, dirnames, filenames in os.walk(folder):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
