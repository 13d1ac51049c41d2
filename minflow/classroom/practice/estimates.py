"""Sample estimates and detectors built on log-likelihoods (thesis sections 3.2.1-3.2.4, 8.1).

    H*(q, m) = -(1/N) sum_i log m(x_i),  x_i ~ q                    eq. 14 (section 3.2.1)
    D*(q || m) = H*(q, m) - H(q)                                     section 3.2.2

Every estimate comes with its standard error, the standard deviation of the averaged terms
(``ddof=1``) over sqrt(N). Reference: https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91
"""
import numpy as np

# BEGIN VARIANT
LOWER_FRACTION = 0.5
# END VARIANT


def cross_entropy_estimate(log_probs):
    """H*(q, m) of eq. 14 and its standard error: log_probs (N,) of log m(x_i) -> (value, stderr) floats."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    # BEGIN EXERCISE sample_estimates: eq. 14 (section 3.2.1): a mean of -log m(x_i), stderr = sd / sqrt(N)
    n = log_probs.size
    return float(-np.mean(log_probs)), float(np.std(log_probs, ddof=1) / np.sqrt(n))
    # END EXERCISE


def kl_estimate(log_probs, entropy_q):
    """D*(q || m) = H*(q, m) - H(q) (section 3.2.2) and its standard error -> (value, stderr).

    log_probs: (N,) log m(x_i) with x_i ~ q; entropy_q: the exact H(q) (a float, no sampling error).
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    # BEGIN EXERCISE sample_estimates: section 3.2.2: H*(q, m) - H(q); H(q) is exact, so it adds no error
    value, stderr = cross_entropy_estimate(log_probs)
    return value - float(entropy_q), stderr
    # END EXERCISE


def typicality_statistic(log_probs, entropy, batch_size):
    """The typicality test's statistic (Nalisnick et al. 2019; thesis section 3.2.4), per batch.

    Consecutive batches of ``batch_size`` scores (a remainder is dropped):
    eps_b = | -(1/M) sum_{m in b} log p(x_m) - entropy |.   log_probs (N,) -> (N // M,)
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    # BEGIN EXERCISE typicality_test: section 3.2.4: batches of M scores, |mean NLL - entropy| per batch
    n = log_probs.size // batch_size
    batches = log_probs[:n * batch_size].reshape(n, batch_size)
    return np.abs(-batches.mean(axis=1) - entropy)
    # END EXERCISE


def is_atypical(log_probs, entropy, batch_size, threshold):
    """True for each batch whose statistic exceeds ``threshold`` (strictly): (N,) -> bool (N // M,)."""
    # BEGIN EXERCISE typicality_test: section 3.2.4: a batch is atypical if eps_b > threshold
    return typicality_statistic(log_probs, entropy, batch_size) > threshold
    # END EXERCISE


def ood_bounds(scores_in, tpr):
    """Bounds (L, U) keeping a fraction ``tpr`` of ``scores_in`` inside [L, U] (section 8.1).

    YOUR variant splits the rejected mass 1 - tpr between the tails like this: {variant:lower_fraction}
    L and U are empirical quantiles of scores_in (any standard quantile rule).
    scores_in: (N,) -> (L, U) floats.
    """
    scores_in = np.asarray(scores_in, dtype=np.float64)
    # BEGIN EXERCISE ood_bounds: section 8.1: two quantiles of scores_in; your variant says how 1 - tpr is split
    reject = 1.0 - tpr
    low = np.quantile(scores_in, reject * LOWER_FRACTION)
    high = np.quantile(scores_in, 1.0 - reject * (1.0 - LOWER_FRACTION))
    return float(low), float(high)
    # END EXERCISE
