"""What one run found, in sentences: the lessons' "This run vs the thesis" (lessons 5-9), per claim C1-C10.

Each fact is a dict {"kind": "trend" | "count" | "compare", "about", "values", "says", "text"} written from the
run's table; the tests recompute ``says`` from ``values``. Every bar a fact compares against is the rule's own:
read from its check (``claims.Check.bar`` and ``bar_text``) or from ``claims.BARS``, never restated here.

    for fact in claim_facts(table, "C3"): print(fact["text"])
    fit_standard_sentence(fit_standard(table))     # C1 (b): at which D the model fits p by the thesis's standard
"""
import re

from .claims import BARS, check_claims, sep

TRUTH_CATCHES = 0.9   # (a reading, not a rule) the true density's mean TNR on the outliers above this: it catches them


def trend_word(values, tol=0.0):
    """'rises' / 'falls' (strictly, step by step) or 'neither rises nor falls throughout'."""
    pairs = list(zip(values, values[1:]))
    if pairs and all(b > a + tol for a, b in pairs):
        return "rises"
    if pairs and all(b < a - tol for a, b in pairs):
        return "falls"
    return "neither rises nor falls throughout"


def _nums(values, fmt=".3f"):
    return ", ".join(format(v, fmt) for v in values)


def trend_fact(about, xs, x_name, values, fmt=".3f"):
    """A sentence on how ``values`` change along ``xs``, with the numbers; kind 'trend'."""
    word = trend_word(values)
    text = f"{about} {word} with {x_name} ({x_name} = {_nums(xs, 'g')}: {_nums(values, fmt)})"
    return {"kind": "trend", "about": about, "values": list(values), "says": word, "text": text}


def count_fact(about, values, positive, negative, where="cells"):
    """How many of ``values`` are positive; kind 'count'."""
    k, n = sum(v > 0 for v in values), len(values)
    if n == 1:
        text = f"{about} is {'positive' if k else 'negative'} ({positive if k else negative})"
    elif k == n:
        text = f"{about} is positive in all {n} {where} ({positive})"
    elif k == 0:
        text = f"{about} is negative in all {n} {where} ({negative})"
    else:
        text = f"{about} is positive ({positive}) in {k} of {n} {where} and negative ({negative}) in {n - k}"
    return {"kind": "count", "about": about, "values": list(values), "says": [k, n], "text": text}


def compare_fact(about, value, bound, above, below, fmt=".3f"):
    """``value`` against ``bound``; kind 'compare'. ``above``/``below``: what each side means."""
    side, meaning = ("above", above) if value > bound else ("not above", below)
    return {"kind": "compare", "about": about, "values": [value, bound], "says": "above" if value > bound else "below",
            "text": f"{about} is {format(value, fmt)}, {side} {format(bound, fmt)} ({meaning})"}


def _rows(table, **match):
    return [r for r in table if all(r[k] == v for k, v in match.items())]


def rule_checks(table, cid):
    """The checks (``claims.Check``) of claim ``cid`` as the rule decides them on ``table``."""
    return next(r for r in check_claims(table) if r.id == cid).checks


def _check_dim(check):
    m = re.match(r"D=(\d+) ", check.name)
    return int(m.group(1)) if m else None


def _facts_c1(table):
    rs = sorted(_rows(table, family="generalisation", s=1.0, t=0.0), key=lambda r: r["D"])
    gaps = [r["mean_logp"] - r["mean_logp_theta"] for r in rs]
    facts = [count_fact("E_p[log p] - E_p[log p_theta] on Q(p)", gaps, "the model gives Q(p) less likelihood than the "
                        "truth, as eq. 18 requires of its expectation", "a sampling fluctuation: eq. 18 bounds only "
                        "the expectation", where="dimensions")]
    facts[0]["text"] += f"; the gaps are {_nums(gaps)} nats at D = {_nums([r['D'] for r in rs], 'd')}, " + \
        "i.e. " + _nums([g / r["var_logp"] ** 0.5 for g, r in zip(gaps, rs)], ".2f") + " standard deviations of log p"
    return facts


def _facts_c3(table):
    facts = []
    checks = {_check_dim(c): c for c in rule_checks(table, "C3") if "(a)" in c.name}
    for d in sorted(k for k in checks if k is not None):
        rs = sorted(_rows(table, D=d, family="generalisation", t=0.0), key=lambda r: r["s"])
        gaps = [r["gap"] for r in rs]
        bar, how = checks[d].bar, checks[d].bar_text
        facts.append(compare_fact(f"D = {d}, t = 0: the range of Delta_HC over s ({_nums(gaps, '.2f')} nats)",
                                  max(gaps) - min(gaps), bar,
                                  f"the rule's bar {how} for 'roughly constant': the gap changes with s",
                                  f"within the rule's bar {how}: roughly constant in s, as in the thesis"))
    return facts


def fit_standard(table):
    """The thesis's own fit standard per D, as the rule of C1 (check (b), "small gap") decides it on ``table``:
    [{"D", "gap" (Delta_HC on Q(p), nats), "gap_sd" (in sd of log p), "bar", "how" (the rule's wording), "met"}]."""
    out = []
    for c in rule_checks(table, "C1"):
        if "(b)" not in c.name:
            continue
        d = _check_dim(c)
        r = _rows(table, D=d, family="generalisation", s=1.0, t=0.0)[0]
        out.append({"D": d, "gap": float(c.value), "gap_sd": c.value / r["var_logp"] ** 0.5, "bar": float(c.bar),
                    "how": c.bar_text, "met": bool(c.passed)})
    return out


def fit_standard_sentence(fits):
    """One sentence, from ``fit_standard``: at which D this run's model meets the thesis's fit standard, and by how
    much it misses it elsewhere."""
    if not fits:
        return ""
    how = fits[0]["how"]
    met = [f["D"] for f in fits if f["met"]]
    missed = [f for f in fits if not f["met"]]
    head = (f"By the fit standard of the thesis's finding C1 (its 'small gap', as check (b) of the rule decides it: "
            f"Delta_HC on Q(p) at most {how} of log p)")
    if not missed:
        return (f"{head}, this run's model fits p at every D here (" +
                ", ".join(f"D = {f['D']}: {f['gap']:.3f} nats, bar {f['bar']:.3f}" for f in fits) + ").")
    where = f"meets it at D = {_nums(met, 'd')} and " if met else ""
    return (f"{head}, this run's model {where}does not at D = {_nums([f['D'] for f in missed], 'd')} (" +
            "; ".join(f"D = {f['D']}: gap {f['gap']:.3f} nats = {f['gap_sd']:.2f} sd(log p), bar {f['bar']:.3f}, "
                      f"{f['gap'] / f['bar']:.2f} times the bar" for f in missed) +
            "): findings there rest on a model the thesis would not call fitted.")


def _facts_c4(table):
    shifted = sorted((r for r in _rows(table, family="generalisation", s=1.0) if r["t"] > 0),
                     key=lambda r: (r["D"], r["t"]))
    if not shifted:
        return []
    facts = [count_fact("at s = 1, t > 0, H*(q, p) - H*(q, p_theta)", [r["Hs_qp"] - r["Hs_qptheta"] for r in shifted],
                        "the model over-estimates the likelihood of the shifted set",
                        "the model under-estimates it")]
    for d in sorted({r["D"] for r in shifted}):
        rs = sorted(_rows(table, D=d, family="generalisation", s=1.0), key=lambda r: r["t"])
        facts.append(trend_fact(f"D = {d}: Delta_HC", [r["t"] for r in rs], "t", [r["gap"] for r in rs]))
    return facts


def _facts_c5(table):
    r = next(iter(_rows(table, D=20, family="generalisation", s=0.75, t=0.25)), None)
    if r is None:
        return []
    sep_check, tnr_check = rule_checks(table, "C5")   # (a) and (b): their bars are the rule's
    return [compare_fact("D = 20, s = 0.75, t = 0.25: the separability |2 AUROC - 1| of log p_theta between Q(q) "
                         "and Q(p)", sep(r["auroc_ptheta"]), sep_check.bar,
                         "the rule's bar: more separable than the thesis's 'overlap almost fully'",
                         "the rule's bar: the KDEs overlap almost fully, as in the thesis"),
            compare_fact("the TNR of the model's bounds on that set", r["tnr_ptheta"], tnr_check.bar,
                         "the rule's bar: some of it is caught", "the rule's bar: it is hardly caught, as in the thesis")]


def _facts_c6(table):
    rs = sorted(_rows(table, family="perturbed", s=1.0, t=0.0), key=lambda r: r["D"])
    if not rs:
        return []
    ds = [r["D"] for r in rs]
    return [trend_fact("the model's separability sep(log p_theta) of Q(q_delta(1, 0)) from Q(p)", ds, "D",
                       [sep(r["auroc_ptheta"]) for r in rs]),
            count_fact("sep(log p) - sep(log p_theta)", [sep(r["auroc_p"]) - sep(r["auroc_ptheta"]) for r in rs],
                       "the truth separates better than the model", "the model separates at least as well",
                       where="dimensions")]


def _facts_c7(table):
    facts = []
    for d in sorted({r["D"] for r in _rows(table, family="perturbed")}):
        diffs = []
        for q in _rows(table, D=d, family="generalisation"):
            qd = next(iter(_rows(table, D=d, family="perturbed", s=q["s"], t=q["t"])), None)
            if qd is not None:
                diffs.append(abs(qd["Hs_qp"] - q["Hs_qp"]) - abs(qd["Hs_qptheta"] - q["Hs_qptheta"]))
        if len(diffs) >= 2:
            facts.append(count_fact(f"D = {d}: (true change) - (model's change) of the cross-entropy under the "
                                    "perturbation", diffs, "the model registers less of it than the truth",
                                    "the model registers at least as much", where="(s, t)"))
    return facts


def _facts_c8(table):
    rs = sorted(_rows(table, family="outlier", s=1.0, t=0.0), key=lambda r: r["D"])
    if not rs:
        return []
    facts = [count_fact("for the outliers q_out(1, 0), H*(q_out, p) - H*(q_out, p_theta)",
                        [r["Hs_qp"] - r["Hs_qptheta"] for r in rs], "the model over-estimates their density",
                        "the model under-estimates it", where="dimensions"),
             trend_fact("the model's separability sep(log p_theta) of the outliers from Q(p)", [r["D"] for r in rs], "D",
                        [sep(r["auroc_ptheta"]) for r in rs])]
    big = [r for r in rs if r["D"] == 100]
    if big:
        r = big[0]
        facts.append(compare_fact("at D = 100, mean log p_theta over the outliers minus over Q(p)",
                                  r["mean_logp_theta"] - r["ref_mean_logp_theta"], 0.0,
                                  "the outliers get the higher mean, as in the thesis",
                                  "the outliers get the lower mean", fmt=".2f"))
    return facts


def _facts_c9(table):
    facts = []
    for d in sorted({r["D"] for r in _rows(table, family="outlier")}):
        out = _rows(table, D=d, family="outlier")
        t0 = min(r["t"] for r in out)
        by_s = sorted(_rows(table, D=d, family="outlier", t=t0), key=lambda r: r["s"])
        if len(by_s) >= 2:
            facts.append(trend_fact(f"D = {d}, t = {t0:g}: the mean log p_theta over the outliers", [r["s"] for r in by_s],
                                    "s", [r["mean_logp_theta"] for r in by_s], ".1f"))
        by_t = sorted(_rows(table, D=d, family="outlier", s=1.0), key=lambda r: r["t"])
        if len(by_t) >= 2:
            facts.append(trend_fact(f"D = {d}, s = 1: the mean log p_theta over the outliers", [r["t"] for r in by_t],
                                    "t", [r["mean_logp_theta"] for r in by_t], ".1f"))
    return facts


def _facts_c10(table):
    b, facts = BARS["C10"], []   # the rule's bars (a) on the outliers' mean TNR and (c) on the perturbed set's
    for d in sorted({r["D"] for r in table}):
        outl = _rows(table, D=d, family="outlier")
        if outl:
            facts.append(compare_fact(f"D = {d}: the mean TNR of the model's bounds over the outlier grid",
                                      sum(r["tnr_ptheta"] for r in outl) / len(outl), b["tnr_out"],
                                      "most outliers are caught", "most are missed, as in the thesis"))
            facts.append(compare_fact(f"D = {d}: the mean TNR of the true density's bounds over the outlier grid",
                                      sum(r["tnr_p"] for r in outl) / len(outl), TRUTH_CATCHES, "the truth catches them",
                                      "even the truth misses many"))
        r = next(iter(_rows(table, D=d, family="perturbed", s=1.0, t=0.0)), None)
        if r is not None:
            facts.append(compare_fact(f"D = {d}, perturbed (s = 1, t = 0): TNR of the model (thesis 0.02)",
                                      r["tnr_ptheta"], b["tnr"], "the model catches some of them",
                                      "the model hardly catches them, as in the thesis"))
    return facts


FACTS = {"C1": _facts_c1, "C3": _facts_c3, "C4": _facts_c4, "C5": _facts_c5, "C6": _facts_c6, "C7": _facts_c7,
         "C8": _facts_c8, "C9": _facts_c9, "C10": _facts_c10}


def claim_facts(table, cid):
    """The facts (dicts, above) that the run's ``table`` states on claim ``cid``; [] for a claim without any (C2)."""
    if cid not in BARS:
        raise ValueError(f"cid: no claim {cid!r}; the claims are {sorted(BARS)}")
    return FACTS[cid](table) if cid in FACTS else []
