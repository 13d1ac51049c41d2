"""The array namespace: the reference maps run on a strict array-API namespace, and on CuPy where present.

``array_api_strict`` rejects everything outside the array-API standard (NumPy-only
functions, implicit conversions, in-place tricks), so a pass through it proves the
bijectors are written against ``xp`` and not against NumPy. The GPU tests skip
themselves where CuPy (or a GPU) is absent.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import randomize

import minflow
from minflow import backend
from minflow.speed import kernels, manual
from minflow.flow import forward_pass, inverse_pass
from minflow.tree import tree_leaves, tree_map

xps = pytest.importorskip("array_api_strict")

CONFIGS = [dict(), dict(mask="alternate", activation="elu"), dict(actnorm=True, lu=True),
           dict(coupling="additive", permutation="random", activation="tanh"),
           dict(permutation="reverse", activation="leaky_relu")]


@pytest.mark.parametrize("kw", CONFIGS)
def test_forward_and_inverse_through_array_api_strict_equal_numpy(kw, rng):
    flow = minflow.RealNVP(5, 3, (8, 8), rng=rng, **kw)
    params = randomize(flow.params, rng, scale=0.4)
    x = rng.standard_normal((20, 5))
    strict_params = tree_map(xps.asarray, params)
    z, ld = forward_pass(flow.layers, strict_params, xps.asarray(x))
    assert backend.namespace(z).__name__ == backend.namespace(ld).__name__ == "array_api_strict"
    z_np, ld_np = forward_pass(flow.layers, params, x)
    np.testing.assert_allclose(np.asarray(z), z_np, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ld), ld_np, rtol=1e-12, atol=1e-12)
    x_back, ld_inv = inverse_pass(flow.layers, strict_params, z)
    x_np, ld_inv_np = inverse_pass(flow.layers, params, z_np)
    np.testing.assert_allclose(np.asarray(x_back), x_np, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ld_inv), ld_inv_np, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(x_back), x, atol=1e-10)


def test_backend_setting_is_read_once_at_import():
    """$MINFLOW_BACKEND is read when minflow is imported (backend.DEFAULT_BACKEND), not by each Flow."""
    assert backend.DEFAULT_BACKEND == backend.default_backend()
    env = {**os.environ, backend.BACKEND_ENV: "tpu"}
    done = subprocess.run([sys.executable, "-c", "import minflow"], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "MINFLOW_BACKEND: expected 'numpy' or 'cupy', got 'tpu'" in done.stderr


def test_backend_option_is_checked(monkeypatch):
    monkeypatch.setenv(backend.BACKEND_ENV, "tpu")
    with pytest.raises(ValueError, match="MINFLOW_BACKEND"):
        backend.default_backend()
    monkeypatch.setenv(backend.BACKEND_ENV, "NumPy ")
    assert backend.default_backend() == "numpy"
    with pytest.raises(ValueError, match="backend"):
        backend.to_backend(np.zeros(2), "jax")


def test_fast_code_rejects_other_arrays(rng):
    flow = minflow.RealNVP(4, 2, (8,), rng=rng)
    with pytest.raises(TypeError, match="x"):
        kernels.log_prob_in_place(flow.layers, flow.params, xps.asarray(np.zeros((3, 4))))


# --- CuPy (GPU): skipped where CuPy or a GPU is absent ---------------------------------------
def _cupy():
    cupy = pytest.importorskip("cupy")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:  # CuPy installed, no usable GPU
        pytest.skip("no CUDA device")
    return cupy


@pytest.mark.gpu
@pytest.mark.parametrize("kw", [dict(), dict(mask="alternate"), dict(actnorm=True)])
def test_cupy_log_prob_equals_numpy_float32(kw, rng):
    cupy = _cupy()
    flow = minflow.RealNVP(10, 4, (32, 32), rng=rng, dtype="float32", **kw)
    flow.params = randomize(flow.params, rng, scale=0.3)
    x = rng.standard_normal((5000, 10)).astype(np.float32)
    ref = flow.log_prob(x)
    got = flow.to("cupy").log_prob(x)
    assert isinstance(got, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(got), ref, rtol=1e-5, atol=1e-5)
    z, _ = flow.forward(x)
    x_back, _ = flow.inverse(z)
    np.testing.assert_allclose(cupy.asnumpy(x_back), x, atol=1e-4)


@pytest.mark.gpu
def test_cupy_manual_gradient_equals_numpy(rng):
    cupy = _cupy()
    flow = minflow.RealNVP(6, 3, (16, 16), rng=rng, dtype="float32")
    params = randomize(flow.params, rng, scale=0.3)
    x = rng.standard_normal((256, 6)).astype(np.float32)
    loss, g = manual.mean_nll_and_grad(flow.layers, params, x)
    loss_gpu, g_gpu = manual.mean_nll_and_grad(flow.layers, tree_map(cupy.asarray, params), cupy.asarray(x))
    assert loss_gpu == pytest.approx(loss, rel=1e-5)
    for a, b in zip(tree_leaves(g_gpu), tree_leaves(g)):
        np.testing.assert_allclose(cupy.asnumpy(a), b, rtol=1e-4, atol=1e-5 * np.max(np.abs(b)))


CUPY_TRAINING = """
import numpy as np, pytest, minflow
rng = np.random.default_rng(1234)
flow = minflow.RealNVP(3, 2, (16,), rng=rng, dtype="float32")
assert flow.backend == "cupy"
with pytest.raises(ValueError, match="engine"):
    minflow.fit(flow, rng.standard_normal((512, 3)), rng=rng, epochs=1, engine="primitives")
hist = minflow.fit(flow, rng.standard_normal((2048, 3)) * 3, rng=rng, epochs=3, batch_size=128,
                   lr=1e-2, engine="manual")
assert hist.val_nll[-1] < hist.initial_val_nll
"""


@pytest.mark.gpu
def test_cupy_training_with_the_manual_engine():
    """$MINFLOW_BACKEND=cupy (read once, when minflow is imported): every new flow lives on the GPU."""
    _cupy()
    env = {**os.environ, backend.BACKEND_ENV: "cupy"}
    done = subprocess.run([sys.executable, "-c", CUPY_TRAINING], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
