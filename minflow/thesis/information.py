"""Information theory for the thesis's experiments, analytic (Gaussians) and estimated (samples).

Analytic, for q = N(mu_q, Sigma_q) and p = N(mu_p, Sigma_p) in D dimensions (sections 2.2, 3.2):

    H(q)        = 1/2 log det(2 pi e Sigma_q)
    KL(q || p)  = 1/2 [log |Sigma_p|/|Sigma_q| - D + (mu_q - mu_p)^T Sigma_p^{-1} (mu_q - mu_p)
                       + tr(Sigma_p^{-1} Sigma_q)]                                  (Proposition 1)
    H(q, p)     = H(q) + KL(q || p)                                                 (eq. 10)

all through Cholesky factors (no explicit inverse): with Sigma_p = L L^T,
tr(Sigma_p^{-1} Sigma_q) = ||L^{-1} L_q||_F^2 and the Mahalanobis term is ||L^{-1}(mu_q - mu_p)||^2.

Estimated over a test set x_1..x_N ~ q (eq. 14, section 3.2.2, 5.2.1), each with a standard error:

    H*(q, m)        = -(1/N) sum_i log m(x_i)               stderr = sd(log m) / sqrt(N)
    D*(q || m)      = H*(q, m) - H(q)
    Delta_HC        = |H*(q, p) - H*(q, p_theta)|            paired: sd(log p - log p_theta) / sqrt(N)
"""
from collections import namedtuple

import numpy as np
from scipy.linalg import solve_triangular

from ..prior import LOG_2PI
from ..replaceable import replaceable
from ..validation import check_dtype, check_int, check_memory, check_rng
from .checks import real_array, real_number
from .gaussians import Gaussian, check_covariance

Estimate = namedtuple("Estimate", "value stderr")
Estimate.__doc__ = "A sample estimate and its standard error (both in nats)."


def gaussian_entropy(cov):
    """H = 1/2 log det(2 pi e Sigma) in nats. cov: (D, D) array or a Gaussian."""
    if isinstance(cov, Gaussian):
        return cov.entropy()
    cov, chol = check_covariance(cov, "cov")
    # BEGIN EXERCISE gaussian_entropy: thesis eq. 8 (section 2.2) for N(mu, Sigma); chol is the Cholesky factor
    return 0.5 * len(cov) * (1.0 + LOG_2PI) + float(np.sum(np.log(np.diag(chol))))
    # END EXERCISE


def _check_pair(q, p):
    for name, g in (("q", q), ("p", p)):
        if not isinstance(g, Gaussian):
            raise TypeError(f"{name}: expected a minflow.thesis.gaussians.Gaussian, got {type(g).__name__}")
    if q.dim != p.dim:
        raise ValueError(f"q, p: dimensions differ (q.dim = {q.dim}, p.dim = {p.dim})")
    with np.errstate(over="ignore", invalid="ignore"):
        gap = q.mean - p.mean
        far = not np.isfinite(float(gap @ gap))
    if far:
        raise ValueError(f"q, p: the means are {np.max(np.abs(gap)):.3g} apart in a coordinate; their squared "
                         "distance overflows float64 (KL and cross-entropy would be inf)")


@replaceable  # the grader may check cross_entropy_gaussian with a stand-in for it (replaceable.py)
def kl_gaussian(q, p):
    """KL(q || p) between Gaussians in nats (Proposition 1), via Cholesky factors."""
    _check_pair(q, p)
    # BEGIN EXERCISE kl_gaussian: Proposition 1 (section 3.2.2); use q.mean, q.cov, q.chol, q.log_det_cov(), q.dim
    a = solve_triangular(p.chol, q.chol, lower=True)          # L_p^{-1} L_q
    m = solve_triangular(p.chol, q.mean - p.mean, lower=True)  # L_p^{-1} (mu_q - mu_p)
    kl = 0.5 * (p.log_det_cov() - q.log_det_cov() - q.dim + float(m @ m) + float(np.sum(a * a)))
    return max(kl, 0.0)  # rounding can leave -1e-15 for q == p
    # END EXERCISE


def cross_entropy_gaussian(q, p):
    """H(q, p) = -E_q[log p] = H(q) + KL(q || p) (eq. 10), in nats."""
    _check_pair(q, p)
    # BEGIN EXERCISE cross_entropy_gaussian: thesis eq. 10 (section 2.2.2), from an entropy and kl_gaussian
    return q.entropy() + kl_gaussian(q, p)
    # END EXERCISE


def _check_log_probs(values, name):
    arr = real_array(values, name)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of shape (N,), got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"{name}: need at least 2 values for a standard error, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains {int(np.sum(~np.isfinite(arr)))} NaN or infinite value(s)")
    return arr


def _mean_and_stderr(arr, name):
    """Estimate(mean, sd / sqrt(N)); values so large that these overflow are a ValueError naming ``name``."""
    with np.errstate(over="ignore", invalid="ignore"):
        est = Estimate(float(np.mean(arr)), float(np.std(arr, ddof=1) / np.sqrt(arr.size)))
    return _finite_estimate(est, name, np.max(np.abs(arr)))


def _finite_estimate(est, name, biggest):
    if not (np.isfinite(est.value) and np.isfinite(est.stderr)):
        raise ValueError(f"{name}: values up to {biggest:.3g} in size overflow float64 in the estimate")
    return est


def cross_entropy_estimate(log_probs):
    """H*(q, m) = -(1/N) sum_i log m(x_i), x_i ~ q (eq. 14): log_probs (N,) -> Estimate."""
    est = _mean_and_stderr(_check_log_probs(log_probs, "log_probs"), "log_probs")
    return Estimate(-est.value, est.stderr)


def kl_estimate(log_probs_model, entropy_q):
    """D*(q || m) = H*(q, m) - H(q) (section 3.2.2, corrected: a mean): -> Estimate.

    The analytic entropy H(q) adds no sampling error, so the stderr is that of H*.
    """
    arr = _check_log_probs(log_probs_model, "log_probs_model")
    h = _mean_and_stderr(-arr, "log_probs_model")
    entropy_q = real_number(entropy_q, "entropy_q")
    return _finite_estimate(Estimate(h.value - entropy_q, h.stderr), "log_probs_model, entropy_q",
                            max(np.max(np.abs(arr)), abs(entropy_q)))


def gap_estimate(log_p, log_p_theta):
    """Delta_HC = |H*(q, p) - H*(q, p_theta)| (section 5.2.1) on the same test points.

    The two scores are paired, so the stderr is that of the per-point difference, much smaller
    than combining the two standard errors. log_p, log_p_theta: (N,) -> Estimate.
    """
    a = _check_log_probs(log_p, "log_p")
    b = _check_log_probs(log_p_theta, "log_p_theta")
    if a.shape != b.shape:
        raise ValueError(f"log_p, log_p_theta: shapes differ ({a.shape} vs {b.shape})")
    with np.errstate(over="ignore", invalid="ignore"):
        est = _mean_and_stderr(b - a, "log_p, log_p_theta")
    return Estimate(abs(est.value), est.stderr)


def _as_scorer(name, scorer):
    if hasattr(scorer, "log_prob") and callable(scorer.log_prob):
        return scorer.log_prob
    if not callable(scorer):
        raise TypeError(f"scorers[{name!r}]: expected a callable x -> (N,) or an object with .log_prob")
    return scorer


def evaluate_log_probs(dist, n, rng, scorers, chunk_size=65536, dtype=np.float64):
    """Draw n points from ``dist`` and score them, chunk by chunk: -> dict name -> (n,) float64.

    dist: anything with .sample(n, rng) (a Gaussian, a flow); scorers: dict name -> callable
    x: (M, D) -> (M,) or an object with .log_prob (a Gaussian, a flow). Points exist only one
    chunk at a time (memory ~ chunk_size * D), and rows are drawn in order from ``rng``, so the
    numbers equal those of one pass ``x = dist.sample(n, rng)``. ``dtype`` is the dtype of the
    points handed to the scorers (float32 halves the memory of flow evaluation).
    """
    n = check_int(n, "n", minimum=1)
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    rng, dtype = check_rng(rng), check_dtype(dtype)
    if not callable(getattr(dist, "sample", None)):
        raise TypeError(f"dist: expected a distribution with .sample(n, rng), got {type(dist).__name__}")
    if not isinstance(scorers, dict) or not scorers:
        raise ValueError("scorers: expected a non-empty dict name -> scorer")
    fns = {name: _as_scorer(name, fn) for name, fn in scorers.items()}
    check_memory(8 * n * len(fns), "n", f"{n:,} points x {len(fns)} scorer(s)")
    out = {name: np.empty(n, dtype=np.float64) for name in fns}
    for start in range(0, n, chunk_size):
        m = min(chunk_size, n - start)
        x = np.asarray(dist.sample(m, rng)).astype(dtype, copy=False)
        for name, fn in fns.items():
            values = real_array(fn(x), f"scorers[{name!r}]").reshape(-1)
            if values.shape != (m,):
                raise ValueError(f"scorers[{name!r}]: returned shape {values.shape}, expected ({m},)")
            if np.isnan(values).any():
                raise ValueError(f"scorers[{name!r}]: returned NaN for {int(np.isnan(values).sum())} of {m} points "
                                 f"(rows {start}..{start + m - 1}); a log-density is a number or -inf")
            out[name][start:start + m] = values
    return out


def information_table(q, p, model_log_prob, n, rng, chunk_size=65536, dtype=np.float64):
    """Every quantity of sections 3.2.1-3.2.2 and 5.2.1 for one test distribution q.

    q, p: Gaussians; model_log_prob: callable x -> (N,) or an object with .log_prob (a flow).
    Returns a dict of floats and Estimates: H(q), H(q,p), KL(q||p) (analytic);
    H*(q,p), H*(q,p_theta), D*(q||p), D*(q||p_theta), Delta_HC (estimates) and the raw scores.
    """
    lp = evaluate_log_probs(q, n, rng, {"log_p": p, "log_p_theta": model_log_prob}, chunk_size, dtype)
    h_q = q.entropy()
    return {"H(q)": h_q, "H(q,p)": cross_entropy_gaussian(q, p), "KL(q||p)": kl_gaussian(q, p),
            "H*(q,p)": cross_entropy_estimate(lp["log_p"]),
            "H*(q,p_theta)": cross_entropy_estimate(lp["log_p_theta"]),
            "D*(q||p)": kl_estimate(lp["log_p"], h_q), "D*(q||p_theta)": kl_estimate(lp["log_p_theta"], h_q),
            "Delta_HC": gap_estimate(lp["log_p"], lp["log_p_theta"]), "scores": lp}
