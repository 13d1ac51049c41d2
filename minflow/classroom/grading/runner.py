"""Run the checks of some exercises against a workspace, in a fresh interpreter.

    python minflow/classroom/grading/runner.py WORKSPACE RESULT.json NAME [NAME ...]

Started by ``minflow.classroom.grade`` as a script (not ``-m``), so that nothing has imported
minflow yet. Two copies of minflow meet here, and each value must come from the right one:

1. the grader (``minflow.classroom.grading``) is imported first, from the TEACHER's copy, the one
   this file belongs to: the reference values it takes from the library (``LOG_2PI``, the
   activation table) are bound to that copy's objects at import time;
2. then every ``minflow`` module is forgotten (``sys.modules``) and the workspace replaces the
   script's folder at the head of ``sys.path``: ``import minflow``, and every module a check
   receives, is the STUDENT's copy.

Results go to RESULT.json: exercise name -> list of cases.
"""
import importlib
import json
import sys
from pathlib import Path

TEACHER_ROOT = Path(__file__).resolve().parents[3]  # the folder that holds the teacher's minflow/
IMPORT_HINT = "the module must import before anything can be checked: a syntax error or a misspelt name?"


def _load_grading():
    """The grader, imported from the teacher's copy; then no minflow module is left in sys.modules."""
    sys.path[0] = str(TEACHER_ROOT)
    grading = importlib.import_module("minflow.classroom.grading")
    for name in [m for m in sys.modules if m == "minflow" or m.startswith("minflow.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    return grading


def _error_case(ck, label, err, hint=None):
    where = ck._where(err)
    if isinstance(err, SyntaxError) and err.filename:
        where = f" (in {_relative(err.filename, ck.workspace)}, line {err.lineno}: {(err.text or '').strip()})"
    message = f"raised {type(err).__name__}: {getattr(err, 'msg', None) or err}{where}"
    return {"label": label, "status": "error", "message": message, "hint": hint}


def _relative(filename, workspace):
    path = Path(filename).resolve()
    return path.relative_to(workspace) if str(path).startswith(workspace) else path


def run(workspace, names, grading):
    """Check ``names`` against the workspace first on sys.path: -> {"package": path, "results": ...}."""
    results, package, broken = {}, None, None
    try:  # the student's package (the workspace is first on sys.path), hence by name, like the checks' modules
        minflow = importlib.import_module("minflow")
        package = str(Path(minflow.__file__).resolve().parent)
    except BaseException as err:  # noqa: BLE001 - a broken student package must not stop the grader
        broken = err
    for name in names:
        module_name, check = grading.CHECKS[name]
        ck = grading.checker.Checker(workspace)
        if broken is not None:
            ck.cases.append(_error_case(ck, "import minflow", broken, IMPORT_HINT))
        elif not package.startswith(str(workspace)):
            ck.cases.append({"label": "import minflow", "status": "error", "hint": None,
                             "message": f"imported minflow from {package}, not from the workspace"})
        else:
            try:
                module = importlib.import_module(module_name)
            except BaseException as err:  # noqa: BLE001
                ck.cases.append(_error_case(ck, f"import {module_name}", err, IMPORT_HINT))
            else:
                try:
                    check(ck, module)
                except BaseException as err:  # noqa: BLE001 - a failure between cases, e.g. building inputs
                    ck.cases.append(_error_case(ck, "setting up the check", err))
        results[name] = ck.cases
    return {"package": package, "results": results}


def main(argv):
    workspace, out, names = Path(argv[1]).resolve(), Path(argv[2]), argv[3:]
    grading = _load_grading()
    sys.path[0] = str(workspace)
    out.write_text(json.dumps(run(workspace, names, grading)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
