"""Out-of-distribution detection with likelihood bounds and other scores (sections 3.2.4, 8.1).

Score convention: a HIGHER score means MORE in-distribution (log p_theta(x), log p(x), a latent
log-density, a typicality p-value). The thesis's detector (section 8.1) keeps bounds L < U fitted
on in-distribution scores so that TPR = P[L <= score <= U] = 0.975 and flags

    D_out(x) = 1  if score(x) < L or score(x) > U.

Beyond log p_theta (the thesis's only score) this module offers, for a flow f with prior N(0, I):
the latent log-density log p_Z(f(x)), the squared latent norm ||f(x)||^2 against its chi-square(D)
law, the log-det term log|det J_f(x)| alone, and the batch typicality test of Nalisnick et al.
(2019, "Detecting out-of-distribution inputs to deep generative models using typicality").
"""
import numbers

import numpy as np
from scipy.stats import chi2, rankdata

from ..prior import standard_normal_log_prob
from ..validation import check_int, check_rng
from .checks import real_array, real_number

BOOTSTRAP_BLOCK = 1 << 20  # TypicalityTest.fit draws at most this many indices at once (8 MiB)


def _check_scores(scores, name):
    arr = real_array(scores, name)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of scores (N,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: empty score array; need at least one score")
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name}: contains {int(np.sum(np.isnan(arr)))} NaN value(s)")
    return arr


def _check_rate(value, name):
    """A rate strictly between 0 and 1, as float."""
    value = real_number(value, name)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name}: expected a rate strictly between 0 and 1, got {value}")
    return value


def tpr_bounds(scores_in, tpr=0.975, lower_fraction=0.5):
    """Bounds (L, U) with a fraction ``tpr`` of ``scores_in`` inside [L, U] (section 8.1).

    The rejected mass 1 - tpr is split: ``lower_fraction`` of it below L, the rest above U.
    0.5 = equal tails (the thesis); 1.0 = one-sided (U = +inf); 0.0 = only an upper bound (L = -inf).
    scores_in: (N,) -> (L, U) floats, empirical quantiles.
    """
    scores_in = _check_scores(scores_in, "scores_in")
    if not np.all(np.isfinite(scores_in)):
        raise ValueError("scores_in: contains infinite value(s); bounds need finite scores")
    if np.max(np.abs(scores_in)) > np.finfo(np.float64).max / 2:  # quantiles interpolate b - a
        raise ValueError(f"scores_in: values up to {np.max(np.abs(scores_in)):.3g} overflow float64 in the quantiles")
    tpr = _check_rate(tpr, "tpr")
    lower_fraction = real_number(lower_fraction, "lower_fraction", 0.0, 1.0)
    # BEGIN EXERCISE tpr_bounds: section 8.1 (and 3.2.4): empirical quantiles (np.quantile) of scores_in
    reject = 1.0 - tpr
    low = np.quantile(scores_in, reject * lower_fraction) if lower_fraction > 0 else -np.inf
    high = np.quantile(scores_in, 1.0 - reject * (1.0 - lower_fraction)) if lower_fraction < 1 else np.inf
    return float(low), float(high)
    # END EXERCISE


def _check_bounds(bounds):
    """(L, U) as floats with L <= U; -inf and +inf are allowed (one-sided bounds)."""
    try:
        low, high = bounds
    except (TypeError, ValueError):
        raise ValueError(f"bounds: expected a pair (L, U) of numbers, got {bounds!r:.60}") from None
    for b in (low, high):
        if isinstance(b, (bool, np.bool_)) or not isinstance(b, numbers.Real):
            raise TypeError(f"bounds: expected a pair (L, U) of real numbers, got {type(b).__name__} {b!r:.40}")
    low, high = float(low), float(high)
    if np.isnan(low) or np.isnan(high) or low > high:
        raise ValueError(f"bounds: expected L <= U, got ({low}, {high})")
    return low, high


def is_outlier(scores, bounds):
    """D_out(x) = score < L or score > U (section 8.1): scores (N,) -> bool (N,)."""
    low, high = _check_bounds(bounds)
    scores = _check_scores(scores, "scores")
    # BEGIN EXERCISE true_negative_rate: the detector D_out of section 8.1, a bool per score
    return (scores < low) | (scores > high)
    # END EXERCISE


def true_positive_rate(scores_in, bounds):
    """Fraction of in-distribution scores kept inside [L, U]."""
    return float(np.mean(~is_outlier(_check_scores(scores_in, "scores_in"), bounds)))


def true_negative_rate(scores_out, bounds):
    """Fraction of out-of-distribution scores flagged (outside [L, U])."""
    # BEGIN EXERCISE true_negative_rate: TNR of section 8.1, the fraction of outlier scores that is_outlier flags
    return float(np.mean(is_outlier(_check_scores(scores_out, "scores_out"), bounds)))
    # END EXERCISE


def auroc(scores_in, scores_out):
    """Area under the ROC curve = P[score_in > score_out] + 1/2 P[score_in = score_out].

    Mann-Whitney U from average ranks, exact with ties: (n_in,), (n_out,) -> float.
    1.0: every in-distribution score above every outlier score; 0.5: indistinguishable;
    0.0: outliers score higher (a one-sided score cannot see outliers of too high density).
    """
    a = _check_scores(scores_in, "scores_in")
    b = _check_scores(scores_out, "scores_out")
    # BEGIN EXERCISE auroc: Mann-Whitney U from average ranks (scipy.stats.rankdata); a tie counts 1/2
    ranks = rankdata(np.concatenate([a, b]))
    u = np.sum(ranks[:a.size]) - a.size * (a.size + 1) / 2.0
    return float(u / (a.size * b.size))
    # END EXERCISE


def auroc_sorted(sorted_in, scores_out):
    """``auroc(scores_in, scores_out)`` from the in-distribution scores already sorted ascending.

    AUROC = (1 / (n_in n_out)) sum_j [#{i: a_i > b_j} + 1/2 #{i: a_i = b_j}], each count found by
    binary search in the sorted a: #{a > b} = n_in - right(b), #{a = b} = right(b) - left(b).
    Exact with ties, integer counts; O(n_out log n_in) after one sort of b (searchsorted is fast
    on sorted queries). For many test sets against one Q(p): sort it once, not once per set.
    sorted_in: (n_in,) ascending; scores_out: (n_out,) -> float.
    """
    a = _check_scores(sorted_in, "sorted_in")
    b = np.sort(_check_scores(scores_out, "scores_out"))
    if np.any(a[1:] < a[:-1]):
        raise ValueError("sorted_in: not sorted ascending; pass np.sort(scores_in)")
    left, right = np.searchsorted(a, b, side="left"), np.searchsorted(a, b, side="right")
    above = b.size * a.size - int(np.sum(right, dtype=np.int64))       # sum_j #{a > b_j}
    ties = int(np.sum(right - left, dtype=np.int64))                   # sum_j #{a = b_j}
    return float((above + 0.5 * ties) / (a.size * b.size))


def fpr_at_tpr(scores_in, scores_out, tpr=0.95, lower_fraction=1.0):
    """FPR among outliers when bounds keep ``tpr`` of the in-distribution scores.

    lower_fraction = 1.0 (default): the usual one-sided threshold (low score = outlier);
    0.5 gives the thesis's two-sided bounds. FPR = 1 - TNR.
    """
    bounds = tpr_bounds(scores_in, tpr, lower_fraction)
    return 1.0 - true_negative_rate(scores_out, bounds)


# --- scores from a flow beyond log p_theta ------------------------------------------------------
def _check_flow(flow):
    if not callable(getattr(flow, "forward", None)):
        raise TypeError(f"flow: expected a minflow Flow (with .forward), got {type(flow).__name__}")
    return flow


def latent_log_prob(flow, x):
    """The latent log-density log p_Z(f(x)) = -1/2 ||f(x)||^2 - D/2 log 2 pi, in nats.

    The first term of log p_theta(x) = log p_Z(f(x)) + log|det J_f(x)| (thesis eq. 2, section 2.1),
    p_Z = N(0, I_D) (section 2.1.3), without the log-det. flow: a Flow with f = flow.forward;
    x: (N, D) -> (N,) float64.
    """
    z, _ = _check_flow(flow).forward(x)
    return np.asarray(standard_normal_log_prob(z), dtype=np.float64)


def latent_norm_sq(flow, x):
    """The squared latent norm ||f(x)||^2 = sum_d f_d(x)^2, f = flow.forward (eq. 2, section 2.1).

    x: (N, D) -> (N,) float64. Under the model (x ~ p_theta, so f(x) ~ N(0, I_D), section 2.1.3)
    it is chi-square(D) distributed (``chi2_tail`` turns it into a score), and
    latent_log_prob = -1/2 latent_norm_sq - D/2 log 2 pi.
    """
    z, _ = _check_flow(flow).forward(x)
    return np.asarray(np.sum(z * z, axis=1), dtype=np.float64)


def chi2_tail(norm_sq, dim, side="two-sided"):
    """Tail probability of ||z||^2 under chi-square(dim): (N,) -> (N,) in [0, 1], higher = typical.

    side: "two-sided" (2 min(cdf, sf): flags both too small and too large norms),
    "upper" (sf: only too-far points), "lower" (cdf: only too-central points).
    """
    r = _check_scores(norm_sq, "norm_sq")
    if np.any(r < 0):
        raise ValueError("norm_sq: squared norms must be >= 0")
    dim = check_int(dim, "dim", minimum=1)
    tails = {"upper": lambda: chi2.sf(r, dim), "lower": lambda: chi2.cdf(r, dim),
             "two-sided": lambda: np.minimum(1.0, 2.0 * np.minimum(chi2.cdf(r, dim), chi2.sf(r, dim)))}
    if side not in tails:
        raise ValueError(f"side: expected one of {tuple(tails)}, got {side!r}")
    return tails[side]()


def log_det_score(flow, x):
    """The log-det term log|det J_f(x)| of eq. 2 (section 2.1) alone, J_f the Jacobian of f = flow.forward.

    x: (N, D) -> (N,) float64 nats; log p_theta(x) = latent_log_prob(flow, x) + log_det_score(flow, x).
    A volume-preserving flow (additive couplings only) gives a constant log-det, returned as (N,).
    """
    z, log_det = _check_flow(flow).forward(x)
    return np.asarray(log_det, dtype=np.float64) * np.ones(len(z))


class TypicalityTest:
    """The batch typicality test of Nalisnick et al. (2019).

    A batch x_1..x_M is typical for the model if its mean negative log-likelihood is close to the
    model's entropy: the statistic is  eps(batch) = | -(1/M) sum_m log p(x_m) - H_hat |,  with
    H_hat = -mean log p over training data. The threshold is the ``tpr`` quantile of eps over
    ``n_bootstrap`` batches resampled (with replacement) from in-distribution validation scores,
    so about a fraction ``tpr`` of in-distribution batches pass. It works on log-likelihoods, so
    the same test runs on log p_theta or on the true log p.

        test = TypicalityTest(batch_size=10).fit(logp_train, rng, logp_val)
        test.is_outlier(logp_test)   # (N,) scores -> (N // M,) one decision per batch
    """

    def __init__(self, batch_size, tpr=0.99, n_bootstrap=1000):
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.tpr = _check_rate(tpr, "tpr")
        self.n_bootstrap = check_int(n_bootstrap, "n_bootstrap", minimum=1)
        self.entropy_ = self.threshold_ = None

    def fit(self, log_probs_train, rng, log_probs_val=None):
        """H_hat from ``log_probs_train``; threshold from bootstrap batches of ``log_probs_val``
        (defaults to the training scores, which makes the test slightly too permissive)."""
        train = _check_finite_scores(log_probs_train, "log_probs_train")
        val = train if log_probs_val is None else _check_finite_scores(log_probs_val, "log_probs_val")
        with np.errstate(over="ignore", invalid="ignore"):
            entropy = -float(np.mean(train))
            means = self._bootstrap_means(val, check_rng(rng))
            threshold = float(np.quantile(np.abs(-means - entropy), self.tpr))
        if not np.isfinite(entropy):
            raise ValueError("log_probs_train: values so large that their mean overflows float64")
        if not np.isfinite(threshold):
            raise ValueError(f"{'log_probs_train' if log_probs_val is None else 'log_probs_val'}: values so large "
                             "that the batch means overflow float64")
        self.entropy_, self.threshold_ = entropy, threshold
        return self

    def _bootstrap_means(self, val, rng):
        """Means of ``n_bootstrap`` batches of M = batch_size values drawn from ``val`` with replacement.

        -> (n_bootstrap,). Drawn in blocks of at most BOOTSTRAP_BLOCK indices, so memory stays
        bounded (never n_bootstrap x M); the rows come from ``rng`` in order, as in one big draw."""
        m = self.batch_size
        rows = max(1, BOOTSTRAP_BLOCK // m)
        means = np.empty(self.n_bootstrap)
        for start in range(0, self.n_bootstrap, rows):
            n = min(rows, self.n_bootstrap - start)
            means[start:start + n] = _resampled_sums(val, rng, n, m) / m
        return means

    def batches(self, log_probs):
        """(N,) -> (N // M, M): consecutive batches of M = batch_size (a remainder is dropped)."""
        arr = _check_finite_scores(log_probs, "log_probs")
        n = arr.size // self.batch_size
        if n == 0:
            raise ValueError(f"log_probs: {arr.size} values, fewer than one batch of {self.batch_size}")
        return arr[:n * self.batch_size].reshape(n, self.batch_size)

    def statistic(self, log_probs):
        """eps per batch: (N,) log-likelihoods -> (N // M,)."""
        if self.entropy_ is None:
            raise ValueError("TypicalityTest: call fit(log_probs_train, rng) first")
        with np.errstate(over="ignore", invalid="ignore"):
            eps = np.abs(-self.batches(log_probs).mean(axis=1) - self.entropy_)
        if not np.all(np.isfinite(eps)):
            raise ValueError("log_probs: values so large that the batch means overflow float64")
        return eps

    def score(self, log_probs):
        """-eps per batch: higher = more typical, for ``auroc`` and ``fpr_at_tpr``."""
        return -self.statistic(log_probs)

    def is_outlier(self, log_probs):
        """True for each batch whose eps exceeds the fitted threshold: (N,) -> bool (N // M,)."""
        return self.statistic(log_probs) > self.threshold_


def _check_finite_scores(scores, name):
    arr = _check_scores(scores, name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains infinite value(s)")
    return arr


def _resampled_sums(val, rng, n, m):
    """Sums of n batches of m values of ``val`` drawn with replacement: (n,), with at most
    BOOTSTRAP_BLOCK indices alive at once (a batch larger than that is summed in pieces, n = 1)."""
    if n * m <= BOOTSTRAP_BLOCK:
        return val[rng.integers(0, val.size, size=(n, m))].sum(axis=1)
    pieces = range(0, m, BOOTSTRAP_BLOCK)
    return np.array([sum(val[rng.integers(0, val.size, size=min(BOOTSTRAP_BLOCK, m - k))].sum() for k in pieces)])
