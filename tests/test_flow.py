"""The whole flow: log-det against the brute-force Jacobian, the prior against scipy,
normalisation on a grid, samples against log_prob, chunking, float32, the per-layer trace."""
import numpy as np
import pytest
from autograd import jacobian
from conftest import randomize
from scipy.stats import multivariate_normal

import minflow
from minflow.flow import forward_pass


def random_flow(dim, rng, **kw):
    flow = minflow.RealNVP(dim, kw.pop("n_layers", 4), kw.pop("hidden", (16, 16)), rng=rng, activation="tanh", **kw)
    flow.params = randomize(flow.params, rng, scale=0.3)
    flow.needs_data_init = False
    return flow


@pytest.mark.parametrize("dim", [2, 3, 6])
@pytest.mark.parametrize("kw", [{}, {"mask": "alternate"}, {"permutation": "random"}, {"actnorm": True, "lu": True},
                                {"coupling": "additive", "permutation": "reverse"}])
def test_flow_log_det_matches_brute_force_jacobian(dim, kw, rng):
    flow = random_flow(dim, rng, **kw)
    x = rng.standard_normal((5, dim))
    z, log_det = flow.forward(x)
    for i, row in enumerate(x):
        J = jacobian(lambda v: forward_pass(flow.layers, flow.params, v[None, :])[0][0])(row)
        np.testing.assert_allclose(log_det[i], np.linalg.slogdet(J)[1], atol=1e-9)
    x_back, log_det_inv = flow.inverse(z)
    np.testing.assert_allclose(x_back, x, atol=1e-10)
    np.testing.assert_allclose(log_det_inv, -log_det, atol=1e-10)


def test_log_prob_is_prior_plus_log_det(rng):
    flow = random_flow(4, rng)
    x = rng.standard_normal((6, 4))
    z, log_det = flow.forward(x)
    expected = multivariate_normal(np.zeros(4)).logpdf(z) + log_det
    np.testing.assert_allclose(flow.log_prob(x), expected, rtol=1e-12)


@pytest.mark.parametrize("dim", [1, 3, 10])
def test_flow_without_layers_is_the_standard_normal(dim, rng):
    flow = minflow.Flow([], dim=dim)
    x = 2.0 * rng.standard_normal((20, dim))
    np.testing.assert_allclose(flow.log_prob(x), multivariate_normal(np.zeros(dim)).logpdf(x).reshape(-1),
                               rtol=1e-12)


def test_new_realnvp_is_the_prior(rng):
    flow = minflow.RealNVP(5, 3, (8,), rng=rng)
    x = rng.standard_normal((10, 5))
    np.testing.assert_allclose(flow.log_prob(x), multivariate_normal(np.zeros(5)).logpdf(x), rtol=1e-12)


def _grid_density(flow, lim=9.0, n=401):
    g = np.linspace(-lim, lim, n)
    xx, yy = np.meshgrid(g, g)
    pts = np.column_stack([xx.ravel(), yy.ravel()])
    return pts, np.exp(flow.log_prob(pts)), (g[1] - g[0]) ** 2


def test_density_integrates_to_one_in_2d(rng):
    flow = random_flow(2, rng, n_layers=4)
    _, dens, cell = _grid_density(flow)
    assert abs(dens.sum() * cell - 1.0) < 1e-3


def test_samples_agree_with_log_prob(rng):
    """Moments of flow.sample (Monte Carlo) equal the moments of exp(flow.log_prob) on a grid."""
    flow = random_flow(2, rng, n_layers=4)
    pts, dens, cell = _grid_density(flow)
    w = dens * cell
    mean_grid = w @ pts
    cov_grid = (pts - mean_grid).T @ ((pts - mean_grid) * w[:, None])
    x = flow.sample(200_000, np.random.default_rng(7))
    se = np.sqrt(np.diag(cov_grid) / len(x))
    np.testing.assert_array_less(np.abs(x.mean(axis=0) - mean_grid), 5 * se)
    np.testing.assert_allclose(np.cov(x.T), cov_grid, rtol=0.03, atol=0.01)


def test_sampling_is_reproducible(rng):
    flow = random_flow(3, rng)
    a = flow.sample(10, np.random.default_rng(3))
    b = flow.sample(10, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_chunked_evaluation_equals_one_pass(rng):
    flow = random_flow(5, rng)
    x = rng.standard_normal((1000, 5))
    np.testing.assert_allclose(flow.log_prob(x, chunk_size=97), flow.log_prob(x, chunk_size=5000), rtol=1e-13)
    z1, l1 = flow.forward(x, chunk_size=64)
    z2, l2 = flow.forward(x, chunk_size=5000)
    np.testing.assert_allclose(z1, z2, rtol=1e-13)
    np.testing.assert_allclose(l1, l2, rtol=1e-13)


def test_float32_end_to_end(rng):
    flow64 = random_flow(4, rng)
    flow32 = flow64.astype("float32")
    x = rng.standard_normal((50, 4))
    lp = flow32.log_prob(x)
    assert lp.dtype == np.float32
    assert flow32.sample(5, rng).dtype == np.float32
    np.testing.assert_allclose(lp, flow64.log_prob(x), rtol=1e-4, atol=1e-4)


def test_trace_matches_forward(rng):
    flow = random_flow(4, rng, n_layers=3)
    x = rng.standard_normal((8, 4))
    trace = flow.trace(x)
    assert len(trace) == len(flow.layers)
    z, log_det = flow.forward(x)
    np.testing.assert_allclose(trace[-1]["output"], z, rtol=1e-13)
    np.testing.assert_allclose(sum(t["log_det"] for t in trace), log_det, rtol=1e-12)
    for t in trace:
        np.testing.assert_allclose(t["s"].sum(axis=1), t["log_det"], rtol=1e-12)


def test_integer_input_is_converted(rng):
    flow = random_flow(2, rng)
    x = np.array([[1, 2], [0, -1]])
    np.testing.assert_allclose(flow.log_prob(x), flow.log_prob(x.astype(float)))


@pytest.mark.parametrize("x, err, match", [
    (np.zeros(3), ValueError, "2-D"),
    (np.zeros((4, 2)), ValueError, "features"),
    (np.zeros((0, 3)), ValueError, "empty"),
    (np.array([[0.0, np.nan, 1.0]]), ValueError, "NaN"),
    (np.array([[0.0, np.inf, 1.0]]), ValueError, "NaN or infinite"),
    (np.zeros((2, 3), dtype=complex), TypeError, "complex"),
    (np.array([["a", "b", "c"]]), TypeError, "real numbers"),
    (np.array([[object(), 1, 2]], dtype=object), TypeError, "real numbers"),
    ([[1.0, 2.0], [3.0]], ValueError, "x"),
])
def test_bad_input_names_the_argument(x, err, match, rng):
    flow = random_flow(3, rng)
    with pytest.raises(err, match=match):
        flow.log_prob(x)
    with pytest.raises(err):
        flow.forward(x)


@pytest.mark.parametrize("kwargs, err", [
    (dict(dim=1), ValueError), (dict(dim=4, n_layers=0), ValueError), (dict(dim=4, hidden=(-3,)), ValueError),
    (dict(dim=4, coupling="cubic"), ValueError), (dict(dim=4, permutation="shuffle"), ValueError),
    (dict(dim=4, dtype="float16"), ValueError), (dict(dim=4, rng=0), TypeError),
])
def test_bad_configuration(kwargs, err):
    kwargs = {"rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(err):
        minflow.RealNVP(**kwargs)


def test_rng_is_required():
    with pytest.raises(TypeError, match="rng"):
        minflow.RealNVP(3)


def test_sample_checks_arguments(rng):
    flow = random_flow(2, rng)
    with pytest.raises(ValueError, match="n"):
        flow.sample(0, rng)
    with pytest.raises(TypeError, match="rng"):
        flow.sample(5, 123)


def test_consistency_report_is_at_machine_precision(rng):
    flow = random_flow(2, rng)
    rep = minflow.consistency_report(flow, rng.standard_normal((200, 2)), rng)
    assert rep["data -> latent"]["difference"]["max|.|"] < 1e-10
    assert rep["latent -> data"]["difference"]["max|.|"] < 1e-10
    assert rep["latent -> data"]["pz difference"]["max|.|"] < 1e-10
    assert "log_px_direct" in minflow.format_consistency_report(rep)


# --- issue 11: far inputs, overflow in the working dtype, falsy options --------------------------
def test_far_inputs_warn_and_overflowing_inputs_are_named(rng):
    flow = minflow.RealNVP(3, 2, (4,), rng=rng)
    with pytest.warns(RuntimeWarning, match="lose precision"):
        flow.log_prob(np.full((2, 3), 1e30))
    f32 = flow.astype("float32")
    with pytest.warns(RuntimeWarning, match="float32"):
        f32.forward(np.full((2, 3), 1e6))
    with pytest.raises(ValueError, match="overflow float32"):
        f32.log_prob(np.full((2, 3), 1e39))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flow.log_prob(rng.standard_normal((5, 3)) * 100)          # ordinary data: no warning


@pytest.mark.parametrize("kwargs, err", [(dict(chunk_size=0), ValueError), (dict(chunk_size=False), TypeError),
                                         (dict(chunk_size=2.5), TypeError)])
def test_chunk_size_is_checked_not_defaulted(kwargs, err, rng):
    flow = minflow.RealNVP(3, 2, (4,), rng=rng)
    for method in (flow.log_prob, flow.forward, flow.inverse):
        with pytest.raises(err, match="chunk_size"):
            method(rng.standard_normal((4, 3)), **kwargs)


def test_boolean_options_must_be_booleans(rng):
    for name in ("lu", "actnorm"):
        with pytest.raises(TypeError, match=name):
            minflow.RealNVP(3, 2, (4,), rng=rng, **{name: "no"})
    with pytest.raises(ValueError, match="n_latent"):
        minflow.consistency_report(minflow.RealNVP(2, 1, (4,), rng=rng), rng.standard_normal((5, 2)), rng, n_latent=0)
