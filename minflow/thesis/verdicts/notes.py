"""Our reading of the claims (reproduction/NOTES.md), written as templates filled from the runs.

A paragraph of NOTES.md never states a measured number itself; it names it, and the report fills
it in from the committed seeds, so the prose cannot go stale when the runs change:

    {{thesis|C10|(c) perturbed s=1,t=0: TNR(p_theta) <= 0.10|pm}}   -> 0.352 +- 0.021
    {{quick|C4|verdict}}                                               -> reproduced in 2 of 5 seeds
    {{thesis|C8|D=50 (a) over-rated|sign:over-rates:under-rates}}      -> under-rates

Fields: preset (quick, thesis), claim id, the name of a check or calibration line of that claim
(as in REPRODUCTION.md), and what to show: ``mean``, ``sd``, ``pm`` (mean +- sd), ``min``, ``max``
(over seeds), ``k`` (seeds where the check passed), ``n`` (seeds where it was evaluated),
``fails`` (n - k), ``sign:A:B`` (A when the mean is > 0, else B), ``above:X:A:B`` (A when the mean is > X, else B),
``vs_thesis:A:B`` (A when the mean reaches the thesis's figure of a calibration line, else B), ``test`` (a one-sample
t-test and an exact sign test of a zero mean over the seeds, stated) and ``significant:A:B`` (A when that t-test
rejects a zero mean at ``LEVEL``, else B); ``verdict`` takes no name. An unknown field is an
error, not an empty string. ``hand_written_numbers`` finds the decimals a template states itself
(other than the thesis's own figures, section numbers, a rule's bar and grid values, which follow
"thesis ", "section ", "bar ", "s = " or "t = ").
"""
import os
import re

from scipy import stats

from .multiseed import fmt, fmt_pm, mean_sd

LEVEL = 0.05   # the significance level of ``significant``: below it, a mean over seeds is told from zero

_FIELD = re.compile(r"\{\{([^{}]+)\}\}")
_DECIMAL = re.compile(r"(?<![\w.])(\d+\.\d+)")
# the thesis's own figures, section numbers, a rule's bar and grid values (s = 0.25) are not measurements
_ALLOWED_BEFORE = re.compile(r"(thesis|sections?|eq\.|Fig\.|Figure|bar|\b[st]\s?=)\s*[(~]?$", re.I)


def read_notes(path):
    """{heading: text} from a Markdown file with "## C<k>" headings (and "## Capacity", "## Reading");
    "intro": the text before the first heading (lines starting with ">" are left out). Sections under
    any other "## " heading (the calibration log, say) are not pasted into the report."""
    if not os.path.exists(path):
        return {}
    text = open(path).read()
    parts = re.split(r"^## (.+?)\s*$", text, flags=re.M)
    notes = {parts[i]: " ".join(parts[i + 1].split()) for i in range(1, len(parts) - 1, 2)
             if re.fullmatch(r"C\d+|Capacity|Reading", parts[i])}
    intro = [line for line in parts[0].splitlines() if not line.startswith(("#", ">"))]
    notes["intro"] = " ".join(" ".join(intro).split())
    return notes


def render(text, summaries):
    """Fill every {{...}} of ``text`` from ``summaries`` ({preset: [ClaimSummary]}); a bad field -> ValueError."""
    return _FIELD.sub(lambda m: _value(m.group(1), summaries), text)


def _value(field, summaries):
    parts = [p.strip() for p in field.split("|")]
    if len(parts) == 3 and parts[2] == "verdict":
        return _claim(parts, summaries).verdict_text
    if len(parts) < 4:
        raise ValueError(f"NOTES.md: {{{{{field}}}}}: expected preset|claim|name|what or preset|claim|verdict")
    # a name may itself hold "|" (KL(q||p)): it is everything between the claim and the last field
    claim, name, what = _claim(parts, summaries), "|".join(parts[2:-1]), parts[-1]
    thesis = None
    if name in claim.checks:
        values = claim.check_values(name)
        passes = claim.check_passes(name)
    elif name in claim.calibration:
        (values, thesis), passes = claim.calibration[name], None
    else:
        raise ValueError(f"NOTES.md: {{{{{field}}}}}: {claim.id} has no check or calibration line {name!r}; it has "
                         f"{sorted(claim.checks) + sorted(claim.calibration)}")
    if what.startswith("vs_thesis:") and what.count(":") == 2 and thesis is not None:
        _, reach, miss = what.split(":")
        return reach if mean_sd([v for v in values if v is not None])[0] >= thesis else miss
    return _show(values, passes, what, field)


def _claim(parts, summaries):
    preset, cid = parts[0], parts[1]
    if preset not in summaries:
        raise ValueError(f"NOTES.md: no committed seeds of the preset {preset!r} (have {sorted(summaries)})")
    found = [s for s in summaries[preset] if s.id == cid]
    if not found:
        raise ValueError(f"NOTES.md: no claim {cid!r}")
    return found[0]


def _show(values, passes, what, field):
    xs = [v for v in values if v is not None]
    if what == "pm":
        return fmt_pm(xs)
    if what in ("mean", "sd"):
        return fmt(mean_sd(xs)[0 if what == "mean" else 1])
    if what in ("min", "max"):
        return fmt((min if what == "min" else max)(xs)) if xs else "n/a"
    if what in ("k", "n", "fails") and passes is not None:
        return str({"k": passes[0], "n": passes[1], "fails": passes[1] - passes[0]}[what])
    if what.startswith("sign:") and what.count(":") == 2:
        _, above, below = what.split(":")
        return above if mean_sd(xs)[0] > 0 else below
    if what.startswith("above:") and what.count(":") == 3:
        _, x, above, below = what.split(":")
        return above if mean_sd(xs)[0] > float(x) else below
    if what == "test":
        return test_text(xs)
    if what.startswith("significant:") and what.count(":") == 2:
        _, yes, no = what.split(":")
        return yes if zero_mean_p(xs) < LEVEL else no
    raise ValueError(f"NOTES.md: {{{{{field}}}}}: cannot show {what!r} (mean, sd, pm, min, max, k, n, fails, sign:A:B, "
                     "above:X:A:B, vs_thesis:A:B, test, significant:A:B)")


def zero_mean_p(xs):
    """Two-sided p of a one-sample t-test of a zero mean over the seeds (1 with fewer than two seeds)."""
    xs = [float(x) for x in xs]
    if len(xs) < 2:
        return 1.0
    return float(stats.ttest_1samp(xs, 0.0).pvalue) if len(set(xs)) > 1 else (0.0 if xs[0] != 0 else 1.0)


def sign_test_p(xs):
    """Two-sided p of an exact sign test (zeros left out) of a zero median over the seeds."""
    nonzero = [x for x in xs if x != 0]
    if not nonzero:
        return 1.0
    return float(stats.binomtest(sum(x > 0 for x in nonzero), len(nonzero), 0.5).pvalue)


def test_text(xs):
    """"mean/sd 5.5, one-sample t-test p = 0.0011; positive in 5 of 5 seeds, sign test p = 0.062" (two-sided)."""
    m, sd = mean_sd(xs)
    ratio = f"mean/sd {fmt(m / sd)}, " if sd and sd > 0 else ""
    return (f"{ratio}one-sample t-test of a zero mean p = {zero_mean_p(xs):.2g}; positive in {sum(x > 0 for x in xs)} "
            f"of {len(xs)} seeds, exact sign test p = {sign_test_p(xs):.2g} (both two-sided)")


def hand_written_numbers(text):
    """The decimals that ``text`` (a template) states itself, outside {{...}}, other than the thesis's
    figures and section/equation numbers (preceded by "thesis", "section", "eq.", ...)."""
    bare = _FIELD.sub(" FIELD ", text)
    return [m.group(1) for m in _DECIMAL.finditer(bare) if not _ALLOWED_BEFORE.search(bare[:m.start()])]
