"""The grader: one plan per exercise of ``catalog.EXERCISES``, the sandbox that runs them.

Nothing here is copied into a students' workspace, and none of it runs in the process that runs a
student's code. ``plan_<name>(rng, variant)`` (in ``checks_*.py``) draws fresh inputs and returns
the exercise's cases; ``sandbox.py`` pastes the student's regions into a clean copy of the library
and runs the cases' tasks there, in a child process (``harness/``); the judges compare the outputs
here, with expected values from plain NumPy, scipy.stats and autograd Jacobians.
"""
from ..catalog import EXERCISES
from . import checks_flow, checks_info, checks_practice


def _plan_function(name):
    found = [getattr(m, f"plan_{name}") for m in (checks_flow, checks_info, checks_practice)
             if hasattr(m, f"plan_{name}")]
    if len(found) != 1:
        raise LookupError(f"exercise {name!r}: expected one plan_{name} in grading/checks_*.py, found {len(found)}")
    return found[0]


PLANS = {e.name: _plan_function(e.name) for e in EXERCISES}
