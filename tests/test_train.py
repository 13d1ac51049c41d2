"""Training: the gradient of the loss, recovering a known answer, early stopping, seeding, bad settings."""
import numpy as np
import pytest
from autograd.test_util import check_grads
from conftest import randomize
from scipy.stats import multivariate_normal

import minflow
from minflow.tree import tree_leaves
from minflow.flow import mean_nll
from minflow.train import adam_step, learning_rate


def correlated_gaussian(dim, rng):
    A = rng.standard_normal((dim, dim))
    cov = A @ A.T / dim + 0.1 * np.eye(dim)
    return multivariate_normal(rng.standard_normal(dim), cov)


@pytest.mark.parametrize("kw", [{}, {"actnorm": True, "lu": True}, {"coupling": "additive", "mask": "alternate"}])
def test_loss_gradient_matches_finite_differences(kw, rng):
    flow = minflow.RealNVP(3, 2, (8,), rng=rng, activation="tanh", **kw)
    params = randomize(flow.params, rng, scale=0.3)
    x = rng.standard_normal((16, 3))
    check_grads(lambda p: mean_nll(p, flow.layers, x), modes=["rev"], order=1)(params)


def test_training_recovers_the_entropy_of_a_gaussian():
    """On a correlated Gaussian in D = 5, the NLL on fresh data comes within 0.05 nats of H(p)."""
    rng = np.random.default_rng(0)
    target = correlated_gaussian(5, rng)
    flow = minflow.RealNVP(5, 6, (32, 32), rng=rng)
    hist = minflow.fit(flow, lambda n, r: target.rvs(n, random_state=r), rng=rng, epochs=25, batch_size=256,
                       lr=3e-3, epoch_size=8192, validation=4096)
    fresh = target.rvs(200_000, random_state=np.random.default_rng(99))
    nll = -flow.log_prob(fresh).mean()
    assert nll - target.entropy() < 0.05, (nll, target.entropy())
    assert nll - target.entropy() > -0.01  # H(p, p_theta) >= H(p) (eq. 17), up to sampling error
    assert len(hist.train_nll) == len(hist.val_nll) == 25
    assert hist.train_nll[-1] < hist.train_nll[0]


def test_fit_on_an_array_with_early_stopping_restores_the_best(rng):
    target = correlated_gaussian(2, rng)
    data = target.rvs(200, random_state=rng)  # tiny: it overfits, so early stopping triggers
    val = target.rvs(100, random_state=rng)
    flow = minflow.RealNVP(2, 4, (64, 64), rng=rng)
    hist = minflow.fit(flow, data, rng=rng, epochs=200, batch_size=32, lr=1e-2, schedule="constant",
                       validation=val, patience=5)
    assert hist.stopped_early and len(hist.val_nll) < 200
    assert hist.best_val_nll == min(hist.val_nll) < hist.val_nll[-1]
    assert -np.mean(flow.log_prob(val)) == pytest.approx(hist.best_val_nll, abs=1e-12)


def test_fit_is_reproducible():
    def run():
        rng = np.random.default_rng(5)
        flow = minflow.RealNVP(3, 2, (8,), rng=rng)
        minflow.fit(flow, rng.standard_normal((512, 3)), rng=rng, epochs=3, batch_size=64)
        return flow.log_prob(np.ones((2, 3)))
    np.testing.assert_array_equal(run(), run())


def test_fit_in_float32(rng):
    flow = minflow.RealNVP(3, 2, (16,), rng=rng, dtype="float32")
    hist = minflow.fit(flow, rng.standard_normal((1024, 3)) * 2 + 1, rng=rng, epochs=5, batch_size=128, lr=3e-3)
    assert all(a.dtype == np.float32 for layer in flow.params for W, b in layer for a in (W, b))
    assert np.isfinite(hist.val_nll).all() and hist.val_nll[-1] < hist.val_nll[0]


def test_fit_with_extensions_trains(rng):
    flow = minflow.RealNVP(2, 2, (16,), rng=rng, actnorm=True, lu=True)
    M = np.array([[2.0, 0.0], [1.5, 0.5]])
    data = rng.standard_normal((4096, 2)) @ M + 3.0
    hist = minflow.fit(flow, data, rng=rng, epochs=5, batch_size=128, lr=3e-3)
    assert not flow.needs_data_init  # ActNorm was initialised from the data
    entropy = multivariate_normal(np.zeros(2), M.T @ M).entropy()
    assert abs(hist.best_val_nll - entropy) < 0.1


def test_learning_rate_schedule():
    assert learning_rate(0, 100, 1.0, "constant") == 1.0
    assert learning_rate(0, 100, 1.0, "cosine") == pytest.approx(1.0)
    assert learning_rate(100, 100, 1.0, "cosine") == pytest.approx(0.01)
    assert learning_rate(0, 100, 1.0, "cosine", warmup=10) == pytest.approx(0.1)


def test_adam_minimises_a_quadratic():
    params = [np.array([3.0, -2.0])]
    state = ([np.zeros(2)], [np.zeros(2)], 0)
    for _ in range(2000):
        params, state = adam_step(params, [2 * params[0]], state, lr=0.05)
    np.testing.assert_allclose(params[0], 0.0, atol=1e-3)


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(epochs=0), ValueError, "epochs"), (dict(batch_size=-1), ValueError, "batch_size"),
    (dict(lr=0.0), ValueError, "lr"), (dict(lr=float("nan")), ValueError, "lr"),
    (dict(schedule="linear"), ValueError, "schedule"), (dict(engine="jax"), ValueError, "engine"),
    (dict(validation=1.5), ValueError, "validation"), (dict(batch_size=5000), ValueError, "batch_size"),
    (dict(rng=None), TypeError, "rng"),
    # issue 11: every option checked before the first epoch
    (dict(clip_norm=-1), ValueError, "clip_norm"), (dict(clip_norm=0), ValueError, "clip_norm"),
    (dict(clip_norm=float("nan")), ValueError, "clip_norm"), (dict(warmup=-5), ValueError, "warmup"),
    (dict(warmup=2.5), TypeError, "warmup"), (dict(callback=5), TypeError, "callback"),
    (dict(progress="yes"), TypeError, "progress"), (dict(patience=0), ValueError, "patience"),
    (dict(epoch_size=1000), ValueError, "epoch_size"), (dict(validation=True), TypeError, "validation"),
    (dict(validation=float("nan")), ValueError, "validation"), (dict(epochs=2.0), TypeError, "epochs"),
])
def test_bad_training_settings(kwargs, err, match, rng):
    flow = minflow.RealNVP(2, 1, (4,), rng=rng)
    kwargs = {"rng": rng, **kwargs}
    with pytest.raises(err, match=match):
        minflow.fit(flow, rng.standard_normal((100, 2)), **kwargs)


def test_bad_training_data(rng):
    flow = minflow.RealNVP(2, 1, (4,), rng=rng)
    with pytest.raises(ValueError, match="data"):
        minflow.fit(flow, rng.standard_normal((100, 3)), rng=rng)
    with pytest.raises(ValueError, match="sampler output"):
        minflow.fit(flow, lambda n, r: np.full((n, 2), np.nan), rng=rng, epochs=1)


@pytest.mark.parametrize("validation, match", [(float("nan"), "validation"), (float("inf"), "validation"),
                                               (-0.5, "validation"), (0, "validation"), ("x", "validation")])
def test_bad_validation_with_a_sampler(validation, match, rng):
    flow = minflow.RealNVP(2, 1, (4,), rng=rng)
    with pytest.raises((ValueError, TypeError), match=match):
        minflow.fit(flow, lambda n, r: r.standard_normal((n, 2)), rng=rng, epochs=1, validation=validation)


def test_fit_needs_a_flow(rng):
    with pytest.raises(TypeError, match="flow"):
        minflow.fit("x", rng.standard_normal((100, 2)), rng=rng)


def test_a_blow_up_with_a_finite_loss_is_caught_and_the_best_parameters_kept(rng):
    """lr = 10: the bounded log-scale keeps the loss finite while the model is ruined."""
    data = rng.standard_normal((2048, 5)) @ rng.standard_normal((5, 5))
    flow = minflow.RealNVP(5, 4, (32, 32), rng=rng)
    initial = flow.log_prob(data).mean()
    with pytest.warns(RuntimeWarning, match="validation NLL"):
        hist = minflow.fit(flow, data, rng=rng, epochs=30, batch_size=64, lr=10.0, schedule="constant")
    assert hist.diverged and hist.stop_reason == "diverged" and len(hist.val_nll) < 30
    assert hist.best_val_nll <= hist.initial_val_nll
    assert -flow.log_prob(data).mean() <= -initial + 5.0    # never returns a model worse than the initial one


def test_the_initial_parameters_are_a_candidate(rng):
    """A model that only gets worse is returned untrained, and History says so (best_epoch -1)."""
    x = rng.standard_normal((512, 3))
    flow = minflow.RealNVP(3, 2, (8,), rng=rng)          # the identity: N(0, I), already the truth
    before = [a.copy() for a in tree_leaves(flow.params)]
    hist = minflow.fit(flow, x, rng=rng, epochs=3, batch_size=64, lr=0.5, schedule="constant", validation=x)
    if hist.best_epoch == -1:
        for a, b in zip(tree_leaves(flow.params), before):
            np.testing.assert_array_equal(a, b)
    assert hist.best_val_nll == min([hist.initial_val_nll, *hist.val_nll])
