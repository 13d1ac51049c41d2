"""The grader's stand-ins go in through one table (minflow/replaceable.py), never by reassigning names.

Each entry of ``replaceable.TABLE`` must be a wrapped function, and the code that uses it must
reach it: if a coupling layer inlined eq. 3, or called a private copy of the MLP, the grader's
stand-in would silently do nothing, and ``test_every_entry_is_reached`` fails.
"""
import importlib

import numpy as np
import pytest

from minflow import replaceable
from minflow.bijectors import AdditiveCoupling, AffineCoupling
from minflow.flow import mean_nll
from minflow.thesis.gaussians import Gaussian
from minflow.thesis.information import cross_entropy_gaussian


class Reached(Exception):
    pass


def _raise(*args, **kwargs):
    raise Reached


def _layer(cls, direction):
    layer = cls(4, hidden=())
    x = np.random.default_rng(0).standard_normal((3, 4))
    return lambda: getattr(layer, direction)(layer.init(np.random.default_rng(1)), x)


# each entry of the table -> the calls that must go through it (the code the grader checks with a stand-in)
USERS = {
    "minflow.conditioner:mlp": [_layer(AffineCoupling, "forward"), _layer(AffineCoupling, "inverse"),
                                _layer(AdditiveCoupling, "forward"), _layer(AdditiveCoupling, "inverse")],
    "minflow.bijectors.coupling:affine_forward": [_layer(AffineCoupling, "forward")],
    "minflow.bijectors.coupling:affine_inverse": [_layer(AffineCoupling, "inverse")],
    "minflow.bijectors.coupling:affine_log_det": [_layer(AffineCoupling, "forward"), _layer(AffineCoupling, "inverse")],
    "minflow.flow:flow_log_prob": [lambda: mean_nll([], [], np.zeros((2, 3)))],
    "minflow.thesis.information:kl_gaussian": [
        lambda: cross_entropy_gaussian(Gaussian(np.zeros(2), np.eye(2)), Gaussian(np.ones(2), 2 * np.eye(2)))],
}


def test_every_entry_is_a_wrapped_function_of_its_module():
    assert set(USERS) == set(replaceable.TABLE)
    for key in replaceable.TABLE:
        module, name = key.split(":")
        fn = getattr(importlib.import_module(module), name)
        assert getattr(fn, "replaceable", None) == key, f"{key}: not defined under @replaceable"


@pytest.mark.parametrize("key", sorted(USERS))
def test_every_entry_is_reached(key):
    for use in USERS[key]:
        use()  # runs without a stand-in
        with replaceable.standing_in({key: _raise}), pytest.raises(Reached):
            use()
        use()  # and the stand-in is gone afterwards


def test_a_stand_in_changes_the_numbers_and_nothing_is_reassigned():
    import minflow.bijectors.coupling as coupling

    layer, x = AffineCoupling(4, hidden=()), np.random.default_rng(2).standard_normal((5, 4))
    params = [(np.ones((2, 4)), np.zeros(4))]
    before = dict(vars(coupling))
    with replaceable.standing_in({"minflow.conditioner:mlp": lambda p, h, act: 0.0 * h @ p[0][0]}):
        y, log_det = layer.forward(params, x)
    assert vars(coupling) == before
    np.testing.assert_array_equal(y, x)  # s = t = 0: the identity
    np.testing.assert_array_equal(log_det, np.zeros(5))
    assert not np.array_equal(layer.forward(params, x)[0], x)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="not listed"):
        with replaceable.standing_in({"minflow.conditioner:init_mlp": _raise}):
            pass

    def helper(x):
        return x
    with pytest.raises(ValueError, match="not listed"):
        replaceable.replaceable(helper)
