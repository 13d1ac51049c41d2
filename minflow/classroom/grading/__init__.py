"""The grader's checks: one function ``check_<name>`` per exercise of ``catalog.EXERCISES``.

Nothing here is copied into a students' workspace. Every expected value is computed here,
independently of the workspace: plain NumPy formulas, autograd Jacobians with ``slogdet``,
``scipy.stats`` and brute-force counts. A check receives the student's module (the exercise's
``module``, e.g. ``minflow.flow``) and a ``Checker`` and runs a few *cases*; an exercise scores
the fraction of its cases that pass.

``runner.py`` is the script that ``minflow.classroom.grade`` starts in a subprocess: it imports
this package from the teacher's copy of minflow, then puts the workspace first on ``sys.path``
so that ``import minflow`` loads the student's copy.
"""
from ..catalog import EXERCISES
from . import checker, checks_flow, checks_info


def _check_function(name):
    found = [getattr(m, f"check_{name}") for m in (checks_flow, checks_info) if hasattr(m, f"check_{name}")]
    if len(found) != 1:
        raise LookupError(f"exercise {name!r}: expected one check_{name} in grading/checks_*.py, "
                          f"found {len(found)}")
    return found[0]


# name -> (module of the student's workspace the check receives, check function)
CHECKS = {e.name: (e.module, _check_function(e.name)) for e in EXERCISES}
