"""Text written into a generated workspace (by ``minflow.classroom.exercises``).

Kept here, with the grader, so that the generator stays short; nothing here is a solution:
``SELFCHECK`` checks properties (round trips, autograd Jacobians, scipy's closed forms), never
stored answers.
"""
# The workspace's minflow/speed/ holds this one file, in place of the speed room.
SPEED_STANDIN = '''"""Stand-in for minflow's speed room in an exercises workspace.

In a workspace every flow runs the reference engine, your code: ``Flow.log_prob`` evaluates your
``flow_log_prob`` (and through it your couplings and MLP), and ``fit`` differentiates your
``mean_nll`` with autograd. The real speed room computes the same formulas in fused code: it would
give the solutions away and run instead of your code, so it is left out, and no other engine is
registered (``minflow.engine.names()`` is ``['reference']``).
"""
from .. import engine

engine.DEFAULT = "reference"
'''

VARIANT_SECTION = """## Your variant

Some exercises have a specification of their own for each student. This workspace has {kind}
variant; the docstrings of `minflow/practice/` say the same. Code copied from the public minflow
library implements a different variant and fails these exercises.

{lines}
"""

# exercises/README.md; filled in by minflow.classroom.exercises.workspace_readme.
README = """# minflow exercises

This folder is a copy of the minflow library in which {count} pieces have been cut out. Each is a
*region* between two marker lines,

    # >>> your code for exercise <name> below (keep this line ...)
    raise NotImplementedError("Exercise <name>: <hint>")
    # <<< your code for exercise <name> above

Replace the `raise` by your code, between the markers. **Only the code between the markers is
graded**: the grader pastes it into a clean copy of the library, so a change anywhere else (a
helper function, an edited import, a changed test) is not used, and it is reported to your teacher.
Keep the marker lines. Everything else is the working library, so once a piece is done, the code
around it runs on your implementation (every flow here uses the reference engine, your code).

Conventions: `forward` maps data x to latent z, `inverse` maps z to x, `log_prob` is in nats,
arrays are `(N, D)`, results are float64. Compute with `xp = namespace(x)` where the function
already does, and never assign into arrays: autograd must be able to differentiate your code.

{variant}
## The exercises, in order

| # | exercise | lesson | thesis section | where | hint |
| --- | --- | --- | --- | --- | --- |
{rows}

"Derive it" exercises state the goal, not the formula. The thesis: Normalizing flows and likelihood,
https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91

## Checking your own work

Run everything from this folder, so that `import minflow` loads your copy:

```bash
python selfcheck.py                 # every exercise: ok / not implemented / FAILED with the reason
python selfcheck.py split_join      # just one
PYTHONPATH=. python lessons/02_affine_coupling.py   # a lesson, on your implementation
```

(The lessons are in {lessons}.) `selfcheck.py` tests properties (round trips, Jacobians against
autograd, closed forms from scipy); the grader checks more, on fresh random inputs, and checks your
variant. Each exercise scores the fraction of its checks that pass; a function that returns a
constant or echoes its input scores 0; a float32 result where float64 is expected fails.
"""

SELFCHECK = r'''"""Self-check of this workspace: properties of your code, no stored answers. python selfcheck.py [NAME ...]"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import autograd  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

import minflow  # noqa: E402
from minflow.bijectors import coupling, additive  # noqa: E402
from minflow.practice import derive, estimates, parts, sampling, training  # noqa: E402
from minflow.thesis import information, ood  # noqa: E402
from minflow.thesis.gaussians import Gaussian  # noqa: E402

rng = np.random.default_rng()
X, S, T = rng.standard_normal((3, 6, 3))


def jac_logdet(fn, rows):
    return np.array([np.linalg.slogdet(autograd.jacobian(fn(i))(rows[i]))[1] for i in range(len(rows))])


def spd(d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.5 * np.eye(d)


CHECKS = {
    "coupling_forward": lambda: np.allclose(coupling.affine_inverse(coupling.affine_forward(X, S, T), S, T), X)
    or "forward then inverse is not the identity (needs coupling_inverse too)",
    "coupling_log_det": lambda: np.allclose(coupling.affine_log_det(S), jac_logdet(
        lambda i: lambda v: coupling.affine_forward(v, S[i], T[i]), X)) or "not log|det| of eq. 3's Jacobian",
    "split_join": lambda: all(np.array_equal(parts.join(*parts.split(x)), x) for x in
                              (rng.standard_normal((4, 5)), rng.standard_normal((4, 6))))
    or "join(split(x)) != x for D = 5 or 6",
    "inverse_log_det": lambda: np.allclose(parts.inverse_log_det(S), jac_logdet(
        lambda i: lambda v: coupling.affine_inverse(v, S[i], T[i]), X)) or "not log|det| of eq. 4's Jacobian",
    "gaussian_entropy": lambda: np.isclose(information.gaussian_entropy(c := spd(3)),
                                           stats.multivariate_normal(np.zeros(3), c).entropy()) or "differs from scipy",
    "kl_gaussian": lambda: abs(information.kl_gaussian(g := Gaussian(np.ones(3), spd(3)), g)) < 1e-9
    or "KL(q || q) != 0",
    "auroc": lambda: np.isclose(ood.auroc(a := rng.normal(1, 1, 50), b := rng.normal(0, 1, 40)),
                                np.mean(a[:, None] > b[None, :])) or "differs from P[in > out]",
    "additive_coupling": lambda: np.allclose(additive.additive_inverse(additive.additive_forward(X, T), T), X)
    or "forward then inverse is not the identity",
    "sample_estimates": lambda: np.isclose(estimates.cross_entropy_estimate(lp := rng.normal(-3, 1, 100))[0],
                                           3 - (np.mean(lp) + 3)) or "H* is not -mean(log_probs)",
    "entropy_affine": lambda: np.isclose(derive.entropy_affine(
        stats.multivariate_normal(np.zeros(3), c := spd(3)).entropy(), a := rng.standard_normal((3, 3))),
        stats.multivariate_normal(np.zeros(3), a.T @ c @ a).entropy()) or "differs from scipy's entropy of y",
}


def main(names):
    bad = 0
    for name in names or CHECKS:
        try:
            result = CHECKS[name]()
            verdict = "ok" if result is True else f"FAILED: {result}"
        except NotImplementedError:
            verdict = "not implemented (or it needs another exercise that is not)"
        except Exception as err:  # noqa: BLE001 - report, go on
            verdict = f"FAILED: raised {type(err).__name__}: {err}"
        bad += verdict.startswith("FAILED")
        print(f"{name:20s} {verdict}")
    print("(properties only: the grader checks every exercise, your variant, and more cases)")
    return 1 if bad else 0


if __name__ == "__main__":
    assert minflow.__file__.startswith(str(Path(__file__).resolve().parent)), minflow.__file__
    sys.exit(main(sys.argv[1:]))
'''
