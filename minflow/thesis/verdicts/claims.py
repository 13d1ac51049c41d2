"""Decide the findings C1-C10 of the thesis (N. de Bruin, TU Delft 2024,
https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91: sections 3.2, 4 and 5.2-8.2; each
finding's section is in ``claim_texts.THESIS``) from the tidy table of one run (rules v2).

Rules v2 (commit e53d849) were written after the v1 results had been seen; reproduction/RULES.md says what
changed from v1 and why, and REPRODUCTION.md which results predate them and which verdicts they moved. Each
claim is a list of checks of the model (``Check``: name, the numbers, passed, the key number) and of
calibration lines (``Calibration``: the true density's figure beside the thesis's), which never count. Every
bar is written once, in ``BARS``; ``check_claims(table, bars=...)`` moves some (robustness.py). Verdict of a
run: every check passes -> "reproduced"; at least half -> "partly"; fewer -> "not reproduced"; none can be
evaluated -> "not evaluated". Over n seeds each is decided alone (multiseed.py: "reproduced in k of n seeds").
C2 is a claim about the estimator H*(q, p) with the true density; its checks are its subject.
Conventions: ``sep = |2 AUROC - 1|`` (0: the KDEs coincide, 1: no overlap); ``over = H*(q, p) - H*(q, p_theta)``,
> 0 when the model rates a test set higher than the truth does. Noise allowances use the table's standard
errors (Z = 3; Z_ALL = 4 where a check runs over every cell of a D). Bars marked "(ours)" are not in the thesis.
"""
import math
from typing import NamedTuple

from .claim_texts import RULES, THESIS
from ..pipeline.lookup import cell, cell_per_dim, close, dims, rows

RULES_VERSION = 2
Z = 3.0
Z_ALL = 4.0
VERDICTS = ("reproduced", "partly", "not reproduced", "not evaluated")
OVER_SD = 0.05   # (ours) an over-rating must exceed 1/20 sd(log p over Q(p)), not only 3 se (0.03 nats at N = 1e6)
THESIS_T = (0.0, 0.25, 0.5, 0.75)  # the grid of eq. 19; the thesis's TNR averages (section 8.2) are over it
BARS = {   # every bar of rules v2, once: {claim: {bar: value}} (units: the claim's rule in claim_texts.RULES)
    "C1": {"gap_sd": 0.25}, "C2": {"z_all": Z_ALL}, "C3": {"gap_rel": 0.5, "gap_sd": 0.1},
    "C4": {"over_sd": OVER_SD}, "C5": {"sep": 0.2, "tnr": 0.10}, "C6": {"z": Z, "sep": 0.1, "tol": 0.02},
    "C7": {"frac": 0.75}, "C8": {"over_sd": OVER_SD, "sep": 0.5}, "C9": {},
    "C10": {"tnr_out": 0.5, "tnr": 0.10, "drop": 0.10},
}


class Check(NamedTuple):
    """One check of the model: ``value`` is its key number (reported as mean +- sd over seeds); ``bar`` the
    number it is held to (None for a trend or a comparison without one) and ``bar_text`` how the rule states
    that bar ("0.25 sd", "0.2"): what the lessons' sentences read (facts.py), never the printed ``measured``."""

    name: str
    measured: str
    passed: bool
    value: float = math.nan
    bar: float = None
    bar_text: str = None


class Calibration(NamedTuple):
    """The true density's figure beside the thesis's (``thesis`` None where the thesis gives none); never counted."""

    name: str
    value: float
    thesis: float = None


class ClaimResult(NamedTuple):
    """One claim decided on one run."""

    id: str
    section: str
    thesis: str
    rule: str
    checks: list
    calibration: list
    verdict: str

    @property
    def passed(self):
        return sum(bool(c.passed) for c in self.checks)

    def as_dict(self):
        return {"id": self.id, "section": self.section, "thesis": self.thesis, "rule": self.rule,
                "rules_version": RULES_VERSION, "verdict": self.verdict, "passed": self.passed, "total": len(self.checks),
                "checks": [{"name": c.name, "measured": c.measured, "passed": bool(c.passed), "value": _num(c.value)}
                           for c in self.checks],
                "calibration": [{"name": c.name, "value": _num(c.value), "thesis": c.thesis} for c in self.calibration]}


def _num(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def verdict(checks):
    """The fixed counting rule of the module docstring."""
    if not checks:
        return "not evaluated"
    passed = sum(bool(c.passed) for c in checks)
    if passed == len(checks):
        return "reproduced"
    return "partly" if 2 * passed >= len(checks) else "not reproduced"


# --- shared measures (table lookups: lookup.py) ------------------------------
def sep(auroc):
    """|2 AUROC - 1|: 0 when a score cannot tell the two sets apart, 1 when it separates them fully."""
    return abs(2.0 * auroc - 1.0)


def sep_se(r):
    """Standard error of sep when the two sets are alike: 2 sqrt((n + n + 1) / (12 n n)) (Mann-Whitney), n = n_test."""
    n = float(r["n_test"])
    return 2.0 * math.sqrt((2.0 * n + 1.0) / (12.0 * n * n))


def _over(r, name, over_sd):
    """The model over-rates the set: over = H*(q,p) - H*(q,p_theta) > max(Z se, over_sd sd(log p over Q(p)))."""
    over, bar = r["Hs_qp"] - r["Hs_qptheta"], max(Z * r["gap_se"], over_sd * math.sqrt(r["ref_var_logp"]))
    return Check(name, f"over = {over:.3f} nats (bar {bar:.3f}, ours)", over > bar, over, bar,
                 f"max({Z:g} se, {over_sd:g} sd)")


def _strict(values, increasing):
    pairs = list(zip(values, values[1:]))
    return all(b > a for a, b in pairs) if increasing else all(b < a for a, b in pairs)


def _fmt(values):
    return "[" + ", ".join(f"{v:.3g}" for v in values) + "]"


def _mean(rs, key):
    return sum(r[key] for r in rs) / len(rs)


# --- the claims: each -> (checks, calibration) ---------------------------------
def c1(table, b=BARS["C1"]):
    out = []
    for d, r in cell_per_dim(table, "generalisation", 1.0, 0.0):
        diff, sd = r["mean_logp_theta"] - r["mean_logp"], math.sqrt(r["var_logp"])
        out.append(Check(f"D={d} (a) E[log p_theta] <= E[log p]", f"{r['mean_logp_theta']:.3f} vs {r['mean_logp']:.3f}",
                         diff <= Z * r["gap_se"], diff, Z * r["gap_se"], f"{Z:g} se"))
        bar, how = b["gap_sd"] * sd, f"{b['gap_sd']:g} sd"
        out.append(Check(f"D={d} (b) small gap", f"Delta_HC = {r['gap']:.3f}, bar {how} = {bar:.3f} (ours)",
                         r["gap"] <= bar, r["gap"], bar, how))
    return out, []


def c2(table, b=BARS["C2"]):
    out = []
    for d in dims(table):
        errs = [(abs(r["Hs_qp"] - r["H_qp"]), r["Hs_qp_se"]) for r in rows(table, D=d)]
        worst = max(e / max(se, 1e-300) for e, se in errs)
        out.append(Check(f"D={d} all {len(errs)} sets", f"max |H*-H| = {max(e for e, _ in errs):.4f} nats, "
                         f"max |H*-H|/se = {worst:.2f} (bar {b['z_all']:g})", worst <= b["z_all"], worst, b["z_all"],
                         f"{b['z_all']:g}"))
    return out, []


def c3(table, b=BARS["C3"]):
    out = []
    for d in dims(table):
        rs = sorted(rows(table, D=d, family="generalisation", t=0.0), key=lambda r: r["s"])
        if len(rs) < 2:
            continue
        gaps = [r["gap"] for r in rs]
        spread, mean = max(gaps) - min(gaps), sum(gaps) / len(gaps)
        bar = max(b["gap_rel"] * mean, b["gap_sd"] * math.sqrt(rs[0]["ref_var_logp"]))
        how = f"max({b['gap_rel']:g} mean, {b['gap_sd']:g} sd)"
        out.append(Check(f"D={d} (a) gap roughly constant in s", f"gaps over s {_fmt(gaps)}, range {spread:.3f}, "
                         f"bar {how} = {bar:.3f} (ours)", spread <= bar, spread, bar, how))
        ratios = [r["var_logp_theta"] / r["var_logp"] for r in rs]
        out.append(Check(f"D={d} (b) variance ratio in [2/3, 3/2]", f"Var ratio over s {_fmt(ratios)} (ours)",
                         all(2 / 3 <= q <= 1.5 for q in ratios), max(abs(math.log(q)) for q in ratios)))
    return out, []


def c4(table, b=BARS["C4"]):
    out = []
    for d in dims(table):
        rs = sorted(rows(table, D=d, family="generalisation", s=1.0), key=lambda r: r["t"])
        shifted = [r for r in rs if r["t"] > 0]
        if not shifted:
            continue
        for r in shifted:
            out.append(_over(r, f"D={d} t={r['t']:g} (a) over-rated", b["over_sd"]))
        over = [r["Hs_qp"] - r["Hs_qptheta"] for r in rs]
        out.append(Check(f"D={d} (b) over grows with t", f"over along t {_fmt(over)}", _strict(over, True),
                         over[-1] - over[0]))
        out.append(Check(f"D={d} (c) D* < KL", "; ".join(f"t={r['t']:g}: {r['Ds_qptheta']:.2f} vs {r['KL_qp']:.2f}"
                                                      for r in shifted),
                         all(r["Ds_qptheta"] < r["KL_qp"] for r in shifted), shifted[-1]["Ds_qptheta"] - shifted[-1]["KL_qp"]))
    return out, []


def c5(table, b=BARS["C5"]):
    r = cell(table, 20, "generalisation", 0.75, 0.25)
    if r is None:
        return [], []
    st = sep(r["auroc_ptheta"])
    return ([Check(f"(a) sep(p_theta) <= {b['sep']:g}", f"sep = {st:.3f} (bar {b['sep']:g}, ours)", st <= b["sep"], st,
                   b["sep"], f"{b['sep']:g}"),
             Check(f"(b) TNR(p_theta) <= {b['tnr']:.2f}", f"TNR = {r['tnr_ptheta']:.3f} (bar {b['tnr']:.2f}, ours)",
                   r["tnr_ptheta"] <= b["tnr"], r["tnr_ptheta"], b["tnr"], f"{b['tnr']:.2f}")],
            [Calibration("sep(p)", sep(r["auroc_p"])), Calibration("TNR(p)", r["tnr_p"])])


def c6(table, b=BARS["C6"]):
    out, cal, seps = [], [], []
    for d, r in cell_per_dim(table, "perturbed", 1.0, 0.0):
        sp, st, noise = sep(r["auroc_p"]), sep(r["auroc_ptheta"]), b["z"] * sep_se(r)
        seps.append((st, noise))
        out.append(Check(f"D={d} (a) sep_p - sep_ptheta > {b['z']:g} se", f"{sp:.3f} - {st:.3f} = {sp - st:.3f} (bar {noise:.3f})",
                         sp - st > noise, sp - st, noise, f"{b['z']:g} se"))
        if d >= 50:
            out.append(Check(f"D={d} (b) sep_ptheta <= {b['sep']:g}", f"{st:.3f} (bar {b['sep']:g}, ours)", st <= b["sep"], st,
                             b["sep"], f"{b['sep']:g}"))
        cal.append(Calibration(f"D={d} sep_p", sp))
    if len(seps) >= 2:
        out.append(Check("(c) sep_ptheta not increasing in D",
                         f"over D {_fmt([s for s, _ in seps])} (tolerance {b['tol']:g} + {b['z']:g} se, ours)",
                         all(y <= x + b["tol"] + n for (x, _), (y, n) in zip(seps, seps[1:])), seps[-1][0] - seps[0][0]))
    return out, cal


def c7(table, b=BARS["C7"]):
    out, cal = [], []
    for d in dims(table):
        pairs = [(r, cell(table, d, "perturbed", r["s"], r["t"])) for r in rows(table, D=d, family="generalisation")]
        pairs = [(q, qd) for q, qd in pairs if qd is not None]
        if not pairs:
            continue
        smaller = [abs(qd["Hs_qptheta"] - q["Hs_qptheta"]) < abs(qd["Hs_qp"] - q["Hs_qp"]) for q, qd in pairs]
        frac = sum(smaller) / len(smaller)
        out.append(Check(f"D={d} (a) model change < true change", f"in {sum(smaller)}/{len(smaller)} (s,t) = {frac:.2f} "
                         f"(bar {b['frac']:g}, ours)", frac >= b["frac"], frac, b["frac"], f"{b['frac']:g}"))
        hard = [(q, qd) for q, qd in pairs if close(q["t"], 1.0) and q["s"] > 1]
        if hard:
            diffs = [qd["Ds_qptheta"] - q["Ds_qptheta"] for q, qd in hard]
            txt = "; ".join(f"s={q['s']:g}: {qd['Ds_qptheta']:.2f} vs {q['Ds_qptheta']:.2f}" for q, qd in hard)
            out.append(Check(f"D={d} (b) t=1, s>1: D*(q_delta) < D*(q) somewhere", txt, min(diffs) < 0, min(diffs)))
            cal.append(Calibration(f"D={d} t=1, s>1: min KL(q_delta||p) - KL(q||p)",
                                   min(qd["KL_qp"] - q["KL_qp"] for q, qd in hard)))
    return out, cal


def c8(table, b=BARS["C8"]):
    out, cal = [], []
    for d, r in cell_per_dim(table, "outlier", 1.0, 0.0):
        out.append(_over(r, f"D={d} (a) over-rated", b["over_sd"]))
        st = sep(r["auroc_ptheta"])
        out.append(Check(f"D={d} (b) sep_ptheta <= {b['sep']:g}", f"{st:.3f} (bar {b['sep']:g}, ours)", st <= b["sep"], st,
                         b["sep"], f"{b['sep']:g}"))
        cal.append(Calibration(f"D={d} sep_p", sep(r["auroc_p"])))
        if d == 100:
            diff = r["mean_logp_theta"] - r["ref_mean_logp_theta"]
            se = math.sqrt((r["var_logp_theta"] + r["ref_var_logp_theta"]) / r["n_test"])
            out.append(Check("D=100 (c) mean log p_theta: Q(q_out) > Q(p)",
                             f"{r['mean_logp_theta']:.2f} - {r['ref_mean_logp_theta']:.2f} = {diff:.3f} (bar 3 se = {Z * se:.3f})",
                             diff > Z * se, diff, Z * se, f"{Z:g} se"))
    return out, cal


def c9(table, b=BARS["C9"]):
    out, cal = [], []
    for d in dims(table):
        outl = rows(table, D=d, family="outlier")
        if not outl:
            continue
        by_s = sorted(rows(table, D=d, family="outlier", t=min(r["t"] for r in outl)), key=lambda r: r["s"])
        by_t = sorted(rows(table, D=d, family="outlier", s=1.0), key=lambda r: r["t"])
        trends = [("(a) mean falls with s", by_s, "mean_logp_theta", "mean_logp", False),
                  ("(b) variance grows with s", by_s, "var_logp_theta", "var_logp", True),
                  ("(c) mean falls with t", by_t, "mean_logp_theta", "mean_logp", False)]
        for name, rs, key, true_key, increasing in trends:
            if len(rs) < 2:
                continue
            vals = [r[key] for r in rs]
            out.append(Check(f"D={d} {name}", f"{_fmt(vals)}", _strict(vals, increasing), vals[-1] - vals[0]))
            cal.append(Calibration(f"D={d} {name} with log p (1 = yes)", float(_strict([r[true_key] for r in rs], increasing))))
    return out, cal


def c10(table, b=BARS["C10"]):
    out, cal = [], []
    outl = [r for r in rows(table, D=50, family="outlier") if any(close(r["t"], t) for t in THESIS_T)]
    if outl:
        m = _mean(outl, "tnr_ptheta")
        out.append(Check(f"(a) outliers: mean TNR(p_theta) <= {b['tnr_out']:g}", f"{m:.3f} (bar {b['tnr_out']:g}, ours)",
                         m <= b["tnr_out"], m, b["tnr_out"], f"{b['tnr_out']:g}"))
        small, large = [r for r in outl if r["s"] < 1], [r for r in outl if r["s"] >= 1]
        if small and large:
            lo, hi = _mean(small, "tnr_ptheta"), _mean(large, "tnr_ptheta")
            out.append(Check("(b) outliers: worst for s<1", f"mean TNR(p_theta) s<1: {lo:.3f}, s>=1: {hi:.3f}", lo < hi, lo - hi))
        cal += [Calibration("outliers: mean TNR(p)", _mean(outl, "tnr_p"), 0.98),
                Calibration("outliers: min TNR(p)", min(r["tnr_p"] for r in outl), 0.96)]
    for (s, t), letters, thesis in (((1.0, 0.0), "cd", (0.02, 0.38)), ((0.25, 0.5), "ef", (0.0, 0.91))):
        r = cell(table, 50, "perturbed", s, t)
        if r is None:
            continue
        where = f"perturbed s={s:g},t={t:g}"
        out.append(Check(f"({letters[0]}) {where}: TNR(p_theta) <= {b['tnr']:.2f}",
                         f"{r['tnr_ptheta']:.3f} (thesis {thesis[0]:g}; bar {b['tnr']:.2f}, ours)", r["tnr_ptheta"] <= b["tnr"], r["tnr_ptheta"],
                         b["tnr"], f"{b['tnr']:.2f}"))
        drop = r["tnr_p"] - r["tnr_ptheta"]
        out.append(Check(f"({letters[1]}) {where}: TNR(p) - TNR(p_theta) >= {b['drop']:.2f}", f"{r['tnr_p']:.3f} - {r['tnr_ptheta']:.3f} "
                         f"= {drop:.3f} (thesis {thesis[1] - thesis[0]:.2f}; bar {b['drop']:.2f}, ours)", drop >= b["drop"], drop,
                         b["drop"], f"{b['drop']:.2f}"))
        cal.append(Calibration(f"{where}: TNR(p)", r["tnr_p"], thesis[1]))
    return out, cal


CLAIM_CHECKS = {"C1": c1, "C2": c2, "C3": c3, "C4": c4, "C5": c5, "C6": c6, "C7": c7, "C8": c8, "C9": c9, "C10": c10}


def check_claims(table, bars=None):
    """Decide C1-C10 from one run's table (list of row dicts) -> list of ``ClaimResult``.

    ``bars``: {claim: {bar: value}} moved from ``BARS`` (robustness.py); None decides by rules v2 as they are."""
    if not table:
        raise ValueError("table: empty; run the experiments first")
    bars, results = bars or {}, []
    unknown = {(c, k) for c, moved in bars.items() for k in moved if k not in BARS.get(c, {})}
    if unknown:
        raise ValueError(f"bars: no such bar {sorted(unknown)}; the bars are {BARS}")
    for cid, fn in CLAIM_CHECKS.items():
        section, thesis = THESIS[cid]
        checks, calibration = fn(table, {**BARS[cid], **bars.get(cid, {})})
        results.append(ClaimResult(cid, section, thesis, RULES[cid], checks, calibration, verdict(checks)))
    return results
