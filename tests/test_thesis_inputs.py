"""Inputs of the thesis room are rejected, not coerced (issue 11, findings 9, 10 and 12): complex,
text, objects, booleans and None where numbers are expected are a TypeError naming the argument;
zero is not "the default"; the typicality test's bootstrap runs in bounded memory."""
import re
import tracemalloc

import numpy as np
import pytest

from minflow.thesis.gaussians import Gaussian, ThesisDistributions
from minflow.thesis.information import (cross_entropy_estimate, cross_entropy_gaussian, evaluate_log_probs,
                                        gap_estimate, gaussian_entropy, kl_estimate, kl_gaussian)
from minflow.thesis.ood import (TypicalityTest, auroc, chi2_tail, fpr_at_tpr, is_outlier, true_negative_rate,
                                true_positive_rate, tpr_bounds)

G = Gaussian(np.zeros(2), np.eye(2))
SCORES = np.linspace(-3.0, 3.0, 50)
SCORE_CALLS = {  # name of the argument -> call with a hostile value v in its place
    "scores_in": lambda v: tpr_bounds(v),
    "scores_out": lambda v: true_negative_rate(v, (-1.0, 1.0)),
    "scores": lambda v: is_outlier(v, (-1.0, 1.0)),
    "log_probs": lambda v: cross_entropy_estimate(v),
    "log_probs_model": lambda v: kl_estimate(v, 1.0),
    "log_p_theta": lambda v: gap_estimate(SCORES, v),
    "log_probs_train": lambda v: TypicalityTest(5).fit(v, np.random.default_rng(0)),
    "norm_sq": lambda v: chi2_tail(v, 3),
}
HOSTILE_ARRAYS = {
    "complex": SCORES + 0j, "complex -inf j": np.array([1.0, complex(0, -np.inf)] * 25),
    "numeric strings": np.array(["1.5"] * 50), "words": ["a", "b"], "objects": np.array([object()] * 50),
    "booleans": np.ones(50, dtype=bool), "None": None, "a string": "1.5",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_ARRAYS))
@pytest.mark.parametrize("name", sorted(SCORE_CALLS))
def test_score_arrays_are_rejected_not_coerced(name, kind):
    with pytest.raises(TypeError, match=f"^{name}: expected"):
        SCORE_CALLS[name](HOSTILE_ARRAYS[kind])


@pytest.mark.parametrize("call, name", [
    (lambda v: tpr_bounds(SCORES, tpr=v), "tpr"),
    (lambda v: tpr_bounds(SCORES, lower_fraction=v), "lower_fraction"),
    (lambda v: fpr_at_tpr(SCORES, SCORES, tpr=v), "tpr"),
    (lambda v: kl_estimate(SCORES, v), "entropy_q"),
    (lambda v: true_positive_rate(SCORES, (v, 1.0)), "bounds"),
    (lambda v: TypicalityTest(5, tpr=v), "tpr"),
    (lambda v: ThesisDistributions(3, alpha=v), "alpha"),
    (lambda v: ThesisDistributions(3, mean_scale=v), "mean_scale"),
])
@pytest.mark.parametrize("value", [None, "0.5", 0.5 + 0j, True, object()])
def test_number_arguments_are_rejected_not_coerced(call, name, value):
    with pytest.raises(TypeError, match=f"{name}: expected"):
        call(value)


@pytest.mark.parametrize("call, name", [
    (lambda: Gaussian(np.zeros(2) + 0j, np.eye(2)), "mean"),
    (lambda: Gaussian(["0", "0"], np.eye(2)), "mean"),
    (lambda: Gaussian(np.zeros(2), np.eye(2) + 0j), "cov"),
    (lambda: Gaussian(np.zeros(2), np.eye(2, dtype=bool)), "cov"),
    (lambda: Gaussian(np.zeros(2), "eye"), "cov"),
    (lambda: G.log_prob(np.zeros((3, 2)) + 1j), "x"),
    (lambda: G.affine(1.0, 0.5 + 0j), "t"),
    (lambda: G.affine(1.0, 0.0, center=["a", "b"]), "center"),
    (lambda: G.sample(3, np.random.default_rng(0), dtype=int), "dtype"),
    (lambda: G.sample(3, np.random.default_rng(0), dtype="float16"), "dtype"),
    (lambda: cross_entropy_gaussian("x", G), "q"),
    (lambda: cross_entropy_gaussian(G, None), "p"),
    (lambda: kl_gaussian(G, "p"), "p"),
    (lambda: gaussian_entropy(np.eye(2) * 1j), "cov"),
    (lambda: evaluate_log_probs("q", 3, np.random.default_rng(0), {"a": G}), "dist"),
    (lambda: evaluate_log_probs(G, 3, np.random.default_rng(0), {"a": lambda x: np.zeros(3) + 1j}), "scorers['a']"),
])
def test_gaussian_arguments_are_rejected_not_coerced(call, name):
    with pytest.raises((TypeError, ValueError), match=f"^{re.escape(name)}: "):
        call()


def test_zero_is_not_the_default():
    # finding 10: `x or default` read 0 as "not given"; only None means "the same as p's"
    for name in ("outlier_condition_number", "outlier_mean_variance"):
        with pytest.raises(ValueError, match=f"{name}: expected"):
            ThesisDistributions(3, **{name: 0})
    d = ThesisDistributions(3, outlier_condition_number=None, outlier_mean_variance=None)
    assert d.outlier_condition_number == d.condition_number and d.outlier_mean_variance == d.mean_variance
    assert G.sample(4, np.random.default_rng(0), dtype=np.float32).dtype == np.float32


def test_typicality_bootstrap_runs_in_bounded_memory():
    # finding 12: fit used to hold n_bootstrap x batch_size indices and values (2 x 160 MB here)
    rng = np.random.default_rng(0)
    train, val = rng.normal(size=5000), rng.normal(size=5000)
    test = TypicalityTest(batch_size=10_000, n_bootstrap=2_000)
    tracemalloc.start()
    try:
        test.fit(train, rng, val)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"fit peaked at {peak / 1e6:.0f} MB"
    # the threshold still describes in-distribution batches: about tpr of them pass
    batches = rng.normal(size=200 * 10_000)
    assert 0.95 <= np.mean(~test.is_outlier(batches)) <= 1.0


def test_typicality_bootstrap_equals_one_big_draw():
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    val = np.random.default_rng(2).normal(size=300)
    test = TypicalityTest(batch_size=700, n_bootstrap=3000).fit(val, rng_a)
    idx = rng_b.integers(0, val.size, size=(3000, 700))
    expected = np.quantile(np.abs(-val[idx].mean(axis=1) - test.entropy_), test.tpr)
    assert test.threshold_ == pytest.approx(expected, rel=1e-12)
