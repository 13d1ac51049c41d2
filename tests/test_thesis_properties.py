"""Property-based: every array argument of the thesis room's public functions gives a clear error
naming it (ValueError/TypeError), or a finite result (issue 11; tests/test_properties.py does
the same for the flow).

hypothesis draws hostile inputs: every dtype kind, 0-3 dimensions, empty axes, NaN, inf, huge
and tiny values, nested lists, scalars, strings and None.
"""

import numpy as np
import pytest
from conftest import clear_error_or_finite

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from minflow.thesis.gaussians import Gaussian  # noqa: E402
from minflow.thesis.information import cross_entropy_estimate, kl_estimate  # noqa: E402
from minflow.thesis.ood import (TypicalityTest, auroc, fpr_at_tpr, true_negative_rate,  # noqa: E402
                                true_positive_rate, tpr_bounds)

DIM = 3
G = Gaussian(np.arange(DIM, dtype=float), np.eye(DIM) + 0.5)
SCORES = np.random.default_rng(0).normal(size=40)
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from([1e300, -1e300, 1.7e308, -1.7e308, 1e-300, 0.0])
DTYPES = (hnp.floating_dtypes() | hnp.integer_dtypes() | hnp.boolean_dtypes() | hnp.complex_number_dtypes()
          | hnp.unicode_string_dtypes(max_len=3) | st.just(np.dtype(object)))
OTHERS = st.one_of(st.none(), st.text(max_size=3), st.floats(), st.integers(), st.booleans(), st.complex_numbers(),
                   st.lists(st.floats(), max_size=4), st.lists(st.lists(st.floats(), max_size=4), max_size=4))


def _arrays(near_shapes):
    """Mostly arrays of nearly the right shape with hostile float values; also anything else."""
    near = hnp.arrays(np.float64, near_shapes, elements=FLOATS)
    anything = hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    return st.one_of(near, near, anything, OTHERS)


SCORE_ARRAYS = _arrays(st.tuples(st.integers(0, 12)))
POINTS = _arrays(st.tuples(st.integers(0, 5), st.sampled_from([DIM - 1, DIM, DIM + 1])))
MEANS = _arrays(st.tuples(st.sampled_from([0, DIM - 1, DIM])))
COVS = _arrays(st.tuples(st.sampled_from([DIM - 1, DIM]), st.sampled_from([DIM - 1, DIM])))


PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CALLS = {
    "tpr_bounds": (lambda v: tpr_bounds(v), "scores_in"),
    "true_negative_rate": (lambda v: true_negative_rate(v, (-1.0, 1.0)), "scores_out"),
    "true_positive_rate": (lambda v: true_positive_rate(v, (-1.0, 1.0)), "scores_in"),
    "auroc in": (lambda v: auroc(v, SCORES), "scores_in"),
    "auroc out": (lambda v: auroc(SCORES, v), "scores_out"),
    "fpr_at_tpr in": (lambda v: fpr_at_tpr(v, SCORES), "scores_in"),
    "fpr_at_tpr out": (lambda v: fpr_at_tpr(SCORES, v), "scores_out"),
    "cross_entropy_estimate": (lambda v: cross_entropy_estimate(v), "log_probs"),
    "kl_estimate": (lambda v: kl_estimate(v, 1.0), "log_probs_model"),
    "TypicalityTest.fit train": (lambda v: TypicalityTest(2, n_bootstrap=50).fit(v, np.random.default_rng(0)).threshold_,
                                 "log_probs_train"),
    "TypicalityTest.fit val": (lambda v: TypicalityTest(2, n_bootstrap=50).fit(SCORES, np.random.default_rng(0), v)
                               .threshold_, "log_probs_val"),
    "TypicalityTest.score": (lambda v: TypicalityTest(2, n_bootstrap=50).fit(SCORES, np.random.default_rng(0)).score(v),
                             "log_probs"),
}


@PROPERTY
@given(call=st.sampled_from(sorted(CALLS)), values=SCORE_ARRAYS)
def test_score_functions(call, values):
    fn, name = CALLS[call]
    clear_error_or_finite(lambda: fn(values), name)


@PROPERTY
@given(bounds=_arrays(st.tuples(st.sampled_from([1, 2, 3]))), tpr=OTHERS)
def test_bounds_and_rates(bounds, tpr):
    clear_error_or_finite(lambda: true_negative_rate(SCORES, bounds), "bounds")
    clear_error_or_finite(lambda: tpr_bounds(SCORES, tpr=tpr), "tpr")
    clear_error_or_finite(lambda: kl_estimate(SCORES, tpr), "entropy_q")


@PROPERTY
@given(mean=MEANS)
def test_gaussian_mean(mean):
    clear_error_or_finite(lambda: Gaussian(mean, np.eye(DIM)).entropy(), "mean")


@PROPERTY
@given(cov=COVS)
def test_gaussian_cov(cov):
    def build():
        g = Gaussian(np.zeros(DIM), cov)
        return g.entropy(), g.log_prob(np.ones((2, DIM)))
    clear_error_or_finite(build, "cov")


@PROPERTY
@given(x=POINTS)
def test_gaussian_log_prob(x):
    clear_error_or_finite(lambda: G.log_prob(x), "x")
