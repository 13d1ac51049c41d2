"""Run the checks of some exercises against a workspace, in a fresh interpreter.

    python minflow/grading/runner.py WORKSPACE RESULT.json NAME [NAME ...]

Started by ``minflow.grade`` as a script (not ``-m``), so that nothing has imported the
repository's minflow yet: the workspace replaces the script's folder at the head of ``sys.path``
and ``import minflow`` loads the student's copy. This package is loaded from its files under
another name (``_minflow_grading``). Results go to RESULT.json: exercise name -> list of cases.
"""
import importlib
import importlib.util
import json
import sys
from pathlib import Path

IMPORT_HINT = "the module must import before anything can be checked: a syntax error or a misspelt name?"


def _load_grading():
    here = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location("_minflow_grading", here / "__init__.py",
                                                  submodule_search_locations=[str(here)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["_minflow_grading"] = module
    spec.loader.exec_module(module)
    return module


def _error_case(ck, label, err, hint=None):
    where = ck._where(err)
    if isinstance(err, SyntaxError) and err.filename:
        where = f" (in {_relative(err.filename, ck.workspace)}, line {err.lineno}: {(err.text or '').strip()})"
    message = f"raised {type(err).__name__}: {getattr(err, 'msg', None) or err}{where}"
    return {"label": label, "status": "error", "message": message, "hint": hint}


def _relative(filename, workspace):
    path = Path(filename).resolve()
    return path.relative_to(workspace) if str(path).startswith(workspace) else path


def run(workspace, names):
    grading = _load_grading()
    checker = sys.modules["_minflow_grading.checker"]
    results, package, broken = {}, None, None
    try:
        import minflow
        package = str(Path(minflow.__file__).resolve().parent)
    except BaseException as err:  # noqa: BLE001 - a broken student package must not stop the grader
        broken = err
    for name in names:
        module_name, check = grading.CHECKS[name]
        ck = checker.Checker(workspace)
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
    sys.path[0] = str(workspace)
    out.write_text(json.dumps(run(workspace, names)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
