"""Analytic and estimated information quantities; KDE and panel helpers."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from minflow.thesis.gaussians import FAMILIES, Gaussian, ThesisDistributions, grid, random_covariance  # noqa: E402
from minflow.thesis.information import (Estimate, cross_entropy_estimate, cross_entropy_gaussian,  # noqa: E402
                                        evaluate_log_probs, gap_estimate, gaussian_entropy, information_table,
                                        kl_estimate, kl_gaussian)
from minflow.thesis.plotting import kde, panel_series, plot_kde_panel  # noqa: E402


def random_gaussian(dim, rng, kappa=30.0):
    return Gaussian(rng.standard_normal(dim), random_covariance(dim, rng, condition_number=kappa))


def naive_kl(q, p):
    """Proposition 1 written literally (explicit inverse): an independent reference."""
    inv = np.linalg.inv(p.cov)
    d = q.mean - p.mean
    return 0.5 * (np.linalg.slogdet(p.cov)[1] - np.linalg.slogdet(q.cov)[1] - q.dim
                  + d @ inv @ d + np.trace(inv @ q.cov))


@pytest.mark.parametrize("dim", [1, 2, 10, 50, 100])
def test_entropy_and_kl_against_references(dim, rng):
    q, p = random_gaussian(dim, rng), random_gaussian(dim, rng)
    assert gaussian_entropy(q.cov) == pytest.approx(stats.multivariate_normal(q.mean, q.cov).entropy(), rel=1e-10)
    assert gaussian_entropy(q) == pytest.approx(q.entropy(), rel=1e-12)
    assert kl_gaussian(q, p) == pytest.approx(naive_kl(q, p), rel=1e-8)
    assert cross_entropy_gaussian(q, p) == pytest.approx(q.entropy() + kl_gaussian(q, p), rel=1e-12)
    assert kl_gaussian(q, q) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("dim", [3, 20, 100])
def test_kl_against_monte_carlo_with_scipy_logpdf(dim, rng):
    q = random_gaussian(dim, rng, kappa=5.0)
    p = Gaussian(q.mean + 0.3 * rng.standard_normal(dim), random_covariance(dim, rng, condition_number=5.0))
    x = q.sample(20000, rng)
    diff = stats.multivariate_normal(q.mean, q.cov).logpdf(x) - stats.multivariate_normal(p.mean, p.cov).logpdf(x)
    assert abs(diff.mean() - kl_gaussian(q, p)) < 4 * diff.std() / np.sqrt(len(x))


@pytest.mark.parametrize("dim", [4, 20])
def test_cross_entropy_estimate_matches_analytic_over_the_grid(dim):
    """Thesis C2: H*(q, p) within 4 standard errors of H(q, p), and D*(q||p) of KL(q||p)."""
    td, rng = ThesisDistributions(dim, seed=dim), np.random.default_rng(dim)
    for family in FAMILIES:
        for s, t in grid():
            q = td.family(family, s, t)
            log_p = td.p.log_prob(q.sample(2000, rng))
            h = cross_entropy_estimate(log_p)
            assert abs(h.value - cross_entropy_gaussian(q, td.p)) < 4 * h.stderr, (family, s, t)
            d = kl_estimate(log_p, q.entropy())
            assert abs(d.value - kl_gaussian(q, td.p)) < 4 * d.stderr, (family, s, t)


def test_stderr_matches_analytic_spread(rng):
    """Var(-log p(X)), X ~ q, is 1/2 tr((L_q^T P L_q)^2) + m^T P Sigma_q P m with P = Sigma_p^{-1}."""
    td = ThesisDistributions(10, seed=4)
    q, p = td.q(1.25, 0.5), td.p
    prec = np.linalg.inv(p.cov)
    a, m = q.chol.T @ prec @ q.chol, q.mean - p.mean
    sd = np.sqrt(0.5 * np.trace(a @ a) + m @ prec @ q.cov @ prec @ m)
    est = cross_entropy_estimate(p.log_prob(q.sample(40000, rng)))
    assert est.stderr * np.sqrt(40000) == pytest.approx(sd, rel=0.05)


def test_gap_estimate_is_paired():
    rng = np.random.default_rng(0)
    log_p = rng.normal(-10, 3, size=1000)
    gap = gap_estimate(log_p, log_p + 0.7)
    assert isinstance(gap, Estimate)
    assert gap.value == pytest.approx(0.7) and gap.stderr == pytest.approx(0.0, abs=1e-12)
    assert gap_estimate(log_p, log_p - 0.7).value == pytest.approx(0.7)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunked_evaluation_equals_one_pass(dtype):
    td = ThesisDistributions(5, seed=0)
    q = td.q(0.75, 0.25)
    scorers = {"log_p": td.p, "log_q": q.log_prob}
    one = evaluate_log_probs(q, 5000, np.random.default_rng(7), scorers, chunk_size=5000, dtype=dtype)
    chunked = evaluate_log_probs(q, 5000, np.random.default_rng(7), scorers, chunk_size=777, dtype=dtype)
    x = q.sample(5000, np.random.default_rng(7)).astype(dtype)
    for name in scorers:
        np.testing.assert_allclose(chunked[name], one[name], rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(one["log_p"], td.p.log_prob(x), rtol=1e-12, atol=1e-10)


def test_information_table_with_a_perfect_model():
    td = ThesisDistributions(6, seed=0)
    q = td.q(0.75, 0.25)
    table = information_table(q, td.p, td.p, 3000, np.random.default_rng(0), chunk_size=1000)
    assert table["Delta_HC"].value == pytest.approx(0.0, abs=1e-12)
    assert table["H*(q,p)"] == table["H*(q,p_theta)"]
    assert abs(table["H*(q,p)"].value - table["H(q,p)"]) < 4 * table["H*(q,p)"].stderr
    assert table["KL(q||p)"] == pytest.approx(table["H(q,p)"] - table["H(q)"])


def test_bad_inputs(rng):
    q, p = random_gaussian(3, rng), random_gaussian(4, rng)
    with pytest.raises(ValueError, match="q, p: dimensions differ"):
        kl_gaussian(q, p)
    with pytest.raises(TypeError, match="p: expected"):
        kl_gaussian(q, np.eye(3))
    with pytest.raises(ValueError, match="cov: not positive definite"):
        gaussian_entropy(-np.eye(2))
    with pytest.raises(ValueError, match="log_probs: need at least 2"):
        cross_entropy_estimate([])
    with pytest.raises(ValueError, match="log_probs: contains 1 NaN"):
        cross_entropy_estimate([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="log_p, log_p_theta: shapes differ"):
        gap_estimate(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="scorers"):
        evaluate_log_probs(q, 10, rng, {})
    with pytest.raises(ValueError, match=r"scorers\['bad'\]: returned shape"):
        evaluate_log_probs(q, 10, rng, {"bad": lambda x: x})
    with pytest.raises(ValueError, match="n:"):
        evaluate_log_probs(q, 0, rng, {"p": q})


def test_kde_matches_scipy_and_integrates_to_one():
    rng = np.random.default_rng(0)
    values = rng.standard_normal(3000)
    grid_, density = kde(values)
    np.testing.assert_allclose(density, stats.gaussian_kde(values)(grid_), rtol=1e-12)
    assert np.trapezoid(density, grid_) == pytest.approx(1.0, abs=0.01)
    assert np.max(np.abs(density - stats.norm.pdf(grid_))) < 0.05
    big = rng.standard_normal(50000)
    g1, d1 = kde(big, max_points=2000)
    assert np.array_equal(d1, kde(big, max_points=2000)[1])       # no hidden randomness
    assert np.max(np.abs(d1 - stats.norm.pdf(g1))) < 0.05
    with pytest.raises(ValueError, match="values: all values are equal"):
        kde(np.ones(10))


def test_plot_kde_panel_draws_labelled_curves():
    rng = np.random.default_rng(0)
    series = panel_series(rng.normal(-5, 1, 500), rng.normal(-4, 1, 500), rng.normal(-3, 1, 500),
                          rng.normal(-3, 1, 500))
    fig, ax = plt.subplots()
    plot_kde_panel(ax, series, title="D=20, s=0.75, t=0.25")
    assert len(ax.lines) == 4 and ax.get_legend() is not None
    assert "nats" in ax.get_xlabel() and ax.get_title() == "D=20, s=0.75, t=0.25"
    styles = {line.get_label(): line.get_linestyle() for line in ax.lines}
    assert styles["log p_theta(x), Q(q)"] == "-" and styles["log p(x), Q(q)"] == "--"
    plt.close(fig)
    with pytest.raises(ValueError, match="series"):
        plot_kde_panel(None, {})
