"""Shared helpers: random, non-identity parameters (a zero-initialised conditioner hides sign bugs),
and the "clear error or finite result" property of the hypothesis tests."""
import warnings

import numpy as np
import pytest

from minflow.tree import tree_map


def randomize(params, rng, scale=0.3):
    """Every parameter array replaced by scale * N(0, 1) noise (same shapes and dtypes)."""
    return tree_map(lambda a: (scale * rng.standard_normal(np.shape(a))).astype(np.asarray(a).dtype), params)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def finite(result):
    """True if every number of ``result`` (an array, or a tuple/list of them) is finite."""
    if isinstance(result, (tuple, list)):
        return all(finite(r) for r in result)
    return bool(np.all(np.isfinite(np.asarray(result, dtype=np.float64))))


def clear_error_or_finite(call, name):
    """``call()`` raises ValueError/TypeError naming ``name``, or returns only finite numbers.

    RuntimeWarnings (far inputs warn) are allowed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = call()
        except (ValueError, TypeError) as err:
            assert name in str(err), f"the error does not name {name!r}: {err}"
            return
    assert finite(result), f"non-finite result {result!r} for a {name} that was accepted"


# The smallest run of the thesis pipeline (the tiny preset at one D, one test set): the reliability tests'
# common ground, imported as SMALL (tests/test_reliability_*.py).
SMALL_RUN = dict(dims=(4,), S=(1.0,), T=(0.0,), n_test=500, n_reference=500, kde_keep=50,
                 training={"epochs": 2, "epoch_size": 512, "validation": 256})
