"""The speed room computes the reference numbers: every engine against engine="reference".

Ground truth is ``autograd.grad`` of the reference loss ``flow.mean_nll`` (itself checked
against finite differences in test_train.py) and the pure ``flow.flow_log_prob``. Float64
tolerances: log_prob 1e-10, gradients 1e-8. Every check also runs on flows with unbounded
couplings (``s_max=None``), whose log-scales exceed the default bound 2.
"""
import tracemalloc

import numpy as np
import pytest
from autograd import value_and_grad
from conftest import randomize

import minflow
from minflow import engine
from minflow.bijectors import AffineCoupling
from minflow.flow import Flow, flow_log_prob, mean_nll
from minflow.speed import kernels, manual, primitives
from minflow.speed._arrays import couplings_only
from minflow.tree import tree_leaves

COUPLING_ONLY = [
    dict(dim=6),
    dict(dim=7, mask="alternate", activation="tanh"),           # odd D, strided split
    dict(dim=5, activation="leaky_relu", hidden=(16, 8, 12)),   # three hidden layers, uneven widths
    dict(dim=4, activation="elu", s_max=0.7),
    dict(dim=2, hidden=(9,)),
    # unbounded couplings, s = s_raw (make() sets max |s_raw| to S_RAW_MAX > 2)
    dict(dim=6, s_max=None),
    dict(dim=7, mask="alternate", activation="tanh", s_max=None),
    dict(dim=5, activation="leaky_relu", hidden=(16, 8, 12), s_max=None),
]
MIXED = [dict(dim=5, actnorm=True, lu=True), dict(dim=5, coupling="additive", permutation="random"),
         dict(dim=6, permutation="reverse", mask="alternate"),
         dict(dim=5, actnorm=True, lu=True, s_max=None), dict(dim=6, permutation="reverse", s_max=None)]
UNBOUNDED = [kw for kw in COUPLING_ONLY + MIXED if "s_max" in kw and kw["s_max"] is None]
S_RAW_MAX = 3.0


def make(rng, dim, hidden=(16, 16), dtype="float64", **kw):
    flow = minflow.RealNVP(dim, 3, hidden, rng=rng, dtype=dtype, **kw)
    flow.params = randomize(flow.params, rng, scale=0.4)
    if kw.get("s_max", 2.0) is None:
        scale_unbounded(flow)
    return flow


def scale_unbounded(flow, n=1000):
    """Rescale each unbounded coupling's output layer so that max |s_raw| over n reference points
    is S_RAW_MAX: beyond the default bound 2, yet far from overflow (random weights alone give
    anything from s ~ 1 to exp(s) = inf)."""
    x = np.random.default_rng(0).standard_normal((n, flow.dim)).astype(flow.dtype)
    params = list(flow.params)
    for k, layer in enumerate(flow.layers):
        if type(layer) is AffineCoupling and layer.s_max is None:
            s, _ = layer.scale_shift(params[k], layer.split.split(x)[0])
            c = float(S_RAW_MAX / np.abs(s).max())
            W, b = params[k][-1]
            params[k] = [*params[k][:-1], (c * W, c * b)]
        x, _ = layer.forward(params[k], x)
    flow.params = params


def coupling_log_scales(flow, x):
    """Every affine coupling's s on the way from x to z, concatenated: (N, sum of d_b)."""
    out = []
    for layer, p in zip(flow.layers, flow.params):
        if type(layer) is AffineCoupling:
            out.append(layer.scale_shift(p, layer.split.split(x)[0])[0])
        x, _ = layer.forward(p, x)
    return np.concatenate(out, axis=1)


@pytest.mark.parametrize("kw", UNBOUNDED)
def test_unbounded_flows_exceed_the_bound_and_differ_from_bounded_ones(kw, rng):
    """Guards the checks below: their unbounded flows really reach |s| > 2, where s_max=2 gives another model."""
    flow = make(rng, **kw)
    x = rng.standard_normal((300, flow.dim))
    assert np.abs(coupling_log_scales(flow, x)).max() > 2.0
    config = flow.config()
    config["layers"] = [{**c, "s_max": 2.0} if c["type"] == "AffineCoupling" else c for c in config["layers"]]
    bounded = Flow.from_config(config, params=flow.params)
    assert np.abs(coupling_log_scales(bounded, x)).max() < 2.0
    difference = flow_log_prob(flow.layers, flow.params, x) - flow_log_prob(bounded.layers, bounded.params, x)
    assert np.abs(difference).max() > 1e-2


def reference_value_and_grad(flow, x):
    return value_and_grad(mean_nll)(flow.params, flow.layers, x)


def assert_same_grads(g, g_ref, rtol=1e-8):
    leaves, ref = tree_leaves(g), tree_leaves(g_ref)
    assert len(leaves) == len(ref)
    for a, b in zip(leaves, ref):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)))


@pytest.mark.parametrize("kw", COUPLING_ONLY)
def test_manual_gradient_equals_autograd_float64(kw, rng):
    flow = make(rng, **kw)
    x = rng.standard_normal((64, flow.dim))
    loss_ref, g_ref = reference_value_and_grad(flow, x)
    loss, g = manual.mean_nll_and_grad(flow.layers, flow.params, x)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    assert_same_grads(g, g_ref)


@pytest.mark.parametrize("kw", COUPLING_ONLY[:2] + UNBOUNDED[:1] + MIXED)
def test_primitive_engine_gradient_equals_autograd(kw, rng):
    flow = make(rng, **kw)
    x = rng.standard_normal((32, flow.dim))
    loss_ref, g_ref = reference_value_and_grad(flow, x)
    loss, g = engine.get("primitives").value_and_grad(flow.layers)(flow.params, x)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    assert_same_grads(g, g_ref)


@pytest.mark.parametrize("kw", MIXED[:3])
def test_manual_engine_refuses_layers_it_does_not_implement(kw, rng):
    flow = make(rng, **kw)
    assert not couplings_only(flow.layers)
    with pytest.raises(ValueError, match="engine: 'manual' implements flows of AffineCoupling layers only"):
        minflow.fit(flow, rng.standard_normal((64, flow.dim)), rng=rng, epochs=1, batch_size=16, engine="manual")


def test_manual_gradient_float32_is_float32_and_close(rng):
    flow = make(rng, 6)
    x = rng.standard_normal((128, 6))
    _, g_ref = reference_value_and_grad(flow, x)
    _, g = manual.mean_nll_and_grad(flow.layers, flow.astype("float32").params, x.astype(np.float32))
    for a, b in zip(tree_leaves(g), tree_leaves(g_ref)):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4 * np.max(np.abs(b)))


@pytest.mark.parametrize("s_max", [2.0, None])
def test_input_gradient_of_a_coupling_is_right(s_max, rng):
    """coupling_backward's g_x (used between layers) against autograd of one layer."""
    from autograd import grad

    flow = make(rng, 5, mask="alternate", s_max=s_max)
    layer, p = flow.layers[0], flow.params[0]
    x = rng.standard_normal((20, 5))
    w, v = rng.standard_normal((20, 5)), rng.standard_normal(20)
    fn = lambda x_: np.sum(layer.forward(p, x_)[0] * w) + np.sum(layer.forward(p, x_)[1] * v)  # noqa: E731
    _, _, cache = manual.coupling_forward(layer, p, x)
    _, g_x = manual.coupling_backward(layer, p, cache, w, v)
    np.testing.assert_allclose(g_x, grad(fn)(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("s_max", [2.0, None])
@pytest.mark.parametrize("name", ["primitives", "manual", "reference"])
def test_every_engine_trains_to_the_same_parameters(name, s_max):
    def run(name):
        rng = np.random.default_rng(3)
        flow = minflow.RealNVP(4, 2, (8,), rng=rng, engine=name, s_max=s_max)
        minflow.fit(flow, rng.standard_normal((256, 4)) * 2 + 1, rng=rng, epochs=2, batch_size=64)
        return flow

    flow, ref = run(name), run("reference")
    for a, b in zip(tree_leaves(flow.params), tree_leaves(ref.params)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert flow.history.settings["engine"] == name


def test_the_engine_shows_in_repr_and_is_checked(rng):
    flow = minflow.RealNVP(3, 2, (4,), rng=rng, engine="reference")
    assert "engine='reference'" in repr(flow)
    flow.engine = "manual"
    assert "engine='manual'" in repr(flow)
    assert minflow.RealNVP(3, 2, (4,), rng=rng).engine == engine.DEFAULT == "primitives"
    with pytest.raises(ValueError, match="engine: expected one of"):
        minflow.RealNVP(3, 2, (4,), rng=rng, engine="fast")
    with pytest.raises(ValueError, match="engine"):
        flow.engine = "autograd"


@pytest.mark.parametrize("name", ["primitives", "manual"])
@pytest.mark.parametrize("kw", COUPLING_ONLY + MIXED)
def test_flow_log_prob_of_every_engine_equals_reference_float64(name, kw, rng):
    flow = make(rng, **kw)
    x = rng.standard_normal((300, flow.dim))
    ref = flow_log_prob(flow.layers, flow.params, x)
    flow.engine = name
    np.testing.assert_allclose(flow.log_prob(x), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kw", COUPLING_ONLY + MIXED)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fast_log_prob_equals_reference(kw, dtype, rng):
    flow = make(rng, dtype=dtype, **kw)
    x = rng.standard_normal((300, flow.dim)).astype(dtype)
    ref = flow_log_prob(flow.layers, flow.params, x)
    got = kernels.log_prob_in_place(flow.layers, flow.params, x)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, ref, rtol=1e-12 if dtype == "float64" else 2e-5, atol=1e-10)


def test_fast_path_does_not_modify_the_input(rng):
    flow = make(rng, 6)
    x = rng.standard_normal((50, 6))
    x0 = x.copy()
    kernels.log_prob_in_place(flow.layers, flow.params, x, chunk_size=7)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_chunked_evaluation_equals_one_pass(chunk, rng):
    flow = make(rng, 7, mask="alternate")
    x = rng.standard_normal((333, 7))
    one = flow_log_prob(flow.layers, flow.params, x)
    for name in engine.names():
        flow.engine = name
        np.testing.assert_allclose(flow.log_prob(x, chunk_size=chunk), one, rtol=1e-13, atol=1e-12)


def test_memory_stays_bounded_for_many_samples(rng):
    """50,000 points in D = 100, float32: the 20 MB input is never copied whole (one chunk of buffers)."""
    flow = minflow.RealNVP(100, 8, (64, 64), rng=rng, dtype="float32")
    x = rng.standard_normal((50_000, 100), dtype=np.float32)
    tracemalloc.start()
    out = flow.log_prob(x, chunk_size=2048)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.shape == (50_000,) and np.all(np.isfinite(out))
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("kw", [COUPLING_ONLY[1], MIXED[0], *UNBOUNDED[-2:]])
def test_primitive_forward_pass_input_gradient(kw, rng):
    """d/dx of a weighted sum of (z, log_det): one stacked primitive, or per-coupling ones."""
    from autograd import grad

    from minflow.flow import forward_pass

    flow = make(rng, **kw)
    x = rng.standard_normal((16, flow.dim))
    w, v = rng.standard_normal((16, flow.dim)), rng.standard_normal(16)

    def weighted(fp):
        return lambda x_: np.sum(fp(flow.layers, flow.params, x_)[0] * w) + np.sum(
            fp(flow.layers, flow.params, x_)[1] * v)
    np.testing.assert_allclose(grad(weighted(primitives.forward_pass_primitives))(x), grad(weighted(forward_pass))(x),
                               rtol=1e-9, atol=1e-12)


# --- both cores: blocks of rows on a pool of threads (speed/parallel.py) -----------------------
@pytest.fixture
def thread_counts():
    """Sets the speed room's thread count, above the cores too: set_threads caps there (more threads only
    wait), but the numbers must not depend on the count even then."""
    from minflow.speed import parallel

    def force(n):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            return parallel.set_threads(n)  # the checks of set_threads
        with parallel._lock:
            if parallel._state["pool"] is not None:
                parallel._state["pool"].shutdown()
            parallel._state.update(threads=n, pool=None)

    before = parallel.threads()
    yield force
    force(before)


@pytest.mark.parametrize("name", ["primitives", "manual"])
def test_threaded_gradient_equals_reference_and_is_identical_for_any_thread_count(name, rng, thread_counts):
    flow = make(rng, 7, mask="alternate", activation="tanh")
    x = rng.standard_normal((700, 7))                      # 6 blocks of rows, the last one short
    loss_ref, g_ref = reference_value_and_grad(flow, x)
    results = []
    for n in (1, 2, 3):
        thread_counts(n)
        loss, g = engine.get(name).value_and_grad(flow.layers)(flow.params, x)
        assert loss == pytest.approx(loss_ref, rel=1e-12)
        assert_same_grads(g, g_ref)
        results.append((loss, tree_leaves(g)))
    for loss, leaves in results[1:]:
        assert loss == results[0][0]
        for a, b in zip(leaves, results[0][1]):
            np.testing.assert_array_equal(a, b)


def test_threaded_log_prob_equals_reference_and_is_identical_for_any_thread_count(rng, thread_counts):
    flow = make(rng, 6)
    x = rng.standard_normal((5000, 6))
    ref = flow_log_prob(flow.layers, flow.params, x)
    outs = []
    for n in (1, 2, 4):
        thread_counts(n)
        outs.append(kernels.log_prob_in_place(flow.layers, flow.params, x, chunk_size=512))
        np.testing.assert_allclose(outs[-1], ref, rtol=1e-10, atol=1e-10)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


def test_thread_settings_are_checked(monkeypatch, thread_counts):
    from minflow.speed import parallel

    with pytest.raises(ValueError, match="n"):
        thread_counts(0)
    monkeypatch.setenv(parallel.THREADS_ENV, "two")
    monkeypatch.setitem(parallel._state, "threads", None)
    with pytest.raises(ValueError, match="MINFLOW_THREADS"):
        parallel.threads()


def test_set_threads_takes_numpy_integers_and_caps_at_the_cores():
    from minflow.speed import parallel

    before = parallel.threads()
    try:
        parallel.set_threads(np.int64(1))
        assert parallel.threads() == 1
        with pytest.warns(RuntimeWarning, match="cores"):
            parallel.set_threads(1000)
        assert parallel.threads() == parallel.available_cores()
        for bad in (0, -1, 1.5, "2", True):
            with pytest.raises(ValueError, match="n:"):
                parallel.set_threads(bad)
    finally:
        parallel.set_threads(before)
