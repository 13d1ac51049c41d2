"""Checks of the information-theory (lesson 04) and OOD-detection (lesson 09) exercises."""
import importlib

import numpy as np
from scipy import integrate, stats
from scipy.stats.mstats import mquantiles

from ...prior import LOG_2PI  # the teacher's copy: runner.py imports the grader before the workspace
from .checker import compare, patched, require

UNDERFLOW_HINT = ("det(Sigma) underflows to 0 in floating point here: compute the log-determinant directly "
                  "(np.linalg.slogdet, or 2 sum_i log L_ii of the Cholesky factor), never log(det(...))")


def _gaussian(mean, cov):
    """A ``Gaussian`` of the student's workspace, the class its information functions accept."""
    return importlib.import_module("minflow.thesis.gaussians").Gaussian(mean, cov)


def _random_cov(rng, d, scale=1.0):
    a = rng.standard_normal((d, d))
    return scale * (a @ a.T / d + 0.5 * np.eye(d))


def _ref_kl(mq, cq, mp, cp):
    """KL(q || p) by Proposition 1, with explicit inverses and slogdet (the library uses Cholesky)."""
    mq, cq, mp, cp = (np.asarray(a, dtype=float) for a in (mq, cq, mp, cp))
    inv_p, diff = np.linalg.inv(cp), mq - mp
    return 0.5 * (np.linalg.slogdet(cp)[1] - np.linalg.slogdet(cq)[1] - len(mq)
                  + diff @ inv_p @ diff + np.trace(inv_p @ cq))


def _ref_cross_entropy(mq, cq, mp, cp):
    """H(q, p) = -E_q[log p] = 1/2 [D log 2 pi + log|Sigma_p| + tr(Sigma_p^-1 Sigma_q) + Mahalanobis]."""
    inv_p, diff = np.linalg.inv(cp), mq - mp
    return 0.5 * (len(mq) * LOG_2PI + np.linalg.slogdet(cp)[1] + np.trace(inv_p @ cq) + diff @ inv_p @ diff)


# --- lesson 04 --------------------------------------------------------------------------------
def check_gaussian_entropy(ck, info):
    with ck.case("D=1, variance 2, against scipy.stats.norm"):
        expected = stats.norm(scale=np.sqrt(2.0)).entropy()
        compare(info.gaussian_entropy(np.array([[2.0]])), expected, "gaussian_entropy([[2.0]])",
                mistakes=[(0.5 * LOG_2PI + 0.5 * np.log(2.0), "the e is missing: H = 1/2 log det(2 pi e Sigma)"),
                          (-expected, "entropy = -E[log p]: check the overall sign")])
    cov = _random_cov(np.random.default_rng(50), 3)
    with ck.case("D=3, a random covariance, against scipy.stats.multivariate_normal"):
        expected = stats.multivariate_normal(np.zeros(3), cov).entropy()
        log_det = np.linalg.slogdet(cov)[1]
        compare(info.gaussian_entropy(cov), expected, "gaussian_entropy(cov)", {"cov": cov},
                mistakes=[(1.5 * (1 + LOG_2PI) + log_det, "halve the log-determinant too: "
                                                          "1/2 log det(2 pi e Sigma) = D/2 (1 + log 2 pi) + "
                                                          "1/2 log det Sigma"),
                          (1.5 * LOG_2PI + 0.5 * log_det, "the e is missing: det(2 pi e Sigma) gives "
                                                          "D/2 (1 + log 2 pi)"),
                          (0.5 * (1 + LOG_2PI) + 0.5 * log_det, "det(2 pi e Sigma) = (2 pi e)^D det Sigma: the "
                                                                "constant counts once per dimension"),
                          (-expected, "entropy = -E[log p]: check the overall sign")])
    with ck.case("D=200, Sigma = 0.001 I (det Sigma = 1e-600 underflows)"):
        expected = 100.0 * (1 + LOG_2PI) + 100.0 * np.log(1e-3)
        compare(info.gaussian_entropy(1e-3 * np.eye(200)), expected, "gaussian_entropy(0.001 * eye(200))",
                hint=UNDERFLOW_HINT)


def check_kl_gaussian(ck, info):
    rng = np.random.default_rng(60)
    m, c = rng.standard_normal(3), _random_cov(rng, 3)
    with ck.case("KL(q || q) = 0 (D=3)"):
        compare(info.kl_gaussian(_gaussian(m, c), _gaussian(m, c)), 0.0, "kl_gaussian(q, q)", atol=1e-9)
    with ck.case("D=1: q = N(0.5, 0.6^2), p = N(-0.2, 1.3^2), against numerical integration"):
        q, p = stats.norm(0.5, 0.6), stats.norm(-0.2, 1.3)
        expected = integrate.quad(lambda v: q.pdf(v) * (q.logpdf(v) - p.logpdf(v)), -12, 12)[0]
        got = info.kl_gaussian(_gaussian([0.5], [[0.36]]), _gaussian([-0.2], [[1.69]]))
        compare(got, expected, "kl_gaussian(N(0.5, 0.36), N(-0.2, 1.69))", rtol=1e-6,
                mistakes=[(_ref_kl([-0.2], [[1.69]], [0.5], [[0.36]]), "you computed KL(p || q): KL is not "
                           "symmetric; Proposition 1 inverts Sigma_p, the covariance of the SECOND argument"),
                          (2 * expected, "Proposition 1 has a factor 1/2 in front of the bracket")])
    mq, cq = rng.standard_normal(4), _random_cov(rng, 4)
    mp, cp = rng.standard_normal(4), _random_cov(rng, 4, 2.0)
    with ck.case("D=4, random means and covariances, against Proposition 1 with explicit inverses"):
        expected = _ref_kl(mq, cq, mp, cp)
        inv_q, diff = np.linalg.inv(cq), mq - mp
        ld_p, ld_q = np.linalg.slogdet(cp)[1], np.linalg.slogdet(cq)[1]
        tr = np.trace(np.linalg.inv(cp) @ cq)
        compare(info.kl_gaussian(_gaussian(mq, cq), _gaussian(mp, cp)), expected, "kl_gaussian(q, p)",
                {"q.mean": mq, "p.mean": mp},
                mistakes=[(_ref_kl(mp, cp, mq, cq), "you computed KL(p || q): KL is not symmetric; "
                                                    "Proposition 1 inverts Sigma_p, the covariance of the SECOND "
                                                    "argument"),
                          (2 * expected, "Proposition 1 has a factor 1/2 in front of the bracket"),
                          (expected + 2.0, "subtract k = D, the dimension, inside the bracket"),
                          (expected - ld_p + ld_q, "the log-det term is log(|Sigma_p| / |Sigma_q|): p on top"),
                          (expected + 0.5 * (diff @ inv_q @ diff - diff @ np.linalg.inv(cp) @ diff),
                           "the Mahalanobis term uses Sigma_p^{-1}, the covariance of p"),
                          (expected + 0.5 * (np.trace(inv_q @ cp) - tr),
                           "the trace term is tr(Sigma_p^{-1} Sigma_q)")])


def check_cross_entropy_gaussian(ck, info):
    rng = np.random.default_rng(70)
    ref_kl = lambda q, p: _ref_kl(q.mean, q.cov, p.mean, p.cov)  # noqa: E731
    with patched(info, kl_gaussian=ref_kl):
        m, c = rng.standard_normal(2), _random_cov(rng, 2)
        with ck.case("H(q, q) = H(q) (D=2), against scipy.stats"):
            expected = stats.multivariate_normal(m, c).entropy()
            compare(info.cross_entropy_gaussian(_gaussian(m, c), _gaussian(m, c)), expected,
                    "cross_entropy_gaussian(q, q)")
        mq, cq = rng.standard_normal(3), _random_cov(rng, 3)
        mp, cp = rng.standard_normal(3), _random_cov(rng, 3, 3.0)
        with ck.case("D=3, random q and p, against -E_q[log p] in closed form"):
            expected = _ref_cross_entropy(mq, cq, mp, cp)
            h_q, h_p = (stats.multivariate_normal(mq, cq).entropy(), stats.multivariate_normal(mp, cp).entropy())
            kl = _ref_kl(mq, cq, mp, cp)
            compare(info.cross_entropy_gaussian(_gaussian(mq, cq), _gaussian(mp, cp)), expected,
                    "cross_entropy_gaussian(q, p)", {"q.mean": mq, "p.mean": mp},
                    mistakes=[(h_p + kl, "H(q, p) = H(q) + KL(q || p) (eq. 10): the entropy of q, the first "
                                         "argument"),
                              (h_q - kl, "add the KL divergence: H(q, p) = H(q) + KL(q || p) (eq. 10)"),
                              (kl, "add the entropy H(q) (eq. 10)"),
                              (h_q + _ref_kl(mp, cp, mq, cq), "KL(q || p), not KL(p || q): kl_gaussian(q, p)")])


# --- lesson 09 --------------------------------------------------------------------------------
def _quantile(x, prob):
    return float(mquantiles(x, [prob], alphap=1, betap=1)[0])


def _bounds_case(ck, ood, scores, tpr, lower_fraction, label, mistakes):
    reject = 1.0 - tpr
    low = _quantile(scores, reject * lower_fraction) if lower_fraction > 0 else -np.inf
    high = _quantile(scores, 1 - reject * (1 - lower_fraction)) if lower_fraction < 1 else np.inf
    # another quantile rule (nearest rank, ...) moves a bound by about one gap between sorted scores
    gap = 2.0 * float(np.max(np.diff(np.sort(scores))[[0, -1]]))
    with ck.case(label):
        got = ood.tpr_bounds(scores, tpr, lower_fraction)
        require(isinstance(got, (tuple, list)) and len(got) == 2,
                f"tpr_bounds returned {type(got).__name__}, expected a pair (L, U)")
        compare(np.array(got, dtype=float), [low, high],
                f"tpr_bounds(scores_in, tpr={tpr}, lower_fraction={lower_fraction}) = (L, U)",
                {"scores_in": scores}, mistakes=mistakes(low, high), atol=min(gap, 0.05), rtol=0,
                hint="L is the (1 - tpr) * lower_fraction quantile of scores_in (-inf if that is 0), U the "
                     "1 - (1 - tpr) * (1 - lower_fraction) quantile (+inf if that is 1)")


def check_tpr_bounds(ck, ood):
    rng = np.random.default_rng(80)
    scores = rng.standard_normal(1000)
    q = lambda p: _quantile(scores, p)  # noqa: E731
    _bounds_case(ck, ood, scores, 0.975, 0.5, "equal tails, tpr = 0.975, 1000 scores", lambda lo, hi: [
        ((q(0.025), q(0.975)), "split the rejected mass 1 - tpr between both tails: L is the (1 - tpr)/2 "
                               "quantile and U the 1 - (1 - tpr)/2 quantile"),
        ((hi, lo), "return (L, U), the lower bound first")])
    _bounds_case(ck, ood, scores, 0.975, 1.0, "only a lower bound: lower_fraction = 1.0", lambda lo, hi: [
        ((-np.inf, q(0.975)), "lower_fraction is the share of the rejected mass BELOW L: 1.0 means all of it, "
                              "so U = +inf"),
        ((lo, q(1.0)), "with lower_fraction = 1 nothing is rejected above: U = +inf (np.inf), not max(scores)")])
    _bounds_case(ck, ood, scores, 0.975, 0.0, "only an upper bound: lower_fraction = 0.0", lambda lo, hi: [
        ((q(0.025), np.inf), "lower_fraction is the share of the rejected mass BELOW L: 0.0 means L = -inf"),
        ((q(0.0), hi), "with lower_fraction = 0 nothing is rejected below: L = -inf (-np.inf), not min(scores)")])
    few = rng.standard_normal(501)
    _bounds_case(ck, ood, few, 0.9, 0.25, "tpr = 0.9, lower_fraction = 0.25, 501 scores", lambda lo, hi: [
        ((_quantile(few, 0.075), _quantile(few, 0.975)), "lower_fraction = 0.25 puts a quarter of the rejected "
                                                         "mass 1 - tpr below L, the rest above U"),
        ((_quantile(few, 0.05), _quantile(few, 0.95)), "use lower_fraction to split 1 - tpr, not equal tails")])


def check_true_negative_rate(ck, ood):
    with ck.case("is_outlier: strictly outside [L, U], with scores on the bounds"):
        scores = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
        expected = (scores < -1.0) | (scores > 1.0)
        compare(ood.is_outlier(scores, (-1.0, 1.0)), expected, "is_outlier(scores, (L, U) = (-1, 1))",
                {"scores": scores},
                mistakes=[((scores <= -1.0) | (scores >= 1.0),
                           "a score equal to L or U is inside [L, U]: D_out(x) = 1 if score < L or score > U "
                           "(section 8.1)"),
                          (~expected, "is_outlier is True OUTSIDE [L, U], False inside")])
    rng = np.random.default_rng(90)
    for label, bounds in (("TNR of 1000 outlier scores, bounds (-2, 2)", (-2.0, 2.0)),
                          ("TNR with a one-sided bound, (L, U) = (-1, inf)", (-1.0, np.inf))):
        scores_out = rng.normal(1.5, 1.5, 1000)
        with ck.case(label):
            expected = np.mean((scores_out < bounds[0]) | (scores_out > bounds[1]))
            compare(ood.true_negative_rate(scores_out, bounds), expected,
                    f"true_negative_rate(scores_out, {bounds})", {"scores_out": scores_out},
                    mistakes=[(1 - expected, "TNR is the fraction of out-of-distribution scores flagged as "
                                             "outliers (outside [L, U]); you computed the fraction kept, 1 - TNR"),
                              (1000 * expected, "a rate: divide the count by the number of scores")])


def _brute_auroc(a, b):
    """P[a > b] + 1/2 P[a = b] over all pairs: the definition, no ranks."""
    return float(np.mean((a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])))


def check_auroc(ck, ood):
    rng = np.random.default_rng(100)
    cases = [("perfectly separated: every in-score above every out-score", rng.normal(5, 1, 50),
              rng.normal(-5, 1, 40)),
             ("overlapping scores, 300 in and 200 out", rng.normal(0.8, 1, 300), rng.normal(0, 1.3, 200)),
             ("integer scores with many ties", rng.integers(0, 5, 200).astype(float),
              rng.integers(0, 5, 150).astype(float))]
    for label, a, b in cases:
        with ck.case(label):
            expected = _brute_auroc(a, b)
            strict = float(np.mean(a[:, None] > b[None, :]))
            compare(ood.auroc(a, b), expected, "auroc(scores_in, scores_out)", {"scores_in": a, "scores_out": b},
                    mistakes=[(1 - expected, "in and out are swapped: AUROC = P[score_in > score_out], and a "
                                             "higher score means more in-distribution"),
                              (strict, "a tie counts 1/2: use average ranks (scipy.stats.rankdata)"),
                              (strict + np.mean(a[:, None] == b[None, :]), "a tie counts 1/2, not 1")])
