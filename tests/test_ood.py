"""OOD detection: bounds, rates, AUROC, latent scores and the typicality test."""
import numpy as np
import pytest
from conftest import randomize
from scipy import stats

import minflow
from minflow.thesis.gaussians import Gaussian, ThesisDistributions
from minflow.thesis.ood import (TypicalityTest, auroc, chi2_tail, fpr_at_tpr, is_outlier, latent_log_prob,
                                latent_norm_sq, log_det_score, tpr_bounds, true_negative_rate, true_positive_rate)


def test_bounds_give_the_target_tpr_on_fresh_data():
    td = ThesisDistributions(10, seed=0)
    rng = np.random.default_rng(0)
    n_fit, n_test, tpr = 20000, 50000, 0.975
    bounds = tpr_bounds(td.p.log_prob(td.p.sample(n_fit, rng)), tpr)
    fresh = td.p.log_prob(td.p.sample(n_test, rng))
    tol = 4 * np.sqrt(tpr * (1 - tpr) * (1 / n_fit + 1 / n_test))
    assert abs(true_positive_rate(fresh, bounds) - tpr) < tol
    # equal tails: 1.25% below L and 1.25% above U
    assert abs(np.mean(fresh < bounds[0]) - 0.0125) < tol
    assert abs(np.mean(fresh > bounds[1]) - 0.0125) < tol


def test_tail_split_is_configurable():
    x = np.random.default_rng(1).standard_normal(100000)
    low, high = tpr_bounds(x, 0.9, lower_fraction=1.0)
    assert high == np.inf and low == pytest.approx(stats.norm.ppf(0.1), abs=0.02)
    low, high = tpr_bounds(x, 0.9, lower_fraction=0.0)
    assert low == -np.inf and high == pytest.approx(stats.norm.ppf(0.9), abs=0.02)
    low, high = tpr_bounds(x, 0.9, lower_fraction=0.25)
    assert np.mean(x < low) == pytest.approx(0.025, abs=1e-3)
    assert np.mean(x > high) == pytest.approx(0.075, abs=1e-3)


def test_far_gaussian_is_always_flagged_and_decision_follows_the_bounds():
    p = Gaussian(np.zeros(5), np.eye(5))
    far = Gaussian(np.full(5, 10.0), np.eye(5))
    rng = np.random.default_rng(2)
    bounds = tpr_bounds(p.log_prob(p.sample(5000, rng)))
    assert true_negative_rate(p.log_prob(far.sample(5000, rng)), bounds) == 1.0
    np.testing.assert_array_equal(is_outlier([-1.0, 0.0, 0.5, 1.0, 2.0], (0.0, 1.0)),
                                  [True, False, False, False, True])


def test_auroc_identical_and_separated():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(4000), rng.standard_normal(4000)
    assert auroc(a, b) == pytest.approx(0.5, abs=4 * np.sqrt(1 / 12 * 2 / 4000))
    assert auroc(a + 100, b) == 1.0
    assert auroc(a, b + 100) == 0.0
    assert auroc(a, a) == 0.5


def test_auroc_equals_brute_force_pairwise_count_with_ties():
    rng = np.random.default_rng(4)
    for _ in range(5):
        a, b = rng.integers(0, 5, size=17), rng.integers(0, 5, size=11)
        pairs = (a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])
        assert auroc(a, b) == pytest.approx(pairs.mean(), abs=1e-12)
        mwu = stats.mannwhitneyu(a, b).statistic / (a.size * b.size)
        assert auroc(a, b) == pytest.approx(mwu, abs=1e-12)


def test_fpr_at_95_tpr_for_two_normals():
    rng = np.random.default_rng(5)
    inside, outside = rng.standard_normal(200000), rng.normal(-2.0, 1.0, 200000)
    expected = stats.norm.sf(stats.norm.ppf(0.05) + 2.0)   # P[N(-2,1) >= z_0.05]
    assert fpr_at_tpr(inside, outside, 0.95) == pytest.approx(expected, abs=0.01)
    assert fpr_at_tpr(inside, inside + 100, 0.95) == 1.0   # a one-sided bound cannot see high scores
    assert fpr_at_tpr(inside, inside + 100, 0.95, lower_fraction=0.5) == 0.0


@pytest.fixture
def flow(rng):
    f = minflow.RealNVP(dim=4, n_layers=3, hidden=(8,), rng=rng)
    f.params = randomize(f.params, rng, scale=0.3)
    return f


def test_latent_scores_decompose_log_prob(flow, rng):
    x = rng.standard_normal((50, 4))
    np.testing.assert_allclose(latent_log_prob(flow, x) + log_det_score(flow, x), flow.log_prob(x), rtol=1e-10)
    np.testing.assert_allclose(latent_log_prob(flow, x),
                               -0.5 * latent_norm_sq(flow, x) - 2 * np.log(2 * np.pi), rtol=1e-10)


def test_chi2_tail_is_uniform_under_the_prior(flow):
    z = np.random.default_rng(6).standard_normal((5000, 4))
    x, _ = flow.inverse(z)
    r = latent_norm_sq(flow, x)
    np.testing.assert_allclose(r, np.sum(z * z, axis=1), rtol=1e-8)
    for side in ("two-sided", "upper", "lower"):
        assert stats.kstest(chi2_tail(r, 4, side), "uniform").pvalue > 1e-3
    assert chi2_tail([1e4], 4)[0] < 1e-10 and chi2_tail([1e-8], 4)[0] < 1e-10


def test_typicality_test_flags_too_likely_batches():
    """Points from q(0.25, 0) have HIGHER log p than typical points of p, yet are atypical."""
    td, rng = ThesisDistributions(20, seed=0), np.random.default_rng(7)
    test = TypicalityTest(batch_size=20, tpr=0.99).fit(td.p.log_prob(td.p.sample(20000, rng)), rng,
                                                       td.p.log_prob(td.p.sample(5000, rng)))
    inside = test.is_outlier(td.p.log_prob(td.p.sample(20000, rng)))
    assert inside.shape == (1000,) and abs(inside.mean() - 0.01) < 0.015
    lp_small = td.p.log_prob(td.q(0.25, 0.0).sample(20000, rng))
    assert test.is_outlier(lp_small).mean() == 1.0
    bounds = tpr_bounds(td.p.log_prob(td.p.sample(20000, rng)), 0.99, lower_fraction=1.0)
    assert true_negative_rate(lp_small, bounds) == 0.0  # a one-sided likelihood threshold misses them
    assert test.score(lp_small).shape == (1000,)


def test_bad_inputs(flow):
    for tpr in (0.0, 1.0, 1.5, -0.2):
        with pytest.raises(ValueError, match="tpr: expected a rate"):
            tpr_bounds([1.0, 2.0, 3.0], tpr)
    with pytest.raises(ValueError, match="scores_in: empty"):
        tpr_bounds([], 0.9)
    with pytest.raises(ValueError, match="scores_out: empty"):
        auroc([1.0], [])
    with pytest.raises(ValueError, match="scores_in: contains 1 NaN"):
        auroc([1.0, np.nan], [1.0])
    with pytest.raises(ValueError, match="lower_fraction"):
        tpr_bounds([1.0, 2.0], 0.9, lower_fraction=1.5)
    with pytest.raises(ValueError, match="bounds: expected L <= U"):
        is_outlier([1.0], (2.0, 1.0))
    with pytest.raises(ValueError, match="side"):
        chi2_tail([1.0], 3, side="both")
    with pytest.raises(ValueError, match="x: expected 4 features"):
        latent_log_prob(flow, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="call fit"):
        TypicalityTest(5).statistic(np.zeros(10))
    with pytest.raises(ValueError, match="tpr"):
        TypicalityTest(5, tpr=1.0)
