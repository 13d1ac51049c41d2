"""Decide the findings C1-C10 of thesis-experiments.md from the tidy table.

The rules below were written down before any result of this project was looked at,
and they are not to be adjusted to make a claim pass. Each claim is a list of checks
(boolean, with the numbers that decided it); the verdict is fixed by the count:

    every check passes             -> "reproduced"
    at least half of them pass     -> "partly"
    fewer than half pass           -> "not reproduced"
    no check can be evaluated      -> "not evaluated" (the grid lacks the cells, e.g. no D = 50)

Shared conventions: ``sep = |2 AUROC - 1|`` in [0, 1] measures how well a score tells
a test set from Q(p) (0: the two KDEs coincide, 1: no overlap), in either direction.
Noise allowances use the standard errors stored in the table (Z = 3, or 4 where a
claim is tested on every one of the 288 cells at once).
"""
import math
from dataclasses import dataclass, field

from .lookup import cell, cell_per_dim, close, dims, rows

Z = 3.0          # standard errors allowed for "a <= b" statements on one cell
Z_ALL = 4.0      # the same when a check runs over every cell of the grid (288 tests)
VERDICTS = ("reproduced", "partly", "not reproduced", "not evaluated")

RULES = {
    "C1": "Per D, on Q(p) (generalisation s=1, t=0): (a) mean log p_theta <= mean log p + 3 se(gap); "
          "(b) small gap: Delta_HC <= 0.25 sd(log p), i.e. the KDEs are shifted by under a quarter of their width.",
    "C2": "Per D, every test set of every family: |H*(q,p) - H(q,p)| <= 4 se(H*(q,p)) "
          "(the same difference bounds |(H*(q,p) - H(q)) - KL(q||p)|).",
    "C3": "Per D, generalisation with t=0 over all s: (a) max_s gap - min_s gap <= 0.5 sd(log p over Q(p)); "
          "(b) Var(log p_theta)/Var(log p) within [2/3, 3/2] at every s.",
    "C4": "Per D, generalisation with s=1: (a) at every t>0, H*(q,p) - H*(q,p_theta) > 3 se (likelihood overestimated); "
          "(b) Delta_HC strictly increases along T; (c) at every t>0, D*(q||p_theta) < KL(q||p).",
    "C5": "D=20, generalisation s=0.75, t=0.25: (a) sep of log p_theta between Q(q) and Q(p) <= 0.2 "
          "(AUROC in [0.4, 0.6]); (b) TNR of p_theta at TPR 0.975 <= 0.10.",
    "C6": "Perturbed s=1, t=0: (a) per D, sep_p > sep_ptheta; (b) per D >= 50, sep_ptheta <= 0.1; "
          "(c) sep_ptheta does not increase with D (tolerance 0.02); (d) per D, sep_p >= 0.1 (p still tells them apart).",
    "C7": "Per D: (a) for >= 75% of the (s,t), |H*(q_delta,p_theta) - H*(q,p_theta)| < |H*(q_delta,p) - H*(q,p)| "
          "(the model registers less of the perturbation than the truth); (b) at the largest t of the grid "
          "(thesis: t=1) some s>1 has D*(q_delta||p_theta) < D*(q||p_theta).",
    "C8": "Outlier s=1, t=0, per D: (a) H*(q_out,p) - H*(q_out,p_theta) > 3 se (density overestimated); "
          "(b) sep_ptheta <= 0.5 (large overlap with Q(p)); (c) at D=100: mean log p_theta over Q(q_out) > over Q(p).",
    "C9": "Outlier family, per D: (a) at t=0, mean log p_theta strictly decreases as s grows; (b) at t=0, "
          "Var(log p_theta) strictly increases as s grows; (c) at s=1, mean log p_theta strictly decreases as t grows.",
    "C10": "D=50: (a) outliers, mean TNR(p_theta) over the grid <= 0.5; (b) outliers, mean TNR(p_theta) over s<1 "
           "< over s>=1; (c) outliers, mean TNR(p) >= 0.9; perturbed s=1,t=0: (d) TNR(p_theta) <= 0.10, "
           "(e) TNR(p) - TNR(p_theta) >= 0.10; perturbed s=0.25,t=0.5: (f) TNR(p_theta) <= 0.10, (g) TNR(p) >= 0.5.",
}

THESIS = {
    "C1": ("4", "On Q(p), E_p[log p_theta] <= E_p[log p] with a small gap for every D; the KDEs overlap."),
    "C2": ("3.2.1-2", "H*(q,p) matches the analytic H(q,p), and H*(q,p) - H(q) matches KL(q||p), for every q."),
    "C3": ("5.2.1", "Changing only s (t=0): Delta_HC stays roughly constant; Var(log p_theta) tracks Var(log p)."),
    "C4": ("5.2.2", "Increasing t (s=1): H*(q,p_theta) falls below H*(q,p), Delta_HC grows with t; D*(q||p_theta) < KL(q||p)."),
    "C5": ("5.2.3", "s=0.75, t=0.25 (D=20): the KDEs of log p_theta over Q(q) and over Q(p) overlap almost fully."),
    "C6": ("6.2.1", "Perturbed (s=1,t=0): log p_theta cannot tell Q(q_delta) from Q(p), more so as D grows "
                    "(indistinguishable for D>=50), while log p still can."),
    "C7": ("6.2.2", "For each (s,t), H*(q_delta,p_theta) stays close to H*(q,p_theta); for hard cases (t=1, s>1) "
                    "D*(q_delta||p_theta) can be below D*(q||p_theta)."),
    "C8": ("7.1", "Outliers: p_theta overestimates their density; log p_theta over Q(q_out) overlaps Q(p); "
                  "at D=100 outliers get a slightly higher mean log p_theta than training data."),
    "C9": ("7.1.1", "Outlier variants: smaller s raises log p_theta and shrinks its variance; larger s lowers it and "
                    "widens it; larger t lowers it."),
    "C10": ("8.2", "D=50, TPR 0.975: TNR of p_theta is poor on outliers (worst for s<1), about 0.98 with the true p; "
                   "perturbed s=1,t=0: 0.02 (p_theta) vs 0.38 (p); s=0.25,t=0.5: ~0 (p_theta) vs 0.91 (p)."),
}


@dataclass
class ClaimResult:
    """One claim decided: what the thesis says, the rule, every check with its numbers, the verdict."""

    id: str
    section: str
    thesis: str
    rule: str
    checks: list = field(default_factory=list)   # (name, measured text, passed)
    verdict: str = "not evaluated"

    @property
    def measured(self):
        return "; ".join(f"{name}: {text} [{'ok' if ok else 'FAIL'}]" for name, text, ok in self.checks)

    def as_dict(self):
        return {"id": self.id, "section": self.section, "thesis": self.thesis, "rule": self.rule,
                "checks": [{"name": n, "measured": m, "passed": bool(p)} for n, m, p in self.checks],
                "passed": sum(bool(p) for _, _, p in self.checks), "total": len(self.checks), "verdict": self.verdict}


def verdict(checks):
    """The fixed counting rule of the module docstring."""
    if not checks:
        return "not evaluated"
    passed = sum(bool(ok) for _, _, ok in checks)
    if passed == len(checks):
        return "reproduced"
    return "partly" if 2 * passed >= len(checks) else "not reproduced"


# --- shared measures (table lookups: lookup.py) ------------------------------
def sep(auroc):
    """|2 AUROC - 1|: 0 when a score cannot tell the two sets apart, 1 when it separates them fully."""
    return abs(2.0 * auroc - 1.0)


def _overestimate(r):
    """H*(q,p) - H*(q,p_theta) > Z se: the model gives the test set a higher mean log-likelihood."""
    diff = r["Hs_qp"] - r["Hs_qptheta"]
    return diff > Z * r["gap_se"], f"H*(q,p) - H*(q,p_theta) = {diff:.3f} (se {r['gap_se']:.3f})"


def _strict(values, increasing):
    pairs = list(zip(values, values[1:]))
    return all(b > a for a, b in pairs) if increasing else all(b < a for a, b in pairs)


def _fmt(values):
    return "[" + ", ".join(f"{v:.3g}" for v in values) + "]"


# --- the claims ---------------------------------------------------------------
def c1(table):
    out = []
    for d, r in cell_per_dim(table, "generalisation", 1.0, 0.0):
        diff = r["mean_logp_theta"] - r["mean_logp"]
        out.append((f"D={d} (a) E[log p_theta] <= E[log p]", f"{r['mean_logp_theta']:.3f} vs {r['mean_logp']:.3f}",
                    diff <= Z * r["gap_se"]))
        sd = math.sqrt(r["var_logp"])
        out.append((f"D={d} (b) small gap", f"Delta_HC = {r['gap']:.3f}, 0.25 sd = {0.25 * sd:.3f}", r["gap"] <= 0.25 * sd))
    return out


def c2(table):
    out = []
    for d in dims(table):
        errs = [(abs(r["Hs_qp"] - r["H_qp"]), r["Hs_qp_se"]) for r in rows(table, D=d)]
        worst = max(e / max(se, 1e-300) for e, se in errs)
        out.append((f"D={d} all {len(errs)} sets", f"max |H*-H| = {max(e for e, _ in errs):.4f} nats, "
                    f"max |H*-H|/se = {worst:.2f}", worst <= Z_ALL))
    return out


def c3(table):
    out = []
    for d in dims(table):
        rs = sorted(rows(table, D=d, family="generalisation", t=0.0), key=lambda r: r["s"])
        if len(rs) < 2:
            continue
        gaps = [r["gap"] for r in rs]
        sd = math.sqrt(rs[0]["ref_var_logp"])
        out.append((f"D={d} (a) gap range", f"gaps over s {_fmt(gaps)}, range {max(gaps) - min(gaps):.3f}, "
                    f"0.5 sd = {0.5 * sd:.3f}", max(gaps) - min(gaps) <= 0.5 * sd))
        ratios = [r["var_logp_theta"] / r["var_logp"] for r in rs]
        out.append((f"D={d} (b) variance ratio", f"Var ratio over s {_fmt(ratios)}", all(2 / 3 <= q <= 1.5 for q in ratios)))
    return out


def c4(table):
    out = []
    for d in dims(table):
        rs = sorted(rows(table, D=d, family="generalisation", s=1.0), key=lambda r: r["t"])
        shifted = [r for r in rs if r["t"] > 0]
        if not shifted:
            continue
        over = [_overestimate(r) for r in shifted]
        out.append((f"D={d} (a) overestimated at t>0", "; ".join(f"t={r['t']:g}: {txt}" for r, (_, txt) in zip(shifted, over)),
                    all(ok for ok, _ in over)))
        gaps = [r["gap"] for r in rs]
        out.append((f"D={d} (b) gap grows with t", f"gaps over t {_fmt(gaps)}", _strict(gaps, True)))
        out.append((f"D={d} (c) D* < KL", "; ".join(f"t={r['t']:g}: {r['Ds_qptheta']:.2f} vs {r['KL_qp']:.2f}" for r in shifted),
                    all(r["Ds_qptheta"] < r["KL_qp"] for r in shifted)))
    return out


def c5(table):
    r = cell(table, 20, "generalisation", 0.75, 0.25)
    if r is None:
        return []
    return [("(a) sep(p_theta) <= 0.2", f"AUROC = {r['auroc_ptheta']:.3f}, sep = {sep(r['auroc_ptheta']):.3f}",
             sep(r["auroc_ptheta"]) <= 0.2),
            ("(b) TNR(p_theta) <= 0.10", f"TNR = {r['tnr_ptheta']:.3f} (true p: {r['tnr_p']:.3f})", r["tnr_ptheta"] <= 0.10)]


def c6(table):
    out, seps = [], []
    for d, r in cell_per_dim(table, "perturbed", 1.0, 0.0):
        sp, st = sep(r["auroc_p"]), sep(r["auroc_ptheta"])
        seps.append(st)
        out.append((f"D={d} (a) sep_p > sep_ptheta", f"{sp:.3f} vs {st:.3f}", sp > st))
        if d >= 50:
            out.append((f"D={d} (b) sep_ptheta <= 0.1", f"{st:.3f}", st <= 0.1))
        out.append((f"D={d} (d) sep_p >= 0.1", f"{sp:.3f}", sp >= 0.1))
    if len(seps) >= 2:
        out.append(("(c) sep_ptheta not increasing in D", f"over D {_fmt(seps)}",
                    all(b <= a + 0.02 for a, b in zip(seps, seps[1:]))))
    return out


def c7(table):
    out = []
    for d in dims(table):
        pairs = [(r, cell(table, d, "perturbed", r["s"], r["t"])) for r in rows(table, D=d, family="generalisation")]
        pairs = [(q, qd) for q, qd in pairs if qd is not None]
        if not pairs:
            continue
        smaller = [abs(qd["Hs_qptheta"] - q["Hs_qptheta"]) < abs(qd["Hs_qp"] - q["Hs_qp"]) for q, qd in pairs]
        frac = sum(smaller) / len(smaller)
        out.append((f"D={d} (a) model change < true change", f"in {sum(smaller)}/{len(smaller)} (s,t) = {frac:.2f}",
                    frac >= 0.75))
        t_max = max(q["t"] for q, _ in pairs)
        hard = [(q, qd) for q, qd in pairs if close(q["t"], t_max) and q["s"] > 1]
        if hard:
            txt = "; ".join(f"s={q['s']:g}: {qd['Ds_qptheta']:.2f} vs {q['Ds_qptheta']:.2f}" for q, qd in hard)
            out.append((f"D={d} (b) t={t_max:g}, s>1: D*(q_delta) < D*(q) somewhere", txt,
                        any(qd["Ds_qptheta"] < q["Ds_qptheta"] for q, qd in hard)))
    return out


def c8(table):
    out = []
    for d, r in cell_per_dim(table, "outlier", 1.0, 0.0):
        ok, txt = _overestimate(r)
        out.append((f"D={d} (a) overestimated", txt, ok))
        out.append((f"D={d} (b) sep_ptheta <= 0.5", f"{sep(r['auroc_ptheta']):.3f} (true p: {sep(r['auroc_p']):.3f})",
                    sep(r["auroc_ptheta"]) <= 0.5))
        if d == 100:
            out.append(("D=100 (c) mean log p_theta: Q(q_out) > Q(p)",
                        f"{r['mean_logp_theta']:.2f} vs {r['ref_mean_logp_theta']:.2f}",
                        r["mean_logp_theta"] > r["ref_mean_logp_theta"]))
    return out


def c9(table):
    out = []
    for d in dims(table):
        t0 = min(r["t"] for r in rows(table, D=d, family="outlier")) if rows(table, D=d, family="outlier") else None
        by_s = sorted(rows(table, D=d, family="outlier", t=t0), key=lambda r: r["s"]) if t0 is not None else []
        if len(by_s) >= 2:
            means = [r["mean_logp_theta"] for r in by_s]
            vars_ = [r["var_logp_theta"] for r in by_s]
            out.append((f"D={d} (a) mean falls with s", f"over s {_fmt(means)}", _strict(means, False)))
            out.append((f"D={d} (b) variance grows with s", f"over s {_fmt(vars_)}", _strict(vars_, True)))
        by_t = sorted(rows(table, D=d, family="outlier", s=1.0), key=lambda r: r["t"])
        if len(by_t) >= 2:
            means = [r["mean_logp_theta"] for r in by_t]
            out.append((f"D={d} (c) mean falls with t", f"over t {_fmt(means)}", _strict(means, False)))
    return out


def c10(table):
    out = []
    outl = rows(table, D=50, family="outlier")
    if outl:
        mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)  # noqa: E731
        out.append(("(a) outliers: mean TNR(p_theta) <= 0.5", f"{mean(outl, 'tnr_ptheta'):.3f}", mean(outl, "tnr_ptheta") <= 0.5))
        small, large = [r for r in outl if r["s"] < 1], [r for r in outl if r["s"] >= 1]
        if small and large:
            a, b = mean(small, "tnr_ptheta"), mean(large, "tnr_ptheta")
            out.append(("(b) outliers: worst for s<1", f"mean TNR(p_theta) s<1: {a:.3f}, s>=1: {b:.3f}", a < b))
        out.append(("(c) outliers: mean TNR(p) >= 0.9", f"{mean(outl, 'tnr_p'):.3f} (min {min(r['tnr_p'] for r in outl):.3f})",
                    mean(outl, "tnr_p") >= 0.9))
    r = cell(table, 50, "perturbed", 1.0, 0.0)
    if r is not None:
        out.append(("(d) perturbed s=1,t=0: TNR(p_theta) <= 0.10", f"{r['tnr_ptheta']:.3f} (thesis 0.02)", r["tnr_ptheta"] <= 0.10))
        out.append(("(e) perturbed s=1,t=0: TNR(p) - TNR(p_theta) >= 0.10", f"{r['tnr_p']:.3f} - {r['tnr_ptheta']:.3f} "
                    "(thesis 0.38 - 0.02)", r["tnr_p"] - r["tnr_ptheta"] >= 0.10))
    r = cell(table, 50, "perturbed", 0.25, 0.5)
    if r is not None:
        out.append(("(f) perturbed s=0.25,t=0.5: TNR(p_theta) <= 0.10", f"{r['tnr_ptheta']:.3f} (thesis ~0)", r["tnr_ptheta"] <= 0.10))
        out.append(("(g) perturbed s=0.25,t=0.5: TNR(p) >= 0.5", f"{r['tnr_p']:.3f} (thesis 0.91)", r["tnr_p"] >= 0.5))
    return out


CLAIM_CHECKS = {"C1": c1, "C2": c2, "C3": c3, "C4": c4, "C5": c5, "C6": c6, "C7": c7, "C8": c8, "C9": c9, "C10": c10}


def check_claims(table):
    """Decide C1-C10 from the table (list of row dicts) -> list of ``ClaimResult``."""
    if not table:
        raise ValueError("table: empty; run the experiments first")
    results = []
    for cid, fn in CLAIM_CHECKS.items():
        section, thesis = THESIS[cid]
        checks = fn(table)
        results.append(ClaimResult(cid, section, thesis, RULES[cid], checks, verdict(checks)))
    return results
