"""Every bijector, with random non-identity parameters, float64, odd and even D:
round trip, analytic log-det vs autograd's Jacobian and vs central finite differences,
inverse log-det = minus forward log-det. The affine coupling also unbounded (s_max=None),
with parameters large enough that |s_raw| exceeds the default bound 2."""
import json

import numpy as np
import pytest
from autograd import jacobian
from conftest import randomize

from minflow import bijectors as B
from minflow.conditioner import mlp

DIMS = [2, 3, 5, 6]


def make_layers(dim, rng):
    """(name, layer) pairs covering every bijector and both masks, both parities."""
    out = []
    for mask in ("half", "alternate"):
        for flip in (False, True):
            out.append((f"affine-{mask}-{flip}", B.AffineCoupling(dim, (16, 8), mask, flip, activation="tanh")))
            out.append((f"additive-{mask}-{flip}", B.AdditiveCoupling(dim, (16,), mask, flip, activation="tanh")))
    out.append(("affine-relu", B.AffineCoupling(dim, (16,), activation="relu")))
    out.append(("reverse", B.Reverse(dim)))
    perm = B.RandomPermutation(dim, rng)
    while np.array_equal(perm.perm, np.arange(dim)):  # an identity draw would test nothing
        perm = B.RandomPermutation(dim, rng)
    out.append(("random-perm", perm))
    out.append(("actnorm", B.ActNorm(dim)))
    out.append(("lu", B.LULinear(dim, perm=rng.permutation(dim))))
    return out


def make_unbounded_layers(dim):
    """The affine coupling with s_max=None (s = s_raw): both masks and flips, tanh and ReLU."""
    out = [(f"affine-unbounded-{mask}-{flip}", B.AffineCoupling(dim, (16, 8), mask, flip, activation="tanh",
                                                                  s_max=None))
           for mask in ("half", "alternate") for flip in (False, True)]
    out.append(("affine-unbounded-relu", B.AffineCoupling(dim, (16,), activation="relu", s_max=None)))
    return out


SCALE, UNBOUNDED_SCALE = 0.4, 1.0
S_RAW_MAX = 3.0   # the unbounded layers' max |s_raw| over the test points: beyond the default bound 2


def cases():
    """(dim, name, layer, parameter scale); the unbounded couplings last, so the others keep their seeds."""
    rng = np.random.default_rng(0)
    out = [(dim, name, layer, SCALE) for dim in DIMS for name, layer in make_layers(dim, rng)]
    return out + [(dim, name, layer, UNBOUNDED_SCALE) for dim in DIMS for name, layer in make_unbounded_layers(dim)]


CASES = cases()
IDS = [f"D{d}-{n}" for d, n, _, _ in CASES]
UNBOUNDED = [i for i, (_, name, _, _) in enumerate(CASES) if "unbounded" in name]


def make_case(index):
    dim, name, layer, scale = CASES[index]
    rng = np.random.default_rng(index)
    params = randomize(layer.init(rng), rng, scale=scale)
    x = rng.standard_normal((7, dim))
    if getattr(layer, "s_max", 2.0) is None:  # rescale the output layer: max |s_raw| over x = S_RAW_MAX
        x_a = layer.split.split(x)[0]
        k = S_RAW_MAX / np.abs(mlp(params, x_a, layer.activation)[:, :layer.split.d_b]).max()
        params = params[:-1] + [(k * params[-1][0], k * params[-1][1])]
    return layer, params, x


@pytest.fixture(params=range(len(CASES)), ids=IDS)
def case(request):
    return make_case(request.param)


def test_round_trip(case):
    layer, params, x = case
    y, _ = layer.forward(params, x)
    x_back, _ = layer.inverse(params, y)
    np.testing.assert_allclose(x_back, x, atol=1e-10, rtol=0)
    z = np.random.default_rng(5).standard_normal(x.shape)
    np.testing.assert_allclose(layer.forward(params, layer.inverse(params, z)[0])[0], z, atol=1e-10, rtol=0)


def test_map_is_not_identity(case):
    """Guards the other tests: with random parameters every layer really moves points."""
    layer, params, x = case
    assert np.abs(layer.forward(params, x)[0] - x).max() > 1e-3


def test_inverse_log_det_is_minus_forward(case):
    layer, params, x = case
    y, ld = layer.forward(params, x)
    _, ld_inv = layer.inverse(params, y)
    assert ld.shape == (len(x),)
    np.testing.assert_allclose(ld_inv, -ld, atol=1e-12, rtol=0)


def _row_map(layer, params, fn):
    return lambda v: getattr(layer, fn)(params, v[None, :])[0][0]


def test_log_det_matches_autograd_jacobian(case):
    layer, params, x = case
    _, ld = layer.forward(params, x)
    _, ld_inv = layer.inverse(params, x)
    for i, row in enumerate(x):
        J = jacobian(_row_map(layer, params, "forward"))(row)
        np.testing.assert_allclose(ld[i], np.linalg.slogdet(J)[1], atol=1e-10)
        J_inv = jacobian(_row_map(layer, params, "inverse"))(row)
        np.testing.assert_allclose(ld_inv[i], np.linalg.slogdet(J_inv)[1], atol=1e-10)


def test_log_det_matches_finite_differences(case):
    layer, params, x = case
    _, ld = layer.forward(params, x)
    eps = 1e-6
    f = _row_map(layer, params, "forward")
    for i, row in enumerate(x[:3]):
        J = np.stack([(f(row + eps * e) - f(row - eps * e)) / (2 * eps) for e in np.eye(len(row))], axis=1)
        np.testing.assert_allclose(ld[i], np.linalg.slogdet(J)[1], atol=1e-6)


@pytest.mark.parametrize("dim", [2, 5])
def test_affine_coupling_formula(dim, rng):
    """eq. 3 written out by hand: y_a = x_a, y_b = x_b exp(s) + t, log_det = sum s."""
    layer = B.AffineCoupling(dim, (8,))
    params = randomize(layer.init(rng), rng)
    x = rng.standard_normal((4, dim))
    k = dim // 2
    s, t = layer.scale_shift(params, x[:, :k])
    y, ld = layer.forward(params, x)
    np.testing.assert_array_equal(y[:, :k], x[:, :k])
    np.testing.assert_allclose(y[:, k:], x[:, k:] * np.exp(s) + t, rtol=1e-14)
    np.testing.assert_allclose(ld, s.sum(axis=1), rtol=1e-14)
    assert np.abs(s).max() < layer.s_max


@pytest.mark.parametrize("index", UNBOUNDED, ids=[IDS[i] for i in UNBOUNDED])
def test_unbounded_coupling_uses_s_raw_and_differs_from_the_bounded_one(index):
    """s_max=None: s = s_raw exactly (eq. 3); the parameters reach |s_raw| > 2, where the default
    bound s = 2 tanh(s_raw / 2) gives another map, so the battery above tests the unbounded path."""
    layer, params, x = make_case(index)
    assert layer.s_max is None and layer.config()["s_max"] is None
    x_a = layer.split.split(x)[0]
    s, t = layer.scale_shift(params, x_a)
    s_raw = mlp(params, x_a, layer.activation)[:, :layer.split.d_b]
    np.testing.assert_array_equal(s, s_raw)
    assert np.abs(s_raw).max() == pytest.approx(S_RAW_MAX)
    bounded = B.from_config({**layer.config(), "s_max": 2.0})
    s_bounded, t_bounded = bounded.scale_shift(params, x_a)
    np.testing.assert_array_equal(t_bounded, t)
    assert np.abs(s_bounded).max() < 2.0
    (y, ld), (y_bounded, ld_bounded) = layer.forward(params, x), bounded.forward(params, x)
    assert np.abs(ld - ld_bounded).max() > 1e-2
    assert np.abs(y - y_bounded).max() > 1e-2
    np.testing.assert_allclose(ld, s_raw.sum(axis=1), rtol=1e-14)


def test_new_coupling_is_identity(rng):
    layer = B.AffineCoupling(4, (8,))
    x = rng.standard_normal((5, 4))
    y, ld = layer.forward(layer.init(rng), x)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(ld, 0.0)


def test_alternate_mask_splits_even_odd():
    split = B.Split(5, "alternate")
    assert split.idx_a.tolist() == [0, 2, 4] and split.idx_b.tolist() == [1, 3]
    x = np.arange(10.0).reshape(2, 5)
    a, b = split.split(x)
    np.testing.assert_array_equal(split.join(a, b), x)


def test_actnorm_data_init_standardises(rng):
    layer = B.ActNorm(3)
    x = 3.0 + 2.0 * rng.standard_normal((500, 3))
    y, _ = layer.forward(layer.data_init(x), x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1.0, atol=1e-12)


@pytest.mark.parametrize("bad, err", [
    (lambda: B.AffineCoupling(1), ValueError),
    (lambda: B.AffineCoupling(4, hidden=(8, -1)), ValueError),
    (lambda: B.AffineCoupling(4, hidden=(8, 0)), ValueError),
    (lambda: B.AffineCoupling(4, mask="checker"), ValueError),
    (lambda: B.AffineCoupling(4, activation="sigmoidal"), ValueError),
    (lambda: B.AffineCoupling(4, s_max=0.0), ValueError),
    (lambda: B.AffineCoupling(4, s_max=0), ValueError),
    (lambda: B.AffineCoupling(4, s_max=-1), ValueError),
    (lambda: B.AffineCoupling(4, s_max=float("nan")), ValueError),
    (lambda: B.AffineCoupling(4, s_max=float("inf")), ValueError),
    (lambda: B.AffineCoupling(4, s_max="2"), TypeError),
    (lambda: B.AffineCoupling(4, s_max=True), TypeError),
    (lambda: B.AffineCoupling(4, s_max=np.bool_(True)), TypeError),
    (lambda: B.AffineCoupling(4.5), TypeError),
    (lambda: B.Permutation([0, 0, 1]), ValueError),
    (lambda: B.RandomPermutation(3, rng=42), TypeError),
])
def test_bad_configuration(bad, err):
    with pytest.raises(err):
        bad()


@pytest.mark.parametrize("s_max", [0, -1, float("nan"), float("inf"), "2", True])
def test_a_bad_s_max_is_a_clear_error(s_max):
    with pytest.raises((TypeError, ValueError), match=r"s_max: expected None \(unbounded scale\) or a"):
        B.AffineCoupling(4, s_max=s_max)


def test_s_max_accepts_none_and_positive_numbers():
    assert B.AffineCoupling(4).s_max == 2.0
    assert B.AffineCoupling(4, s_max=None).s_max is None
    assert B.AffineCoupling(4, s_max=3).s_max == 3.0 and isinstance(B.AffineCoupling(4, s_max=3).s_max, float)
    assert B.AffineCoupling(4, s_max=np.float32(0.5)).s_max == 0.5


def test_from_config_round_trip(rng):
    for _, layer in make_layers(5, rng) + make_unbounded_layers(5):
        again = B.from_config(layer.config())
        assert again.config() == layer.config()
        via_json = B.from_config(json.loads(json.dumps(layer.config())))   # None <-> null
        assert via_json.config() == layer.config()
    with pytest.raises(ValueError, match="layer config"):
        B.from_config({"type": "Nope"})
