"""How much hangs on a bar: every claim re-decided with one of its bars moved over a range.

The bars are those of ``claims.BARS`` (written there once); ``SWEEPS`` only names, per claim, which bar to
move and over which values (the rules-v2 value among them). Each value decides every seed of a preset
alone by the claim's own checks and the fixed counting rule (``claims.verdict``), so at the rules-v2
value the line repeats the report's verdict; elsewhere it shows where that verdict would change.

    line = robustness_line("C3", [run["table"] for run in runs])   # one line of REPRODUCTION.md
"""
from .claims import BARS, CLAIM_CHECKS, verdict

# claim -> [(bar of claims.BARS[claim], what it is, the values to try)]; C9's trends have no bar to move
SWEEPS = {
    "C1": [("gap_sd", "(b)'s bar on the gap, in sd(log p)", (0.05, 0.1, 0.25, 0.5, 1.0))],
    "C2": [("z_all", "the bar, in standard errors of H*", (2.0, 3.0, 4.0, 6.0, 8.0))],
    "C3": [("gap_sd", "(a)'s floor on the gap's range over s, in sd(log p)", (0.1, 0.2, 0.5, 1.0))],
    "C4": [("over_sd", "(a)'s floor on the over-rating, in sd(log p)", (0.0, 0.02, 0.05, 0.1, 0.2))],
    "C5": [("sep", "(a)'s bar on sep(p_theta)", (0.1, 0.2, 0.3, 0.5)),
           ("tnr", "(b)'s bar on TNR(p_theta)", (0.05, 0.1, 0.2))],
    "C6": [("sep", "(b)'s bar on sep(p_theta)", (0.05, 0.1, 0.2, 0.5, 0.9)),
           ("z", "(a)'s margin, in se of sep", (0.0, 1.0, 3.0, 5.0))],
    "C7": [("frac", "(a)'s share of the (s, t)", (0.5, 0.6, 0.75, 0.9))],
    "C8": [("over_sd", "(a)'s floor on the over-rating, in sd(log p)", (0.0, 0.02, 0.05, 0.1, 0.2)),
           ("sep", "(b)'s bar on sep(p_theta)", (0.25, 0.5, 0.75, 0.95))],
    "C9": [],
    "C10": [("tnr", "(c), (e)'s bar on TNR(p_theta)", (0.05, 0.1, 0.15, 0.2)),
            ("drop", "(d), (f)'s bar on TNR(p) - TNR(p_theta)", (0.05, 0.1, 0.2)),
            ("tnr_out", "(a)'s bar on the outliers' mean TNR(p_theta)", (0.25, 0.5, 0.75))],
}


def decide(table, cid, moved=None):
    """The verdict of claim ``cid`` on one table with the bars ``moved`` ({bar: value}) and the rest at rules v2."""
    checks, _ = CLAIM_CHECKS[cid](table, {**BARS[cid], **(moved or {})})
    return verdict(checks)


def counts(tables, cid, moved=None):
    """(seeds reproduced, seeds partly, seeds) of claim ``cid`` over the tables of one preset."""
    found = [decide(t, cid, moved) for t in tables]
    return found.count("reproduced"), found.count("partly"), len(found)


def sweep(tables, cid, bar, values):
    """[(value, counts)] of one bar of claim ``cid`` over ``values``."""
    return [(v, counts(tables, cid, {bar: v})) for v in values]


def count_text(c):
    """(2, 1, 4) -> "2/4 (partly 1)"."""
    k, partly, n = c
    return f"{k}/{n}" + (f" (partly {partly})" if partly else "")


def sweep_text(cid, bar, what, results):
    """One bar's part of the line: "what: v1 -> 0/4; v2 (rules v2) -> 1/4; ... (the same over the range)"."""
    parts = [f"{v:g}{' (rules v2)' if v == BARS[cid][bar] else ''} -> {count_text(c)}" for v, c in results]
    same = len({c for _, c in results}) == 1
    return f"{what}: " + "; ".join(parts) + (" (the same over the whole range)" if same else "")


def robustness_line(cid, tables):
    """The robustness line of claim ``cid`` over one preset's seed tables (seeds reproduced at each bar)."""
    if not SWEEPS[cid]:
        return "*Robustness:* no bar to move (strict trends, decided by their sign alone)."
    parts = [sweep_text(cid, bar, what, sweep(tables, cid, bar, values)) for bar, what, values in SWEEPS[cid]]
    return "*Robustness* (seeds reproduced as one bar moves, the others at rules v2): " + " | ".join(parts) + "."


# --- checks the test set cannot decide: the true density itself lacks the property (C9's trends) ---------
TRUE_DENSITY = " with log p (1 = yes)"   # claims.c9: the calibration line of a check is its name + this


def untestable(summary):
    """{check name: [True per seed where log p itself lacks the property the check asks of p_theta]}."""
    out = {}
    for name in summary.checks:
        values = summary.calibration.get(name + TRUE_DENSITY, ([], None))[0]
        if any(v == 0 for v in values):
            out[name] = [v == 0 for v in values]
    return out


def testable_counts(summary):
    """(reproduced, partly, seeds) with the untestable checks of each seed left out (not rules v2: its size only)."""
    skip, found = untestable(summary), []
    for k in range(summary.n):
        kept = [c[k] for name, c in summary.checks.items() if c[k] is not None and not skip.get(name, [False] * summary.n)[k]]
        found.append(verdict(kept))
    return found.count("reproduced"), found.count("partly"), len(found)


def untestable_text(summary):
    """The sentence under a claim with untestable checks ("" when it has none)."""
    skip = untestable(summary)
    if not skip:
        return ""
    where = "; ".join(f"{name} in {sum(flags)} of {len(flags)} seeds" for name, flags in skip.items())
    k, partly, n = testable_counts(summary)
    return (f"*Not testable on this set* (n/t; the true density itself lacks the property there): {where}. Rules v2 count "
            f"these checks; without them (not a rule, only the size of the effect) the claim would be reproduced in "
            f"{k} of {n} seeds" + (f", partly in {partly}" if partly else "") + ".")
