"""Classroom exercises generated from the library itself.

The pieces of minflow worth implementing by hand sit between solution fences::

    def affine_log_det(s):
        \"\"\"log|det J| of eq. 3 ...\"\"\"
        xp = namespace(s)
        # BEGIN EXERCISE coupling_log_det: thesis eq. 5-6 (section 2.1.2): log of a triangular determinant
        return xp.sum(s, axis=1)
        # END EXERCISE

``generate`` copies the package into a workspace (``exercises/`` by default) and replaces every
fenced block by a stub that raises ``NotImplementedError("Exercise <name>: <hint>")``; everything
outside the fences stays, so the rest of the library imports and runs around the stubs. The
grader's check code (``minflow/grading``) and this generator are not copied: the workspace holds
no solution key. ``python -m minflow.grade`` grades a workspace.

    python -m minflow.exercises generate [--out exercises] [--force] [--with-solutions]
    python -m minflow.exercises list
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

from .grading.templates import README, STANDIN

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
MARKER = ".minflow-exercises.json"

Exercise = namedtuple("Exercise", "name lesson title where")
Exercise.__doc__ = "One exercise: its fence name, lesson number, title, and where (file: functions)."
EXERCISES = (
    Exercise("flow_log_prob", "01", "log p_theta(x) by the change of variables", "minflow/flow.py: log_prob"),
    Exercise("coupling_forward", "02", "the affine coupling, data -> latent",
             "minflow/bijectors/coupling.py: affine_forward"),
    Exercise("coupling_inverse", "02", "the affine coupling, latent -> data",
             "minflow/bijectors/coupling.py: affine_inverse"),
    Exercise("coupling_log_det", "02", "the coupling's log-determinant",
             "minflow/bijectors/coupling.py: affine_log_det"),
    Exercise("mlp", "02", "the MLP conditioner that outputs s and t", "minflow/conditioner.py: mlp"),
    Exercise("mean_nll", "03", "the training loss", "minflow/flow.py: mean_nll"),
    Exercise("gaussian_entropy", "04", "the entropy of a Gaussian", "minflow/information.py: gaussian_entropy"),
    Exercise("kl_gaussian", "04", "KL divergence between Gaussians", "minflow/information.py: kl_gaussian"),
    Exercise("cross_entropy_gaussian", "04", "cross-entropy = entropy + KL",
             "minflow/information.py: cross_entropy_gaussian"),
    Exercise("tpr_bounds", "09", "likelihood bounds at a fixed TPR", "minflow/ood.py: tpr_bounds"),
    Exercise("true_negative_rate", "09", "the outlier detector and its TNR",
             "minflow/ood.py: is_outlier, true_negative_rate"),
    Exercise("auroc", "09", "AUROC from ranks", "minflow/ood.py: auroc"),
    Exercise("additive_coupling", "11", "NICE's additive coupling",
             "minflow/bijectors/coupling.py: additive_forward, additive_inverse"),
)
NAMES = tuple(e.name for e in EXERCISES)
LESSONS = {"01": "change of variables", "02": "affine coupling", "03": "training",
           "04": "entropy, KL and cross-entropy", "09": "out-of-distribution detection", "11": "extensions"}

# Never copied into a workspace: the generator, the grader and its checks (they compute the expected
# values, a solution key in all but name). The speed layer re-implements the exercised formulas (a
# leak) and would run instead of the student's code: its modules become stand-ins (STANDIN).
WITHHELD = ("exercises.py", "grade.py", "grading")
SPEED_LAYER = ("engines", "fast.py")

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN EXERCISE (?P<name>[a-z][a-z0-9_]*): (?P<hint>\S.*?)\s*$")
END = re.compile(r"^[ \t]*# END EXERCISE\s*$")
STUB = re.compile(r"^(?P<indent>[ \t]*)raise NotImplementedError\([\"']Exercise (?P<name>[a-z0-9_]+): .*\)\s*$")
STUB_NOTE = "# Exercise {name}: replace this raise by your code (see the README.md of this workspace)"

Fence = namedtuple("Fence", "name hint path line indent body")
Fence.__doc__ = "A fenced solution: path relative to the package, line of BEGIN (from 1), body lines."


def parse_fences(text, path="<text>"):
    """The fences of one source text, in order: -> list of Fence. Malformed fences raise ValueError."""
    fences, current = [], None
    for i, line in enumerate(text.splitlines(), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if "# BEGIN EXERCISE" in line and not begin:
            raise ValueError(f"{path}:{i}: malformed fence, expected '# BEGIN EXERCISE <name>: <hint>'")
        if begin:
            if not begin["indent"]:
                raise ValueError(f"{path}:{i}: fence {begin['name']!r} must be inside a function (indented): "
                                 "a stub at module level would break the import")
            if current is not None:
                raise ValueError(f"{path}:{i}: fence {begin['name']!r} opens inside fence {current[0]['name']!r}")
            current = (begin, i, [])
        elif end:
            if current is None:
                raise ValueError(f"{path}:{i}: '# END EXERCISE' without a BEGIN")
            begin_m, start, body = current
            if not any(b.strip() for b in body):
                raise ValueError(f"{path}:{start}: fence {begin_m['name']!r} is empty")
            fences.append(Fence(begin_m["name"], begin_m["hint"], str(path), start, begin_m["indent"], body))
            current = None
        elif current is not None:
            body_line = line
            if body_line.strip() and not body_line.startswith(current[0]["indent"]):
                raise ValueError(f"{path}:{i}: fence body is indented less than its BEGIN line")
            current[2].append(body_line)
    if current is not None:
        raise ValueError(f"{path}:{current[1]}: fence {current[0]['name']!r} has no '# END EXERCISE'")
    return fences


def _source_files(package_dir):
    for path in sorted(Path(package_dir).rglob("*")):
        rel = path.relative_to(package_dir)
        if "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo") or not path.is_file():
            continue
        yield path, rel


def find_fences(package_dir=PACKAGE_DIR):
    """Every fence of the package's .py files (generator and grader excluded): -> list of Fence."""
    fences = []
    for path, rel in _source_files(package_dir):
        if path.suffix == ".py" and rel.parts[0] not in WITHHELD:
            fences += parse_fences(path.read_text(), rel.as_posix())
    return fences


def stub_lines(fence):
    """The two lines that replace a fence in the workspace: a note and the raise."""
    message = f"Exercise {fence.name}: {fence.hint}"
    return [fence.indent + STUB_NOTE.format(name=fence.name),
            f"{fence.indent}raise NotImplementedError({message!r})"]


def strip_fences(text, path="<text>"):
    """The source with every fenced block replaced by its stub: -> (new text, fences)."""
    fences = parse_fences(text, path)
    if not fences:
        return text, fences
    out, inside, k = [], False, 0
    for line in text.splitlines():
        if BEGIN.match(line):
            out += stub_lines(fences[k])
            inside, k = True, k + 1
        elif END.match(line):
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out) + ("\n" if text.endswith("\n") else ""), fences


def check_registry(fences):
    """Every fence names a registered exercise and every exercise has a fence."""
    fenced = {f.name for f in fences}
    unknown = sorted(fenced - set(NAMES))
    if unknown:
        raise ValueError(f"fences name unregistered exercises {unknown}: add them to EXERCISES")
    missing = [n for n in NAMES if n not in fenced]
    if missing:
        raise ValueError(f"exercises {missing} have no fence in the library")


def generate(out="exercises", force=False, package_dir=PACKAGE_DIR, smoke_test=True, solved=False):
    """Write the workspace: ``out/minflow`` (stubbed copy of the package) and ``out/README.md``.

    Refuses to overwrite an existing non-empty ``out`` (a class's work may be in it) unless ``force``.
    ``solved``: paste the solutions back (a reference submission for the teacher, never for students).
    Returns the workspace path.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise FileExistsError(f"out: {out} exists and is not empty (students' work?); "
                                  "remove it or pass --force to overwrite")
        if not (out / MARKER).exists():
            raise FileExistsError(f"out: {out} was not made by this generator (no {MARKER}); not overwriting")
        shutil.rmtree(out)
    fences = find_fences(package_dir)
    check_registry(fences)
    target = out / "minflow"
    withheld = _write_package(package_dir, target, standins=True)
    error = smoke_test and _import_error(out)
    if error:
        # The library needs more of its speed layer than the stand-ins offer: ship the real one
        # (the leak test then fails, the signal to extend STANDIN) rather than a broken workspace.
        print(f"warning: the workspace does not import with the speed layer's stand-ins:\n{error}\n"
              "the real speed layer is included, and it re-implements some exercises", file=sys.stderr)
        withheld = _write_package(package_dir, target, standins=False)
        error = _import_error(out)
        if error:
            raise RuntimeError(f"the generated workspace does not import:\n{error}")
    (out / "README.md").write_text(workspace_readme(fences))
    (out / MARKER).write_text(json.dumps({"generator": "minflow.exercises", "exercises": list(NAMES),
                                          "left_out_or_stand_in": sorted(withheld), "solved": solved},
                                         indent=1) + "\n")
    if solved:
        fill(out, fences)
    return out


def _write_package(package_dir, target, standins=True):
    """Copy the package to ``target`` with fences stubbed; returns the set of top-level names left
    out or replaced by stand-ins."""
    if target.exists():
        shutil.rmtree(target)
    skipped = set()
    for path, rel in _source_files(package_dir):
        top = rel.parts[0]
        if top in WITHHELD or (standins and top in SPEED_LAYER):
            skipped.add(top)
            if top in WITHHELD or path.suffix != ".py":
                continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if top in SPEED_LAYER and standins:
            dest.write_text(STANDIN)
        elif path.suffix == ".py":
            dest.write_text(strip_fences(path.read_text(), rel.as_posix())[0])
        else:
            shutil.copyfile(path, dest)
    return skipped


def _import_error(workspace):
    """'' if ``import minflow`` (all modules of the exercises) works from the workspace, else stderr."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import minflow, minflow.information, minflow.ood; "
            "assert minflow.__file__.startswith(sys.argv[1]), minflow.__file__")
    proc = subprocess.run([sys.executable, "-c", code, str(Path(workspace).resolve())],
                          capture_output=True, text=True, cwd=str(Path(workspace).resolve()))
    return "" if proc.returncode == 0 else proc.stderr.strip()


def fill(workspace, fences):
    """Put code back in place of stubs: each Fence's body replaces the matching stub of its exercise
    (matched by file and order of that exercise's stubs in it). Used to build a reference submission
    and by the tests; returns the number of stubs replaced."""
    workspace = Path(workspace)
    by_file = {}
    for fence in fences:
        by_file.setdefault(fence.path, []).append(fence)
    count = 0
    for rel, file_fences in by_file.items():
        path = workspace / "minflow" / rel
        lines = path.read_text().splitlines()
        queues = {}
        for fence in file_fences:
            queues.setdefault(fence.name, []).append(fence)
        out = []
        for line in lines:
            stub = STUB.match(line)
            if stub and queues.get(stub["name"]):
                fence = queues[stub["name"]].pop(0)
                if out and out[-1].strip() == STUB_NOTE.format(name=fence.name):
                    out.pop()
                out += [_reindent(b, fence.indent, stub["indent"]) for b in fence.body]
                count += 1
            else:
                out.append(line)
        path.write_text("\n".join(out) + "\n")
    return count


def _reindent(line, old, new):
    return new + line[len(old):] if line.startswith(old) else line


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
    parser = argparse.ArgumentParser(prog="python -m minflow.exercises", description=__doc__.split("\n")[0])
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
    except (FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}/ ({len(EXERCISES)} exercises, see {out}/README.md); grade with: "
          f"python -m minflow.grade --workspace {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
