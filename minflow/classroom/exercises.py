"""Exercise workspaces, generated from the library's fenced solutions and the classroom's templates.

The pieces worth implementing by hand sit between solution fences (``fences.py``): in the library,
and in the classroom's own templates ``practice/`` (they become ``minflow/practice/`` in a
workspace); ``catalog.EXERCISES`` lists them. A workspace is a copy of the package in which every
fenced block is a region (two marker lines around a ``NotImplementedError`` stub) where the
student writes; everything else is the working library. The classroom itself is left out (its
grader is a solution key in all but name), and the speed room (fused copies of the formulas) is
one stand-in that makes ``"reference"``, the student's code, the only engine.

    python -m minflow.classroom.exercises generate [--out exercises] [--force] [--with-solutions]
    python -m minflow.classroom.exercises handout --roster ids.txt --secret-file secret --out handouts
    python -m minflow.classroom.exercises list

A handout (one folder per student) states the student's variant (``variants.py``) in its README and
docstrings, and holds the lessons and ``selfcheck.py``: it runs without the repository.
"""
import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from .catalog import EXERCISES, LESSONS, NAMES, PRACTICE
from .fences import paste, parse_fences, strip_fences
from .grading.templates import README, SELFCHECK, SPEED_STANDIN, VARIANT_SECTION
from .variants import STANDARD, constants, describe, variant_for

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent
MARKER = ".minflow-exercises.json"
WITHHELD = ("classroom",)  # top-level names of the package never copied into a workspace
SPEED = "speed"            # the speed room: replaced by the stand-in SPEED_STANDIN ...
SPEED_KEPT = ("parallel.py",)  # ... and its modules that hold no formula (the face imports them)
# Pre-registered studies whose frozen text re-derives an exercise's answer (slips.py computes the OOD
# bounds of tpr_bounds itself, and may not change after its pre-registration); no exercise needs them.
STUDIES_WITHHELD = ("thesis/documents/slips.py", "thesis/documents/slips_run.py")


def _source_files(package_dir):
    """(path, workspace path) of every file that goes into a workspace's ``minflow/``."""
    package_dir = Path(package_dir)
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo") or not path.is_file():
            continue
        if rel.as_posix() in STUDIES_WITHHELD:
            continue
        if rel.parts[0] not in (*WITHHELD, SPEED) or rel.parts[0] == SPEED and rel.name in SPEED_KEPT:
            yield path, "minflow/" + rel.as_posix()
    for path in sorted((package_dir / "classroom" / "practice").glob("*.py")):
        yield path, PRACTICE + path.name


def find_fences(package_dir=PACKAGE_DIR):
    """Every fence that goes into a workspace, its path the workspace's: -> list of Fence."""
    return [f for path, rel in _source_files(package_dir) if path.suffix == ".py"
            for f in parse_fences(path.read_text(), rel)]


def check_registry(fences):
    """Every fence names a registered exercise and every exercise has a fence in its file."""
    unknown = sorted({f.name for f in fences} - set(NAMES))
    if unknown:
        raise ValueError(f"fences name unregistered exercises {unknown}: add them to catalog.EXERCISES")
    missing = [e.name for e in EXERCISES if not any(f.name == e.name and f.path == e.path for f in fences)]
    if missing:
        raise ValueError(f"exercises {missing} have no fence in their file")


def workspace_files(variant, package_dir=PACKAGE_DIR):
    """The workspace's package as {workspace path: text or source Path}, stubbed for ``variant``."""
    words = {key: describe(key, value) for key, value in variant.items()}
    files = {}
    for path, rel in _source_files(package_dir):
        files[rel] = strip_fences(path.read_text(), rel, words)[0] if path.suffix == ".py" else path
    files[f"minflow/{SPEED}/__init__.py"] = SPEED_STANDIN
    files[PRACTICE + "__init__.py"] = '"""The classroom\'s exercises that are not part of the library."""\n'
    return files


def fingerprint(package_dir=PACKAGE_DIR):
    """A short hash of the library a hand-out is made from (its standard workspace): the grader
    warns when a submission's hand-out came from another version."""
    digest = hashlib.sha256()
    for rel, content in sorted(workspace_files(STANDARD, package_dir).items()):
        digest.update(rel.encode() + (content.read_bytes() if isinstance(content, Path) else content.encode()))
    return digest.hexdigest()[:16]


def solution_bodies(fences, variant):
    """{path: {name: [body, ...]}}: the fences' bodies with the variant's constants written in."""
    values = constants(variant)
    out = {}
    for f in fences:
        body = [_substitute(line, values) for line in f.body]
        out.setdefault(f.path, {}).setdefault(f.name, []).append(body)
    return out


def _substitute(line, values):
    for name, value in values.items():
        line = line.replace(name, value)
    return line


def generate(out="exercises", force=False, package_dir=PACKAGE_DIR, smoke_test=True, solved=False,
             student="student", secret=None, handout=False):
    """Write a workspace for ``student`` (their variant from ``secret``): ``out/minflow``, ``out/README.md``.

    Refuses to overwrite a non-empty ``out`` unless ``force`` and it is a workspace. ``solved``: the
    solutions pasted in (the teacher's key for this student). ``handout``: add the lessons (every
    workspace has ``selfcheck.py``). ``smoke_test``: check that the package imports. Returns the path.
    """
    out, variant = Path(out), variant_for(student, secret)
    _make_room(out, force)
    fences = find_fences(package_dir)
    check_registry(fences)
    files = workspace_files(variant, package_dir)
    if solved:
        for rel, bodies in solution_bodies(fences, variant).items():
            files[rel] = paste(files[rel], bodies, rel)[0]
    _write(out, files)
    (out / "README.md").write_text(workspace_readme(fences, variant, secret is not None, handout))
    (out / "selfcheck.py").write_text(SELFCHECK)  # the README's first command, in a practice workspace too
    if handout:
        _add_lessons(out)
    (out / MARKER).write_text(json.dumps({"generator": "minflow.classroom.exercises", "student": student,
                                          "exercises": list(NAMES), "solved": solved,
                                          "library": fingerprint(package_dir)}, indent=1) + "\n")
    error = smoke_test and _import_error(out)
    if error:
        raise RuntimeError(f"the generated workspace {out} does not import:\n{error}")
    return out


def _write(root, files):
    for rel, content in files.items():
        dest = Path(root) / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, dest)
        else:
            dest.write_text(content)


def _add_lessons(out):
    """The lessons (scripts of the public API) and their helpers, for running on the student's code."""
    target = out / "lessons"
    target.mkdir()
    for path in sorted((REPO_DIR / "lessons").glob("*")):
        if path.is_file() and path.suffix in (".py", ".md"):
            shutil.copyfile(path, target / path.name)


def _make_room(out, force):
    """Empty ``out`` if it is a workspace of this generator and ``force`` is set; refuse otherwise."""
    if out.exists() and any(out.iterdir()):
        if not force:
            raise FileExistsError(f"out: {out} exists and is not empty (students' work?); "
                                  "remove it or pass --force to overwrite")
        if not (out / MARKER).exists():
            raise FileExistsError(f"out: {out} was not made by this generator (no {MARKER}); not overwriting")
        shutil.rmtree(out)


def _import_error(workspace):
    """'' if ``import minflow`` and every exercised module import from the workspace, else stderr."""
    modules = ", ".join(sorted({"minflow", *(e.module for e in EXERCISES)}))
    code = (f"import sys; sys.path.insert(0, sys.argv[1]); import {modules}; "
            "assert minflow.__file__.startswith(sys.argv[1]), minflow.__file__")
    proc = subprocess.run([sys.executable, "-c", code, str(Path(workspace).resolve())],
                          capture_output=True, text=True, cwd=str(Path(workspace).resolve()))
    return "" if proc.returncode == 0 else proc.stderr.strip()


def workspace_readme(fences, variant, personal=False, handout=False):
    """The students' README: the exercises in order, their lessons and sections, the variant, how to check."""
    hints = {}
    for f in fences:
        hints.setdefault(f.name, f.hint)
    rows = "\n".join(f"| {i} | `{e.name}` | {e.lesson} ({LESSONS.get(e.lesson, '')}) | {e.section} "
                     f"| `{e.where}` | {hints[e.name]}{' (your variant)' if e.variant else ''} |"
                     for i, e in enumerate(EXERCISES, start=1))
    lines = "\n".join(f"- **{key}** ({', '.join(e.name for e in EXERCISES if e.variant == key)}): "
                      f"{describe(key, value)}" for key, value in variant.items())
    section = VARIANT_SECTION.format(kind="your own" if personal else "the standard", lines=lines)
    return README.format(count=len(EXERCISES), rows=rows, variant=section,
                         lessons="lessons/" if handout else "the lessons of the minflow repository")


def handouts(roster, out, secret, force=False, package_dir=PACKAGE_DIR):
    """One handout per student id of ``roster`` (a list), each with that student's variant: -> paths."""
    if not secret:
        raise ValueError("secret: a teacher's secret is needed for per-student variants")
    out = Path(out)
    return [generate(out / sid, force=force, package_dir=package_dir, student=sid, secret=secret,
                     handout=True, smoke_test=i == 0) for i, sid in enumerate(roster)]


def read_roster(path):
    """Student ids, one per line of ``path`` ('#' starts a comment); duplicates raise ValueError."""
    ids = [line.split("#")[0].strip() for line in Path(path).read_text().splitlines()]
    ids = [i for i in ids if i]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"roster: duplicate student ids {dupes}")
    return ids


def read_secret(path):
    """The teacher's secret: the first line of ``path`` (keep this file out of any repository)."""
    secret = Path(path).read_text().strip().splitlines()
    if not secret or len(secret[0]) < 8:
        raise ValueError(f"secret_file: {path} must hold a secret of at least 8 characters on its first line")
    return secret[0]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minflow.classroom.exercises",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write one workspace")
    gen.add_argument("--out", default="exercises", help="workspace folder (default: exercises)")
    gen.add_argument("--force", action="store_true", help="overwrite a workspace made by this generator")
    gen.add_argument("--with-solutions", action="store_true", help="the teacher's key (never for students)")
    gen.add_argument("--student", default="student", help="student id (with --secret-file: their variant)")
    gen.add_argument("--secret-file", help="file holding the teacher's secret (per-student variants)")
    gen.add_argument("--handout", action="store_true", help="add the lessons")
    hand = sub.add_parser("handout", help="one handout folder per student of a roster")
    hand.add_argument("--roster", required=True, help="file with one student id per line")
    hand.add_argument("--secret-file", required=True, help="file holding the teacher's secret")
    hand.add_argument("--out", default="handouts", help="folder of the handouts (default: handouts)")
    hand.add_argument("--force", action="store_true", help="overwrite handouts made by this generator")
    sub.add_parser("list", help="list the exercises")
    args = parser.parse_args(argv)
    if args.command == "list":
        for i, e in enumerate(EXERCISES, start=1):
            print(f"{i:2d}  {e.name:22s} lesson {e.lesson}  section {e.section:22s} {e.variant or '-':15s} {e.where}")
        return 0
    try:
        if args.command == "handout":
            made = handouts(read_roster(args.roster), args.out, read_secret(args.secret_file), args.force)
            print(f"wrote {len(made)} handouts under {args.out}/ (one folder per student id)")
            return 0
        secret = read_secret(args.secret_file) if args.secret_file else None
        out = generate(args.out, force=args.force, solved=args.with_solutions, student=args.student,
                       secret=secret, handout=args.handout)
    except (FileExistsError, FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}/ ({len(EXERCISES)} exercises, see {out}/README.md); grade with: "
          f"python -m minflow.classroom.grade --workspace {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
