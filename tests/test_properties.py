"""Property-based: any array argument of the public API gives a clear error naming it, or a finite result.

hypothesis draws hostile inputs (every dtype kind, 0-3 dimensions, empty axes, NaN, inf, huge and
tiny values, nested lists, scalars, strings, None) for each array argument; the call must either
raise ValueError/TypeError whose message names the argument, or return only finite numbers.
"""

import numpy as np
import pytest
from conftest import clear_error_or_finite

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import minflow  # noqa: E402

DIM = 3
FLOW = minflow.RealNVP(DIM, 2, (8,), rng=np.random.default_rng(0))
FLOAT_VALUES = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from([1e300, -1e300, 1e-300])
DTYPES = (hnp.floating_dtypes() | hnp.integer_dtypes() | hnp.boolean_dtypes() | hnp.complex_number_dtypes()
          | hnp.unicode_string_dtypes(max_len=3) | st.just(np.dtype(object)))


def _arrays():
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
    near_valid = hnp.arrays(np.float64, st.tuples(st.integers(0, 6), st.sampled_from([DIM - 1, DIM, DIM + 1])),
                            elements=FLOAT_VALUES)
    anything = hnp.arrays(DTYPES, shapes)
    others = st.one_of(st.none(), st.text(max_size=3), st.floats(), st.integers(),
                       st.lists(st.lists(st.floats(), max_size=4), max_size=4))
    return st.one_of(near_valid, near_valid, anything, others)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(x=_arrays())
def test_log_prob(x):
    clear_error_or_finite(lambda: FLOW.log_prob(x), "x")


@PROPERTY
@given(x=_arrays())
def test_forward(x):
    clear_error_or_finite(lambda: FLOW.forward(x), "x")


@PROPERTY
@given(z=_arrays())
def test_inverse(z):
    clear_error_or_finite(lambda: FLOW.inverse(z), "z")


@PROPERTY
@given(n=st.one_of(st.integers(-3, 5), st.floats(), st.none(), st.text(max_size=2), st.booleans()))
def test_sample_size(n):
    clear_error_or_finite(lambda: FLOW.sample(n, np.random.default_rng(0)), "n")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_arrays())
def test_fit_data(data):
    flow = minflow.RealNVP(DIM, 1, (4,), rng=np.random.default_rng(0))
    clear_error_or_finite(lambda: minflow.fit(flow, data, rng=np.random.default_rng(1), epochs=1, batch_size=1,
                                         validation=0.0).train_nll, "data")
