"""Text written into a generated workspace (by ``minflow.classroom.exercises``).

Kept here, with the grader, so that the generator stays short; nothing here is a solution:
``SELFCHECK`` checks properties of every exercise (round trips, autograd Jacobians, scipy's closed
forms, Monte Carlo), never stored answers, and in any variant (it reads sigma off the student's prior).
"""
# The workspace's minflow/speed/ holds this one file, in place of the speed room.
SPEED_STANDIN = '''"""Stand-in for minflow's speed room in an exercises workspace.

In a workspace every flow runs the reference engine, your code: ``Flow.log_prob`` evaluates your
``flow_log_prob`` (and through it your couplings and MLP), and ``fit`` differentiates your
``mean_nll`` with autograd. The real speed room computes the same formulas in fused code: it would
give the solutions away and run instead of your code, so it is left out, and no other engine is
offered (``minflow.engine.names()`` is ``['reference']``): the package face installs this table.
"""
ENGINES = {}
DEFAULT = "reference"
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
import minflow.conditioner  # noqa: E402
import minflow.flow  # noqa: E402
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
    "coupling_inverse": lambda: np.allclose(coupling.affine_forward(coupling.affine_inverse(X, S, T), S, T), X)
    or "inverse then forward is not the identity (needs coupling_forward too)",
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
    "flow_log_prob": lambda: np.allclose(minflow.flow.flow_log_prob([], [], X), stats.multivariate_normal(
        np.zeros(3)).logpdf(X)) or "with no layers it is not log N(x; 0, I)",
    "prior_log_prob": lambda: np.allclose(sampling.prior_log_prob(X), stats.multivariate_normal(
        np.zeros(3), prior_sigma() ** 2 * np.eye(3)).logpdf(X)) or "not the log-density of N(0, sigma^2 I), summed over D",
    "sample_flow": lambda: sample_check(),
    "bounded_scale": lambda: bounded_check(),
    "mlp": lambda: np.allclose(minflow.conditioner.mlp([(w := rng.standard_normal((3, 2)), b := rng.standard_normal(2))],
                                                       X), X @ w + b) or "with no hidden layer it is not x @ W + b",
    "mean_nll": lambda: np.isclose(minflow.flow.mean_nll([], [], X), -np.mean(stats.multivariate_normal(
        np.zeros(3)).logpdf(X))) or "not -mean(log p(x)) (no layers: the prior)",
    "adam_step": lambda: adam_check(),
    "train_epoch": lambda: epoch_check(),
    "cross_entropy_gaussian": lambda: np.isclose(information.cross_entropy_gaussian(g := Gaussian(np.ones(3), spd(3)), g),
                                                 information.gaussian_entropy(g.cov)) or "H(q, q) != H(q)",
    "kl_isotropic": lambda: kl_isotropic_check(),
    "tpr_bounds": lambda: inside(ood.tpr_bounds(s := rng.standard_normal(4000), 0.9, 0.3), s, 0.9),
    "ood_bounds": lambda: inside(estimates.ood_bounds(s := rng.standard_normal(4000), 0.9), s, 0.9),
    "true_negative_rate": lambda: np.array_equal(ood.is_outlier(np.array([-3.0, 0.0, 3.0]), (-1.0, 1.0)), [True, False, True])
    and np.isclose(ood.true_negative_rate(np.array([-3.0, 0.0, 3.0, 0.5]), (-1.0, 1.0)), 0.5)
    or "is_outlier must flag scores outside [L, U], the TNR is the fraction flagged",
    "typicality_test": lambda: np.allclose(estimates.typicality_statistic(lp := rng.normal(-3, 1, 40), 3.0, 8),
                                           np.abs(-lp.reshape(5, 8).mean(axis=1) - 3.0))
    and np.array_equal(estimates.is_atypical(lp, 3.0, 8, 0.3), np.abs(-lp.reshape(5, 8).mean(axis=1) - 3.0) > 0.3)
    or "eps_b = |-(mean log p over batch b) - H| per batch of M, atypical when eps_b > threshold",
}

ORDER = ("flow_log_prob", "prior_log_prob", "sample_flow", "coupling_forward", "coupling_inverse", "coupling_log_det",
         "split_join", "bounded_scale", "inverse_log_det", "mlp", "mean_nll", "adam_step", "train_epoch",
         "gaussian_entropy", "kl_gaussian", "cross_entropy_gaussian", "entropy_affine", "kl_isotropic",
         "sample_estimates", "tpr_bounds", "ood_bounds", "true_negative_rate", "auroc", "typicality_test",
         "additive_coupling")
CHECKS = {name: CHECKS[name] for name in ORDER}  # the course's order, one check per exercise


def prior_sigma():
    """Your variant's sigma, read off your prior_log_prob at z = 0 in D = 1."""
    return float(np.exp(-sampling.prior_log_prob(np.zeros((1, 1)))[0]) / np.sqrt(2 * np.pi))


class Identity:
    """A layer that does nothing: sampling through it draws from the prior."""
    dim = 2

    def inverse(self, p, z):
        return z, np.zeros(len(z))


def sample_check():
    x, again = (sampling.sample([Identity()], [()], 20000, np.random.default_rng(5)) for _ in range(2))
    if x.shape != (20000, 2) or not np.array_equal(x, again):
        return "sample must return (n, D) and draw only from rng (the same seed, the same points)"
    return abs(np.std(x) / prior_sigma() - 1) < 0.03 or "the points do not have your prior's scale sigma"


def bounded_check():
    small, big = 1e-4 * S, 1e6 * np.sign(S)
    ok = np.allclose(parts.bounded_scale(small), small, rtol=1e-3) and np.allclose(
        parts.bounded_scale(-S), -parts.bounded_scale(S)) and np.all(np.abs(parts.bounded_scale(big)) < 10)
    return ok or "expected s ~ s_raw near 0, an odd function, and a finite bound for huge s_raw"


def adam_check():
    params, grads = [rng.standard_normal(4)], [rng.standard_normal(4)]
    new, (m, v, t) = training.adam_step(params, grads, ([np.zeros(4)], [np.zeros(4)], 0), 0.01)
    return (t == 1 and np.allclose(new[0], params[0] - 0.01 * np.sign(grads[0]), atol=1e-6)
            or "Adam's first step moves each parameter by lr against the sign of its gradient, and t becomes 1")


def epoch_check():
    x, seen = rng.standard_normal((23, 2)), []
    training.train_epoch([0.0], lambda p, b: seen.append(np.array(b)) or (0.0, [1.0]), x, 5,
                         lambda p, g: [p[0] + 1], np.random.default_rng(0))
    rows = np.concatenate(seen) if seen else np.zeros((0, 2))
    ok = [len(b) for b in seen] == [5, 5, 5, 5, 3] and np.allclose(np.sort(rows, axis=0), np.sort(x, axis=0))
    return ok or "every row exactly once, in minibatches of batch_size (the last one the remainder)"


def kl_isotropic_check():
    mq, mp = rng.standard_normal(3), rng.standard_normal(3)
    z = mq + 0.7 * rng.standard_normal((200000, 3))
    mc = np.mean(stats.norm(mq, 0.7).logpdf(z).sum(axis=1) - stats.norm(mp, 1.3).logpdf(z).sum(axis=1))
    return (abs(derive.kl_isotropic(mq, 0.7, mq, 0.7)) < 1e-9 and abs(derive.kl_isotropic(mq, 0.7, mp, 1.3) - mc) < 0.03
            or "KL(q || q) != 0, or it differs from a Monte Carlo estimate")


def inside(bounds, scores, tpr):
    low, high = bounds
    return abs(np.mean((scores >= low) & (scores <= high)) - tpr) < 0.005 or "[L, U] does not hold a fraction tpr"


def main(names):
    bad = 0
    for name in names or CHECKS:
        try:
            result = CHECKS[name]()
            verdict = "ok" if not isinstance(result, str) and bool(result) else f"FAILED: {result}"
        except NotImplementedError:
            verdict = "not implemented (or it needs another exercise that is not)"
        except Exception as err:  # noqa: BLE001 - report, go on
            verdict = f"FAILED: raised {type(err).__name__}: {err}"
        bad += verdict.startswith("FAILED")
        print(f"{name:22s} {verdict}")
    print("(properties only: the grader checks every exercise, your variant, and more cases)")
    return 1 if bad else 0


if __name__ == "__main__":
    assert minflow.__file__.startswith(str(Path(__file__).resolve().parent)), minflow.__file__
    sys.exit(main(sys.argv[1:]))
'''
