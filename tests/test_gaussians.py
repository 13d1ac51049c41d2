"""Ground-truth Gaussians: scipy.stats.multivariate_normal is the reference."""
import json

import numpy as np
import pytest
from scipy import stats
from scipy.linalg import solve_triangular

from minflow.thesis.gaussians import (FAMILIES, OUTLIER_APPROACH, OUTLIER_MEAN_VARIANCE, OUTLIER_MEAN_Z, Gaussian,
                                      ThesisDistributions, affine_map, correlation_summary, eigen_spectrum, grid,
                                      haar_orthogonal, random_covariance)
from minflow.thesis.ood import tpr_bounds, true_negative_rate


@pytest.mark.parametrize("dim", [1, 3, 10, 50, 100])
def test_log_prob_and_entropy_match_scipy(dim, rng):
    mean = rng.standard_normal(dim)
    g = Gaussian(mean, random_covariance(dim, rng, condition_number=50.0))
    ref = stats.multivariate_normal(mean, g.cov)
    x = g.sample(200, rng) + rng.standard_normal((200, dim))  # also points away from the bulk
    np.testing.assert_allclose(g.log_prob(x), ref.logpdf(x).reshape(-1), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(g.entropy(), ref.entropy(), rtol=1e-10)


def test_random_covariance_spectrum_and_basis(rng):
    q = haar_orthogonal(30, rng)
    np.testing.assert_allclose(q.T @ q, np.eye(30), atol=1e-12)
    cov = random_covariance(30, rng, condition_number=200.0, mean_variance=2.0)
    lam = np.linalg.eigvalsh(cov)
    np.testing.assert_allclose(cov, cov.T, atol=0)
    np.testing.assert_allclose(lam.max() / lam.min(), 200.0, rtol=1e-8)
    np.testing.assert_allclose(np.trace(cov), 60.0, rtol=1e-10)
    np.testing.assert_allclose(np.sort(lam), eigen_spectrum(30, 200.0, 2.0), rtol=1e-8)


def test_correlations_are_strong():
    summary = correlation_summary(ThesisDistributions(20, seed=0).p.cov)
    assert summary["total_correlation"] > 3.0       # nats of shared information
    assert summary["max_abs_corr"] > 0.5
    assert correlation_summary(np.eye(4))["total_correlation"] == pytest.approx(0.0, abs=1e-12)


def test_sample_moments(rng):
    g = ThesisDistributions(5, seed=3).q_delta(0.5, 0.25)
    x = g.sample(40000, rng)
    sd = np.sqrt(np.diag(g.cov))
    assert np.all(np.abs(x.mean(0) - g.mean) < 5 * sd / np.sqrt(len(x)))
    np.testing.assert_allclose(np.cov(x.T), g.cov, atol=0.05 * np.max(np.abs(g.cov)))


def test_family_parameters_follow_the_equations():
    td = ThesisDistributions(6, seed=1)
    p, one = td.p, np.ones(6)
    q = td.q(0.5, 0.75)                                       # eq. 12
    np.testing.assert_allclose(q.mean, p.mean + 0.75 * one)
    np.testing.assert_allclose(q.cov, 0.25 * p.cov)
    qd = td.q_delta(0.5, 0.75)                                # eq. 21
    np.testing.assert_allclose(qd.mean, p.mean + 0.75 * one + td.beta * td.u)
    np.testing.assert_allclose(qd.cov, 0.25 * p.cov + td.alpha * np.eye(6))
    qo = td.q_out(1.25, 0.5)                                  # section 7
    np.testing.assert_allclose(qo.mean, td.p_out.mean + 0.5)
    np.testing.assert_allclose(qo.cov, 1.5625 * td.p_out.cov)
    assert np.all(np.abs(td.u) <= 1)
    assert not np.allclose(td.p_out.cov, p.cov)
    for name, maker in zip(FAMILIES, (td.q, td.q_delta, td.q_out)):
        np.testing.assert_array_equal(td.family(name, 0.75, 0.25).cov, maker(0.75, 0.25).cov)


def test_q_equals_affine_map_of_p_in_distribution():
    """eq. 13: q(s, t) is the law of g(x; s, t) = (x - mu_p) s + mu_p + t with x ~ p."""
    td = ThesisDistributions(8, seed=2)
    s, t, n = 0.75, 0.5, 20000
    direct = td.q(s, t).sample(n, np.random.default_rng(10))
    mapped = affine_map(td.p.sample(n, np.random.default_rng(11)), s, t, td.p.mean)
    sd = np.sqrt(np.diag(td.q(s, t).cov))
    assert np.all(np.abs(direct.mean(0) - mapped.mean(0)) < 5 * sd * np.sqrt(2.0 / n))
    np.testing.assert_allclose(np.cov(direct.T), np.cov(mapped.T), atol=0.05 * np.max(td.q(s, t).cov))
    proj = np.random.default_rng(12).standard_normal((8, 5))
    for k in range(5):
        assert stats.ks_2samp(direct @ proj[:, k], mapped @ proj[:, k]).pvalue > 1e-3
    # and a wrong map (t applied before scaling) is caught by the same test
    wrong = affine_map(td.p.sample(n, np.random.default_rng(13)), s, 0.0, td.p.mean) + s * t
    assert stats.ks_2samp(direct.sum(1), wrong.sum(1)).pvalue < 1e-6


def test_reproducible_from_seed_and_settings():
    a, b = ThesisDistributions(7, seed=5), ThesisDistributions(7, seed=5)
    np.testing.assert_array_equal(a.p.cov, b.p.cov)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.p_out.mean, b.p_out.mean)
    settings = json.loads(json.dumps(a.settings()))
    c = ThesisDistributions(**settings)
    np.testing.assert_array_equal(c.q_delta(1.25, 0.5).cov, a.q_delta(1.25, 0.5).cov)
    custom = ThesisDistributions(7, seed=5, outlier_mean_z=0.5, outlier_cov_mix=0.3, outlier_approach=-0.4,
                                 outlier_condition_number=20.0, outlier_mean_variance=2.0)
    rebuilt = ThesisDistributions(**json.loads(json.dumps(custom.settings())))
    assert rebuilt.settings() == custom.settings() and custom.settings()["outlier_approach"] == -0.4
    np.testing.assert_array_equal(rebuilt.q_out(0.5, 0.25).mean, custom.q_out(0.5, 0.25).mean)
    np.testing.assert_array_equal(rebuilt.q_out(0.5, 0.25).cov, custom.q_out(0.5, 0.25).cov)
    assert not np.allclose(ThesisDistributions(7, seed=6).p.cov, a.p.cov)


@pytest.mark.parametrize("dim, z, gamma", [(5, 1.4, 1.0), (30, -2.0, 0.25), (50, 3.0, 0.0)])
def test_outlier_mean_distance_and_covariance_mix(dim, z, gamma):
    """mu_q - mu_p has squared Mahalanobis length D + z sqrt(2D), i.e. log p(mu_q) =
    E_p[log p] - z sd_p[log p] with E_p[log p] = -H(p), sd_p[log p] = sqrt(D/2) (chi-square)."""
    td = ThesisDistributions(dim, seed=3, outlier_mean_z=z, outlier_cov_mix=gamma)
    p, q = td.p, td.p_out
    d = q.mean - p.mean
    np.testing.assert_allclose(d @ np.linalg.solve(p.cov, d), dim + z * np.sqrt(2 * dim), rtol=1e-9)
    np.testing.assert_allclose(p.log_prob(q.mean[None])[0], -p.entropy() - z * np.sqrt(dim / 2), rtol=1e-9)
    independent = ThesisDistributions(dim, seed=3, outlier_mean_z=z, outlier_cov_mix=1.0).p_out.cov
    np.testing.assert_allclose(q.cov, (1 - gamma) * p.cov + gamma * independent, rtol=1e-12, atol=1e-14)
    assert not np.allclose(independent, p.cov)


def test_outlier_knobs_reach_p_continuously():
    """z = -sqrt(D/2) and gamma = 0 give q_out(1, 0) = p; the direction does not depend on z."""
    dim = 8
    at_p = ThesisDistributions(dim, seed=2, outlier_mean_z=-np.sqrt(dim / 2), outlier_cov_mix=0.0)
    np.testing.assert_allclose(at_p.p_out.mean, at_p.p.mean, atol=1e-6)
    np.testing.assert_array_equal(at_p.p_out.cov, at_p.p.cov)
    near, far = (ThesisDistributions(dim, seed=2, outlier_mean_z=z).p_out for z in (0.0, 5.0))
    step_near, step_far = near.mean - at_p.p.mean, far.mean - at_p.p.mean
    np.testing.assert_allclose(step_near / np.linalg.norm(step_near), step_far / np.linalg.norm(step_far))


@pytest.mark.parametrize("dim, rho", [(2, 0.7), (20, 0.0), (50, 0.2), (50, -1.0), (30, 1.0)])
def test_outlier_mean_direction_against_the_shift(dim, rho):
    """rho = cos(L_p^-1 (mu_p - mu_q), w), w = L_p^-1 1 / c; mu_q + t 1 is at squared Mahalanobis distance
    r^2 - 2 rho r c t + c^2 t^2 from mu_p, and the direction orthogonal to w does not depend on rho."""
    td = ThesisDistributions(dim, seed=4, outlier_approach=rho)
    white = lambda v: solve_triangular(td.p.chol, v, lower=True)  # noqa: E731
    m, c = white(td.p_out.mean - td.p.mean), white(np.ones(dim))
    r, c_norm = np.sqrt(dim + OUTLIER_MEAN_Z * np.sqrt(2 * dim)), np.linalg.norm(c)
    np.testing.assert_allclose(np.linalg.norm(m), r, rtol=1e-10)
    np.testing.assert_allclose(-m @ c / (r * c_norm), rho, atol=1e-10)
    for t in (0.25, 0.75):
        d = td.q_out(1.0, t).mean - td.p.mean
        expected = r * r - 2 * rho * r * c_norm * t + c_norm ** 2 * t * t
        np.testing.assert_allclose(d @ np.linalg.solve(td.p.cov, d), expected, rtol=1e-8)
    if abs(rho) < 1:
        other = ThesisDistributions(dim, seed=4, outlier_approach=-0.5 * rho)
        perp = lambda v: v - (v @ c) * c / c_norm ** 2  # noqa: E731
        a, b = perp(m), perp(white(other.p_out.mean - other.p.mean))
        np.testing.assert_allclose(a / np.linalg.norm(a), b / np.linalg.norm(b), atol=1e-9)


def test_outlier_approach_in_one_dimension():
    for rho, sign in ((1.0, -1.0), (-0.3, 1.0)):
        td = ThesisDistributions(1, seed=0, outlier_approach=rho)
        assert np.sign(td.p_out.mean[0] - td.p.mean[0]) == sign      # towards +1 means away from p at rho < 0
    assert np.isfinite(ThesisDistributions(1, seed=0, outlier_approach=0.0).p_out.mean).all()


def test_default_outliers_are_separable_like_the_thesis():
    """Section 8.2.1: the true density flags q_out with TNR mean 0.98, min 0.96 (TPR 0.975, D = 50).
    The defaults (tools/calibrate_outliers.py) come close: mean 0.985-0.996, min 0.946-0.979 over seeds
    0-4, with the t = 0 and t = 0.25 rows non-trivial; Sigma_q = 0.03 I. A far z gives 1.0."""
    rng = np.random.default_rng(0)

    def grid_tnr(td, n=2000):
        bounds = tpr_bounds(td.p.log_prob(td.p.sample(20000, rng)), 0.975)
        return np.array([true_negative_rate(td.p.log_prob(td.q_out(s, t).sample(n, rng)), bounds)
                         for s, t in grid()])

    td = ThesisDistributions(50, seed=1)
    assert (td.outlier_mean_z, td.outlier_approach) == (OUTLIER_MEAN_Z, OUTLIER_APPROACH)
    np.testing.assert_allclose(td.p_out.cov, OUTLIER_MEAN_VARIANCE * np.eye(50), atol=1e-12)
    tnr = grid_tnr(td).reshape(6, 4)                                  # rows s, columns t
    assert 0.975 <= tnr.mean() <= 0.997 and 0.92 <= tnr.min() <= 0.99
    assert tnr[:, 1].min() < 0.995 and tnr[:, 2:].min() == 1.0        # t = 0.25 non-trivial, t >= 0.5 not
    assert grid_tnr(ThesisDistributions(50, seed=1, outlier_mean_z=10.0)).mean() == 1.0


def test_grid_defaults():
    lam = grid()
    assert len(lam) == 24 and lam[0] == (0.25, 0.0) and lam[-1] == (1.75, 0.75)


def test_bad_inputs(rng):
    with pytest.raises(ValueError, match="cov: not symmetric"):
        Gaussian(np.zeros(2), [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="cov: not positive definite"):
        Gaussian(np.zeros(2), [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="cov: expected shape"):
        Gaussian(np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="mean"):
        Gaussian([0.0, np.nan], np.eye(2))
    g = Gaussian(np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="x: expected 3 features"):
        g.log_prob(np.zeros((4, 2)))
    td = ThesisDistributions(3)
    for s in (0.0, -1.0):
        with pytest.raises(ValueError, match="s: expected a finite number > 0"):
            td.q(s, 0.0)
    with pytest.raises(ValueError, match="s:"):
        grid(S=(0.0, 1.0))
    with pytest.raises(ValueError, match="name: expected one of"):
        td.family("typo", 1.0, 0.0)
    with pytest.raises(ValueError, match="alpha"):
        ThesisDistributions(3, alpha=-0.1)
    with pytest.raises(ValueError, match="outlier_mean_z"):
        ThesisDistributions(8, outlier_mean_z=-2.5)     # below -sqrt(8 / 2) = -2
    with pytest.raises(ValueError, match="outlier_cov_mix"):
        ThesisDistributions(3, outlier_cov_mix=1.5)
    with pytest.raises(TypeError, match="outlier_mean_z"):
        ThesisDistributions(3, outlier_mean_z="far")
    for bad in (1.5, -1.01, np.nan, np.inf):
        with pytest.raises(ValueError, match=r"^outlier_approach: expected a finite number in \[-1, 1\]"):
            ThesisDistributions(3, outlier_approach=bad)
    for bad in ("0.2", None, True, 0.2j):
        with pytest.raises(TypeError, match="^outlier_approach: expected a real number"):
            ThesisDistributions(3, outlier_approach=bad)
    with pytest.raises(ValueError, match="dim"):
        ThesisDistributions(0)
    with pytest.raises(TypeError, match="rng"):
        g.sample(3, rng=0)
