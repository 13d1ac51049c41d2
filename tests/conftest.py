"""Shared helpers: random, non-identity parameters (a zero-initialised conditioner hides sign bugs)."""
import numpy as np
import pytest

from minflow.tree import tree_map


def randomize(params, rng, scale=0.3):
    """Every parameter array replaced by scale * N(0, 1) noise (same shapes and dtypes)."""
    return tree_map(lambda a: (scale * rng.standard_normal(np.shape(a))).astype(np.asarray(a).dtype), params)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
