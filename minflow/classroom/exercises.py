"""Classroom exercises generated from the library itself.

The pieces of minflow worth implementing by hand sit between solution fences (``fences.py``);
the course's list of them is ``catalog.EXERCISES``. ``generate`` copies the package into a
workspace (``exercises/`` by default) and replaces every fenced block by a stub that raises
``NotImplementedError("Exercise <name>: <hint>")``; everything outside the fences stays, so the
rest of the library imports and runs around the stubs.

Two rooms of the package are not copied as they are:

* the classroom (this folder: the generator, the grader and its checks, whose expected values
  are a solution key in all but name) is left out;
* the speed room (``minflow/speed/``) computes the exercised formulas in fused code: it would give
  the solutions away and run instead of the student's code. It becomes one stand-in
  ``__init__.py`` that registers no engine and makes ``"reference"`` the default, so every flow
  of a workspace runs the student's code.

    python -m minflow.classroom.exercises generate [--out exercises] [--force] [--with-solutions]
    python -m minflow.classroom.exercises list

``python -m minflow.classroom.grade`` grades a workspace.
"""
import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from .catalog import EXERCISES, LESSONS, NAMES
from .fences import fill, parse_fences, strip_fences
from .grading.templates import README, SPEED_STANDIN

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent
MARKER = ".minflow-exercises.json"
WITHHELD = ("classroom",)  # top-level names of the package never copied into a workspace
SPEED = "speed"            # the speed room: replaced by the stand-in SPEED_STANDIN, its only file


def _source_files(package_dir):
    for path in sorted(Path(package_dir).rglob("*")):
        rel = path.relative_to(package_dir)
        if "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo") or not path.is_file():
            continue
        yield path, rel


def _copied(rel):
    """Whether the file ``rel`` (relative to the package) is copied, fences stubbed, into a workspace."""
    return rel.parts[0] not in (*WITHHELD, SPEED)


def find_fences(package_dir=PACKAGE_DIR):
    """Every fence of the package's .py files that go into a workspace: -> list of Fence."""
    fences = []
    for path, rel in _source_files(package_dir):
        if path.suffix == ".py" and _copied(rel):
            fences += parse_fences(path.read_text(), rel.as_posix())
    return fences


def check_registry(fences):
    """Every fence names a registered exercise and every exercise has a fence."""
    fenced = {f.name for f in fences}
    unknown = sorted(fenced - set(NAMES))
    if unknown:
        raise ValueError(f"fences name unregistered exercises {unknown}: add them to catalog.EXERCISES")
    missing = [n for n in NAMES if n not in fenced]
    if missing:
        raise ValueError(f"exercises {missing} have no fence in the library")


def generate(out="exercises", force=False, package_dir=PACKAGE_DIR, smoke_test=True, solved=False):
    """Write the workspace: ``out/minflow`` (stubbed copy of the package) and ``out/README.md``.

    Refuses to overwrite an existing non-empty ``out`` (a class's work may be in it) unless ``force``.
    ``solved``: paste the solutions back (a reference submission for the teacher, never for students).
    ``smoke_test``: check that the workspace's package and its exercised modules import.
    Returns the workspace path.
    """
    out = Path(out)
    _make_room(out, force)
    fences = find_fences(package_dir)
    check_registry(fences)
    _write_package(package_dir, out / "minflow")
    (out / "README.md").write_text(workspace_readme(fences))
    (out / MARKER).write_text(json.dumps({"generator": "minflow.classroom.exercises", "exercises": list(NAMES),
                                          "left_out": list(WITHHELD), "stand_in": SPEED, "solved": solved},
                                         indent=1) + "\n")
    if solved:
        fill(out, fences)
    error = smoke_test and _import_error(out)
    if error:
        raise RuntimeError(f"the generated workspace {out} does not import:\n{error}")
    return out


def _make_room(out, force):
    """Empty ``out`` if it is a workspace of this generator and ``force`` is set; refuse otherwise."""
    if out.exists() and any(out.iterdir()):
        if not force:
            raise FileExistsError(f"out: {out} exists and is not empty (students' work?); "
                                  "remove it or pass --force to overwrite")
        if not (out / MARKER).exists():
            raise FileExistsError(f"out: {out} was not made by this generator (no {MARKER}); not overwriting")
        shutil.rmtree(out)


def _write_package(package_dir, target):
    """Copy the package to ``target`` with fences stubbed, the classroom left out and the speed
    room replaced by its stand-in."""
    if target.exists():
        shutil.rmtree(target)
    for path, rel in _source_files(package_dir):
        if not _copied(rel):
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            dest.write_text(strip_fences(path.read_text(), rel.as_posix())[0])
        else:
            shutil.copyfile(path, dest)
    (target / SPEED).mkdir(parents=True)
    (target / SPEED / "__init__.py").write_text(SPEED_STANDIN)


def _import_error(workspace):
    """'' if ``import minflow`` and every exercised module import from the workspace, else stderr."""
    modules = ", ".join(sorted({"minflow", *(e.module for e in EXERCISES)}))
    code = (f"import sys; sys.path.insert(0, sys.argv[1]); import {modules}; "
            "assert minflow.__file__.startswith(sys.argv[1]), minflow.__file__")
    proc = subprocess.run([sys.executable, "-c", code, str(Path(workspace).resolve())],
                          capture_output=True, text=True, cwd=str(Path(workspace).resolve()))
    return "" if proc.returncode == 0 else proc.stderr.strip()


def _lesson_file(number):
    found = sorted((REPO_DIR / "lessons").glob(f"{number}_*.py"))
    return f"lessons/{found[0].name}" if found else f"lesson {number}"


def workspace_readme(fences):
    """The students' README of a workspace: the exercises in order, their lessons, how to check."""
    hints = {}
    for f in fences:
        hints.setdefault(f.name, f.hint)
    rows = "\n".join(f"| {i} | `{e.name}` | {_lesson_file(e.lesson)} ({LESSONS.get(e.lesson, '')}) "
                     f"| `{e.where}` | {hints[e.name]} |" for i, e in enumerate(EXERCISES, start=1))
    return README.format(count=len(EXERCISES), rows=rows)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minflow.classroom.exercises",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write the exercises workspace")
    gen.add_argument("--out", default="exercises", help="workspace folder (default: exercises)")
    gen.add_argument("--force", action="store_true", help="overwrite an existing workspace")
    gen.add_argument("--with-solutions", action="store_true",
                     help="paste the solutions back: a reference submission for the teacher, not for students")
    sub.add_parser("list", help="list the exercises")
    args = parser.parse_args(argv)
    if args.command == "list":
        for i, e in enumerate(EXERCISES, start=1):
            print(f"{i:2d}  {e.name:24s} lesson {e.lesson}  {e.where}")
        return 0
    try:
        out = generate(args.out, force=args.force, solved=args.with_solutions)
    except (FileExistsError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}/ ({len(EXERCISES)} exercises, see {out}/README.md); grade with: "
          f"python -m minflow.classroom.grade --workspace {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
