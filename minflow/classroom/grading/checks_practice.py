"""Plans of the classroom's own exercises (``minflow/practice/`` in a workspace).

The variant exercises are checked against the student's variant (``variant[key]``), so code
written for another variant, the library's included, fails them.
"""
import numpy as np
from scipy import stats

from . import reference as ref
from .checker import Case, Mismatch, as_array, compare, pair, require
from .checks_flow import SIGN_HINT, call
from .checks_info import bounds_judge

PRACTICE = "minflow.practice"
VARIANT_HINT = "read the variant of your workspace (README.md, 'Your variant'): it differs from the library's"


def _copied(dim, part):
    cols, half = np.arange(dim), ((dim + 1) // 2 if part.endswith("ceil") else dim // 2)
    if part.startswith("first"):
        return cols[:half]
    if part.startswith("last"):
        return cols[dim - half:]
    return cols[0::2] if part == "even" else cols[1::2]


def plan_split_join(rng, variant):
    part, cases = variant["copy_part"], []
    for dim in (int(rng.choice([5, 7, 9])), int(rng.choice([4, 6, 8]))):
        x = rng.standard_normal((int(rng.integers(3, 7)), dim))
        idx_a = _copied(dim, part)
        idx_b = np.setdiff1d(np.arange(dim), idx_a)
        lib = (x[:, :dim // 2], x[:, dim // 2:])

        def judge_split(o, x=x, a=idx_a, b=idx_b, lib=lib):
            got = o["value"]
            require(isinstance(got, (tuple, list)) and len(got) == 2, "split(x) must return (x_a, x_b)")
            wrong = [(lib[0], VARIANT_HINT + " (that is the library's first floor(D/2) columns)")]
            compare(got[0], x[:, a], f"split(x)[0] (D={x.shape[1]})", {"x": x}, wrong)
            compare(got[1], x[:, b], f"split(x)[1] (D={x.shape[1]})", {"x": x})
        cases.append(call(f"split, D={dim}", f"{PRACTICE}.parts:split", {"x": x}, judge_split))
        cases.append(call(f"join, D={dim}", f"{PRACTICE}.parts:join", {"x_a": x[:, idx_a], "x_b": x[:, idx_b]},
                          lambda o, x=x: compare(o["value"], x, f"join(x_a, x_b) (D={x.shape[1]})", hint=VARIANT_HINT)))
    return cases


def _bound(s_raw, kind, c):
    return c * np.tanh(s_raw / c) if kind == "tanh" else c * s_raw / (c + np.abs(s_raw))


def plan_bounded_scale(rng, variant):
    kind, c = variant["s_bound"]
    s_raw = rng.normal(0, 3, (int(rng.integers(4, 9)), int(rng.integers(2, 6))))
    wrong = [(_bound(s_raw, "tanh", ref.S_MAX),
              VARIANT_HINT + f" (that is the library's tanh bound with {ref.S_MAX:g})")]
    big = np.array([[50.0, -50.0, 1e3]])
    return [
        call(f"random raw log-scales {s_raw.shape}", f"{PRACTICE}.parts:bounded_scale", {"s_raw": s_raw},
             lambda o: compare(o["value"], _bound(s_raw, kind, c), "bounded_scale(s_raw)", {"s_raw": s_raw}, wrong)),
        call("large raw log-scales stay inside the bound", f"{PRACTICE}.parts:bounded_scale", {"s_raw": big},
             lambda o: compare(o["value"], _bound(big, kind, c), "bounded_scale(s_raw)", {"s_raw": big}, wrong)),
    ]


def plan_inverse_log_det(rng, variant):
    y_b, s, t = rng.standard_normal((3, int(rng.integers(3, 8)), int(rng.integers(2, 5))))
    expected = ref.slogdet_rows(lambda i: lambda v: ref.affine_inverse(v, s[i], t[i]), y_b)
    return [call(f"random s {s.shape}, against slogdet of autograd's Jacobian of eq. 4",
                 f"{PRACTICE}.parts:inverse_log_det", {"s": s},
                 lambda o: compare(o["value"], expected, "inverse_log_det(s)", {"s": s},
                                   [(-expected, "that is the forward map's log-det: " + SIGN_HINT)]))]


def plan_prior_log_prob(rng, variant):
    sigma, cases = variant["prior_scale"], []
    for d in (int(rng.integers(1, 4)), int(rng.integers(4, 9))):
        z = rng.normal(0, 1.5, (int(rng.integers(3, 8)), d))
        expected = stats.multivariate_normal(np.zeros(d), sigma**2 * np.eye(d)).logpdf(z).reshape(-1)
        wrong = [(ref.normal_log_prob(z), VARIANT_HINT + " (that is N(0, I))"),
                 (ref.normal_log_prob(z, sigma) + d * np.log(sigma), "the normaliser has a factor sigma^-D: "
                                                                    "subtract D log sigma")]
        cases.append(call(f"z {z.shape}, against scipy.stats", f"{PRACTICE}.sampling:prior_log_prob", {"z": z},
                          lambda o, e=expected, w=wrong: compare(o["value"], e, "prior_log_prob(z)", mistakes=w)))
    return cases


def _affine_flow(rng, d):
    A = np.linalg.qr(rng.standard_normal((d, d)))[0] @ np.diag(rng.uniform(0.4, 1.8, d))
    inputs = {"c1": np.exp(0.5 * rng.standard_normal(d)), "b1": rng.standard_normal(d), "A": A,
              "c2": np.exp(0.5 * rng.standard_normal(d)), "b2": rng.standard_normal(d)}
    f = lambda x: ((x * inputs["c1"] + inputs["b1"]) @ A) * inputs["c2"] + inputs["b2"]  # noqa: E731
    return inputs, f


def plan_sample_flow(rng, variant):
    sigma, cases, n = variant["prior_scale"], [], 4000
    for d in (int(rng.choice([3, 5])), int(rng.choice([2, 4]))):
        inputs, f = _affine_flow(rng, d)

        def judge(o, f=f, d=d):
            x = o["x"]
            x = as_float(x, "sample(layers, params, n, rng)")
            require(x.shape == (n, d), f"sample(layers, params, n={n}, rng) returned shape {x.shape}, expected {(n, d)}")
            compare(o["again"], x, "sample(...) twice with the same seed", hint="draw from the rng argument only")
            require(not np.allclose(o["other_seed"], x), "another seed gave the same points",
                    "draw z from the rng argument, not a fixed or global generator")
            z = f(x)
            ratio = np.std(z, axis=0) / sigma
            require(np.all(np.abs(np.mean(z, axis=0)) < 5 * sigma / np.sqrt(n)) and np.all(np.abs(ratio - 1) < 0.06),
                    f"f(x) should be N(0, {sigma:g}^2 I): its per-coordinate sd / sigma is {np.round(ratio, 3)}",
                    "z ~ N(0, sigma^2 I) with YOUR sigma, then the layers' inverses, the last layer first")
            corr = np.corrcoef(z.T)
            require(np.max(np.abs(corr - np.eye(d))) < 0.08, "f(x) has correlated coordinates: the layers were "
                    "not undone in the right order", "x = f^{-1}(z): undo the last layer first (reversed lists)")
        cases.append(Case(f"{n} samples in D={d}: f(x) ~ N(0, sigma^2 I), the rng used", "sample_flow", inputs,
                          judge, n=n, seed=int(rng.integers(2**31))))
    return cases


def as_float(x, call_text):
    return as_array(x, call_text)


def plan_adam_step(rng, variant):
    b1, b2 = variant["betas"]
    shapes = [(int(rng.integers(2, 5)), int(rng.integers(2, 4))), (int(rng.integers(2, 6)),)]
    arrays = {f"{k}{i}": rng.standard_normal(s) for k in "pgm" for i, s in enumerate(shapes)}
    arrays.update({f"v{i}": rng.uniform(0.01, 1.0, s) for i, s in enumerate(shapes)})
    t, lr = int(rng.integers(0, 20)), float(rng.uniform(1e-3, 1e-1))

    def adam(b1, b2, correct=True):
        m = [b1 * arrays[f"m{i}"] + (1 - b1) * arrays[f"g{i}"] for i in range(2)]
        v = [b2 * arrays[f"v{i}"] + (1 - b2) * arrays[f"g{i}"] ** 2 for i in range(2)]
        c1, c2 = (1 - b1 ** (t + 1), 1 - b2 ** (t + 1)) if correct else (1.0, 1.0)
        return [arrays[f"p{i}"] - lr * (m[i] / c1) / (np.sqrt(v[i] / c2) + 1e-8) for i in range(2)], m, v
    new, m, v = adam(b1, b2)
    flat = lambda xs: np.concatenate([np.ravel(a) for a in xs])  # noqa: E731

    def judge(o):
        params, state = o["value"]
        compare(flat(params), flat(new), "adam_step(...)[0], flattened", mistakes=[
            (flat(adam(0.9, 0.999)[0]), VARIANT_HINT + " (those are the library's b1, b2)"),
            (flat(adam(b1, b2, False)[0]), "divide the moments by 1 - b^t (bias correction), t the new step count")])
        require(isinstance(state, (tuple, list)) and len(state) == 3, "the new state must be (m, v, t)")
        compare(flat(state[0]), flat(m), "the new first moments m, flattened")
        compare(flat(state[1]), flat(v), "the new second moments v, flattened")
        compare(state[2], t + 1, "the new step count t")
    lists = {"tuple": [{"list": ["p0", "p1"]}, {"list": ["g0", "g1"]},
                       {"tuple": [{"list": ["m0", "m1"]}, {"list": ["v0", "v1"]}, {"json": t}]}, {"json": lr}]}
    return [Case(f"one step at t = {t}, lr = {lr:.4f}", "call", arrays, judge, fn=f"{PRACTICE}.training:adam_step",
                 args=lists["tuple"])]


def _gauss_nll(params, x):
    mu, log_s = params
    w = (x - mu) * np.exp(-log_s)
    return float(np.mean(np.sum(0.5 * w * w + log_s, axis=1)))


def _sgd_replay(params, batches, lr):
    """The epoch the child's stand-ins define: plain SGD on the diagonal Gaussian's NLL, batch by batch."""
    mu, log_s = params
    for batch in batches:
        w = (batch - mu) * np.exp(-log_s)
        mu, log_s = mu + lr * np.mean(w * np.exp(-log_s), axis=0), log_s - lr * np.mean(1.0 - w * w, axis=0)
    return [mu, log_s]


def plan_train_epoch(rng, variant):
    cases = []
    for n, bs in ((int(rng.integers(6, 12)) * 8, 8), (int(rng.integers(60, 100)), int(rng.integers(7, 13)))):
        d = int(rng.integers(1, 4))
        loc, scale = rng.normal(0, 2, d), rng.uniform(0.5, 2, d)
        x, held_out = loc + scale * rng.standard_normal((n, d)), loc + scale * rng.standard_normal((500, d))
        start = [np.zeros(d), np.zeros(d)]

        def judge(o, x=x, bs=bs, held_out=held_out, start=start):
            batches = [as_float(b, "a batch") for b in o["batches"]]
            sizes = [len(b) for b in batches]
            full, rest = divmod(len(x), bs)
            compare(np.array(sizes, float), [bs] * full + [rest] * (rest > 0), "the sizes of the batches seen",
                    hint="one step per batch of batch_size rows; the last batch holds the remainder")
            rows = np.concatenate(batches)
            require(np.array_equal(np.sort(rows, axis=0), np.sort(x, axis=0)), "the batches are not the rows of x, "
                    "each once", "every row of x exactly once per epoch: index x with a permutation")
            require(not np.array_equal(rows, x), "the rows were not shuffled", "shuffle with rng.permutation(len(x))")
            replay = _sgd_replay(start, batches, 0.05)
            compare(np.concatenate([np.ravel(p) for p in o["params"]]), np.concatenate(replay),
                    "the params after the epoch",
                    hint="params = step(params, grads) after each batch, and return the last params")
            after, before = _gauss_nll([as_float(p, "params") for p in o["params"]], held_out), _gauss_nll(start, held_out)
            # required where the epoch itself lowers it (now and then one SGD epoch from 0 does not: no one's fault)
            require(after < before or _gauss_nll(replay, held_out) >= before, "the held-out NLL did not go down")
        cases.append(Case(f"N={n}, batch_size={bs}, D={d}", "train_epoch", {"x": x, "mu": start[0], "log_s": start[1]},
                          judge, batch_size=bs, lr=0.05, seed=int(rng.integers(2**31))))
    return cases


def plan_entropy_affine(rng, variant):
    cases = []
    for d in (int(rng.integers(1, 3)), int(rng.integers(3, 6))):
        cov, A = ref.random_cov(rng, d), rng.standard_normal((d, d)) + np.eye(d)
        h_x = stats.multivariate_normal(np.zeros(d), cov).entropy()
        h_y = stats.multivariate_normal(np.zeros(d), A.T @ cov @ A).entropy()
        ld = np.linalg.slogdet(A)[1]
        cases.append(call(f"x Gaussian in D={d}, against scipy's entropy of y", f"{PRACTICE}.derive:entropy_affine",
                          {"entropy_x": np.float64(h_x), "A": A}, lambda o, e=h_y, h=h_x, ld=ld: compare(
                              o["value"], e, "entropy_affine(H(x), A)", mistakes=[
                                  (h - ld, "the volume grows by |det A|: add log|det A|, do not subtract it"),
                                  (h, "an affine map changes the entropy by log|det A|")])))
    return cases


def plan_kl_isotropic(rng, variant):
    cases = []
    for d in (int(rng.integers(1, 3)), int(rng.integers(3, 7))):
        mq, mp, a, b = rng.standard_normal(d), rng.standard_normal(d), rng.uniform(0.3, 2), rng.uniform(0.3, 2)
        e = ref.kl(mq, a**2 * np.eye(d), mp, b**2 * np.eye(d))
        cases.append(call(f"D={d}, scales {a:.3g} and {b:.3g}", f"{PRACTICE}.derive:kl_isotropic",
                          {"mean_q": mq, "scale_q": np.float64(a), "mean_p": mp, "scale_p": np.float64(b)},
                          lambda o, e=e, r=ref.kl(mp, b**2 * np.eye(d), mq, a**2 * np.eye(d)): compare(
                              o["value"], e, "kl_isotropic(mean_q, scale_q, mean_p, scale_p)",
                              mistakes=[(r, "that is KL(p || q); KL is not symmetric")])))
    return cases


def plan_sample_estimates(rng, variant):
    lp = rng.normal(-rng.uniform(1, 5), rng.uniform(0.5, 2), int(rng.integers(8, 30)))
    h, se, h_q = -np.mean(lp), np.std(lp, ddof=1) / np.sqrt(lp.size), float(rng.uniform(0.5, 2))
    wrong = [((h, np.std(lp) / np.sqrt(lp.size)), "the standard error uses the sample sd (ddof=1)"),
             ((-h, se), "H* = -(1/N) sum log m(x_i): check the sign"),
             ((h, np.std(lp, ddof=1)), "the standard error is sd / sqrt(N)")]
    judge = lambda e, w, text: lambda o: compare(np.array(pair(o["value"], text)), e, text, mistakes=w)  # noqa: E731
    return [call(f"H* of {lp.size} log-likelihoods (eq. 14)", f"{PRACTICE}.estimates:cross_entropy_estimate",
                 {"log_probs": lp}, judge((h, se), wrong, "cross_entropy_estimate(log_probs)")),
            call("D* = H* - H(q) (section 3.2.2)", f"{PRACTICE}.estimates:kl_estimate",
                 {"log_probs": lp, "entropy_q": np.float64(h_q)},
                 judge((h - h_q, se), [((h_q - h, se), "D* = H*(q, m) - H(q), in that order")],
                       "kl_estimate(log_probs, entropy_q)"))]


def plan_ood_bounds(rng, variant):
    frac, cases = variant["lower_fraction"], []
    for _ in range(2):
        scores, tpr = rng.normal(rng.normal(), rng.uniform(0.5, 2), int(rng.integers(500, 1500))), rng.uniform(0.8, 0.95)
        cases.append(call(f"{len(scores)} scores, tpr = {tpr:.4f}", f"{PRACTICE}.estimates:ood_bounds",
                          {"scores_in": scores, "tpr": np.float64(tpr)},
                          bounds_judge(scores, tpr, frac, f"ood_bounds(scores_in, tpr={tpr:.4f})")))
    return cases


def plan_typicality_test(rng, variant):
    m = int(rng.integers(3, 9))
    lp = rng.normal(-2, 1, m * int(rng.integers(10, 20)) + int(rng.integers(1, m)))
    h = float(rng.uniform(1.5, 2.5))
    n = lp.size // m
    eps = np.abs(-lp[:n * m].reshape(n, m).mean(axis=1) - h)
    thr = float(np.median(eps))
    inputs = {"log_probs": lp, "entropy": np.float64(h), "batch_size": np.int64(m)}
    return [call(f"{lp.size} scores in batches of {m} (a remainder dropped)", f"{PRACTICE}.estimates:typicality_statistic",
                 inputs, lambda o: compare(o["value"], eps, "typicality_statistic(log_probs, entropy, batch_size)",
                                           mistakes=[(np.abs(lp[:n * m].reshape(n, m).mean(axis=1) - h),
                                                      "the statistic compares the mean NEGATIVE log-likelihood")])),
            call("is_atypical at the median statistic", f"{PRACTICE}.estimates:is_atypical",
                 dict(inputs, threshold=np.float64(thr)), lambda o: compare(o["value"], eps > thr,
                                                                            "is_atypical(...)", mistakes=[
                     (eps >= thr, "atypical means eps > threshold, strictly")]))]
