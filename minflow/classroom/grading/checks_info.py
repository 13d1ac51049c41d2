"""Plans of the information-theory (lesson 04) and OOD-detection (lesson 09) exercises of the library."""
import numpy as np
from scipy import integrate, stats

from . import reference as ref
from .checker import Case, Mismatch, compare, pair, require
from .checks_flow import call

INFO, OOD = "minflow.thesis.information", "minflow.thesis.ood"
UNDERFLOW_HINT = ("det(Sigma) underflows to 0 in floating point here: compute the log-determinant directly "
                  "(np.linalg.slogdet, or 2 sum_i log L_ii of the Cholesky factor), never log(det(...))")
KL_SWAP = "you computed KL(p || q): KL is not symmetric; Proposition 1 inverts Sigma_p, the SECOND argument's"


def _gauss(label, fn, pairs, judge, **kw):
    """A case calling ``fn`` on Gaussians built in the child from (mean, cov) arrays."""
    inputs, specs = {}, []
    for k, (m, c) in enumerate(pairs):
        inputs[f"m{k}"], inputs[f"c{k}"] = np.asarray(m, float), np.asarray(c, float)
        specs.append([f"m{k}", f"c{k}"])
    return Case(label, "gaussians", inputs, judge, fn=fn, gaussians=specs, **kw)


def plan_gaussian_entropy(rng, variant):
    fn, cases = f"{INFO}:gaussian_entropy", []
    for d in (1, int(rng.integers(2, 6))):
        cov = ref.random_cov(rng, d)
        e, ld = stats.multivariate_normal(np.zeros(d), cov).entropy(), np.linalg.slogdet(cov)[1]
        wrong = [(0.5 * d * ref.LOG_2PI + 0.5 * ld, "the e is missing: H = 1/2 log det(2 pi e Sigma)"),
                 (0.5 * d * (1 + ref.LOG_2PI) + ld, "halve the log-determinant too"),
                 (-e, "entropy = -E[log p]: check the overall sign")]
        cases.append(call(f"D={d}, a random covariance, against scipy.stats", fn, {"cov": cov},
                          lambda o, e=e, w=wrong, c=cov: compare(o["value"], e, "gaussian_entropy(cov)", mistakes=w)))
    d = int(rng.integers(150, 220))
    q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    cov = 1e-3 * (q * rng.uniform(0.3, 3.0, d)) @ q.T
    expected = 0.5 * d * (1 + ref.LOG_2PI) + 0.5 * np.linalg.slogdet(cov)[1]
    cases.append(call(f"D={d}, a non-diagonal covariance of scale 1e-3 (det underflows)", fn, {"cov": cov},
                      lambda o: compare(o["value"], expected, "gaussian_entropy(cov)", rtol=1e-6, hint=UNDERFLOW_HINT)))
    return cases


def plan_kl_gaussian(rng, variant):
    fn, d = f"{INFO}:kl_gaussian", int(rng.integers(2, 6))
    m, c = rng.standard_normal(d), ref.random_cov(rng, d)
    a, b, sa, sb = rng.normal(0, 0.5), rng.normal(0, 0.5), rng.uniform(0.4, 1.0), rng.uniform(0.8, 1.6)
    q1, p1 = stats.norm(a, sa), stats.norm(b, sb)
    e1 = integrate.quad(lambda v: q1.pdf(v) * (q1.logpdf(v) - p1.logpdf(v)), a - 12 * sa, a + 12 * sa)[0]
    mq, cq, mp, cp = rng.standard_normal(d + 1), ref.random_cov(rng, d + 1), rng.standard_normal(d + 1), \
        ref.random_cov(rng, d + 1, 2.0)
    e2 = ref.kl(mq, cq, mp, cp)
    return [
        _gauss(f"KL(q || q) = 0 (D={d})", fn, [(m, c), (m, c)],
               lambda o: compare(o["value"], 0.0, "kl_gaussian(q, q)", atol=1e-9), trivial=True),
        _gauss("D=1, against numerical integration", fn, [([a], [[sa**2]]), ([b], [[sb**2]])],
               lambda o: compare(o["value"], e1, "kl_gaussian(q, p)", rtol=1e-6, mistakes=[
                   (ref.kl([b], [[sb**2]], [a], [[sa**2]]), KL_SWAP), (2 * e1, "Proposition 1 has a factor 1/2")])),
        _gauss(f"D={d + 1}, random means and covariances, against Proposition 1", fn, [(mq, cq), (mp, cp)],
               lambda o: compare(o["value"], e2, "kl_gaussian(q, p)", mistakes=[
                   (ref.kl(mp, cp, mq, cq), KL_SWAP), (2 * e2, "Proposition 1 has a factor 1/2"),
                   (e2 + (d + 1) / 2, "subtract D, the dimension, inside the bracket")])),
    ]


def plan_cross_entropy_gaussian(rng, variant):
    fn, cases = f"{INFO}:cross_entropy_gaussian", []
    for d in (int(rng.integers(1, 3)), int(rng.integers(3, 6))):
        mq, cq, mp, cp = rng.standard_normal(d), ref.random_cov(rng, d), rng.standard_normal(d), ref.random_cov(rng, d)
        h_q, h_p = (stats.multivariate_normal(m, c).entropy() for m, c in ((mq, cq), (mp, cp)))
        standin_kl = 0.37 * d + float(np.sum(mp**2))  # the child's stand-in for kl_gaussian(q, p)
        wrong = [(h_p + standin_kl, "H(q, p) = H(q) + KL(q || p) (eq. 10): the entropy of q, the first argument"),
                 (h_q - standin_kl, "add the KL divergence (eq. 10)"), (standin_kl, "add the entropy H(q) (eq. 10)")]
        cases.append(_gauss(f"D={d}: H(q) + kl_gaussian(q, p) (eq. 10)", fn, [(mq, cq), (mp, cp)],
                            lambda o, e=h_q + standin_kl, w=wrong: compare(o["value"], e, "cross_entropy_gaussian(q, p)",
                                                                           mistakes=w), standin_kl=True))
    return cases


def bounds_judge(scores, tpr, lower_fraction, call_text):
    """Accept any standard quantile rule: each bound within one order-statistic gap of its quantile."""
    reject = 1.0 - tpr

    def judge(out):
        low, high = pair(out["value"], call_text)
        for name, got, prob, infinite in (("L", low, reject * lower_fraction, -np.inf),
                                          ("U", high, 1 - reject * (1 - lower_fraction), np.inf)):
            if prob <= 0 or prob >= 1:
                require(got == infinite, f"{call_text}: {name} = {got:.6g}, expected {infinite}",
                        f"with lower_fraction = {lower_fraction:g} nothing is rejected on that side: {name} = {infinite}")
                continue
            lo, hi = ref.quantile_bracket(scores, prob)
            require(lo <= got <= hi, f"{call_text}: {name} = {got:.6g}, expected the {prob:.4g} quantile of the "
                    f"scores, between {lo:.6g} and {hi:.6g}", "L is the (1 - tpr) * lower_fraction quantile of "
                    "scores_in, U the 1 - (1 - tpr) * (1 - lower_fraction) quantile; return (L, U), L first")
    return judge


def plan_tpr_bounds(rng, variant):
    fn, cases = f"{OOD}:tpr_bounds", []
    for tpr, frac in ((rng.uniform(0.9, 0.98), 0.5), (rng.uniform(0.9, 0.98), 1.0), (rng.uniform(0.85, 0.95), 0.0),
                      (rng.uniform(0.8, 0.95), float(rng.choice([0.2, 0.25, 0.3, 0.7, 0.75])))):
        scores = rng.normal(rng.normal(), rng.uniform(0.5, 2), int(rng.integers(400, 1200)))
        text = f"tpr_bounds(scores_in, tpr={tpr:.4f}, lower_fraction={frac:g})"
        cases.append(call(f"{len(scores)} scores, tpr = {tpr:.4f}, lower_fraction = {frac:g}", fn,
                          {"scores_in": scores, "tpr": np.float64(tpr), "lower_fraction": np.float64(frac)},
                          bounds_judge(scores, tpr, frac, text)))
    return cases


def plan_true_negative_rate(rng, variant):
    low, high = sorted(rng.normal(0, 1.2, 2))
    scores = np.concatenate([[low, high], rng.normal(0, 1.5, int(rng.integers(8, 16)))])
    flagged = (scores < low) | (scores > high)
    cases = [call("is_outlier: strictly outside [L, U], scores on the bounds included", f"{OOD}:is_outlier",
                  {"scores": scores, "bounds": np.array([low, high])}, lambda o: compare(
                      o["value"], flagged, "is_outlier(scores, (L, U))", {"scores": scores}, [
                          ((scores <= low) | (scores >= high), "a score equal to L or U is inside [L, U] (section 8.1)"),
                          (~flagged, "is_outlier is True OUTSIDE [L, U]")]))]
    for bounds in ((low - 0.5, high + 0.5), (low, np.inf)):
        out = rng.normal(rng.uniform(0, 2), 1.5, int(rng.integers(500, 1500)))
        expected = np.mean((out < bounds[0]) | (out > bounds[1]))
        cases.append(call(f"TNR of {len(out)} outlier scores, bounds ({bounds[0]:.3g}, {bounds[1]:.3g})",
                          f"{OOD}:true_negative_rate", {"scores_out": out, "bounds": np.array(bounds)},
                          lambda o, e=expected, n=len(out): compare(o["value"], e, "true_negative_rate(scores_out, bounds)",
                                                                    mistakes=[(1 - e, "you computed 1 - TNR"),
                                                                              (n * e, "a rate: divide by the count")])))
    return cases


def _brute_auroc(a, b):
    return float(np.mean((a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])))


def plan_auroc(rng, variant):
    n, m = int(rng.integers(100, 300)), int(rng.integers(80, 250))
    cases = []
    for label, a, b in (("overlapping scores", rng.normal(rng.uniform(0.3, 1), 1, n), rng.normal(0, 1.3, m)),
                        ("integer scores with many ties", rng.integers(0, 5, n).astype(float),
                         rng.integers(0, 4, m).astype(float)),
                        ("outliers scoring higher", rng.normal(0, 1, m), rng.normal(0.7, 1, n))):
        expected, strict = _brute_auroc(a, b), float(np.mean(a[:, None] > b[None, :]))
        cases.append(call(f"{label}, {len(a)} in and {len(b)} out", f"{OOD}:auroc", {"scores_in": a, "scores_out": b},
                          lambda o, e=expected, s=strict: compare(o["value"], e, "auroc(scores_in, scores_out)", mistakes=[
                              (1 - e, "in and out are swapped: AUROC = P[score_in > score_out]"),
                              (s, "a tie counts 1/2: use average ranks (scipy.stats.rankdata)")])))
    return cases


__all__ = ["Mismatch"]
