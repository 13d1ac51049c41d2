"""Several seeds of one preset: each seed decided alone, then "reproduced in k of n seeds".

A seed is one whole run (its own distributions, training and test sets) in
``reproduction/<preset>/seed<k>/``. ``summarize`` takes the per-seed ``ClaimResult`` lists
(``claims.check_claims``) and keeps, per claim, every seed's verdict, every check's pass
count and key number, and every calibration line, so the report can show mean +- sd over seeds.

    runs = [check_claims(read_table(d + "/table.csv")) for d in seed_dirs("reproduction/quick")]
    for s in summarize(runs): print(s.id, s.verdict_text)      # C4 reproduced in 3 of 5 seeds ...
"""
import math
import os
import re
from dataclasses import dataclass, field

_SEED_DIR = re.compile(r"seed(\d+)$")


def seed_dirs(preset_dir):
    """The finished seed runs under ``preset_dir`` (seed<k>/ with a table.csv and a run.json), by k.

    run.json is written after table.csv (``run_files.write_outputs``): a run writing its outputs is not finished."""
    if not os.path.isdir(preset_dir):
        return []
    found = [(int(m.group(1)), os.path.join(preset_dir, name)) for name in os.listdir(preset_dir)
             if (m := _SEED_DIR.match(name))
             and all(os.path.isfile(os.path.join(preset_dir, name, f)) for f in ("table.csv", "run.json"))]
    return [path for _, path in sorted(found)]


def mean_sd(values):
    """(mean, sample sd) of the finite values; sd is nan for fewer than two, both nan for none."""
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not xs:
        return math.nan, math.nan
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else math.nan
    return m, sd


def fmt(x):
    """A number at the precision its size deserves (3 significant decimals below 1)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    a = abs(x)
    if a >= 1e5:  # a diverged fit, say: the exponent, not a row of digits
        return f"{x:.3g}"
    return f"{x:.0f}" if a >= 100 else f"{x:.1f}" if a >= 10 else f"{x:.2f}" if a >= 1 else f"{x:.3f}"


def fmt_pm(values):
    """"m +- sd" over seeds ("m" alone for one seed)."""
    m, sd = mean_sd(values)
    return fmt(m) if math.isnan(sd) else f"{fmt(m)} +- {fmt(sd)}"


@dataclass
class ClaimSummary:
    """One claim over n seeds: the per-seed verdicts, and per check / calibration line its per-seed values."""

    id: str
    section: str
    thesis: str
    rule: str
    seeds: list
    verdicts: list
    checks: dict = field(default_factory=dict)        # name -> [Check or None] per seed
    calibration: dict = field(default_factory=dict)   # name -> ([value or None] per seed, thesis figure)

    @property
    def n(self):
        return len(self.verdicts)

    def count(self, verdict):
        return sum(v == verdict for v in self.verdicts)

    @property
    def verdict_text(self):
        """"reproduced in k of n seeds" (", partly in m" where some seed was partly; "not evaluated" if none was)."""
        if self.count("not evaluated") == self.n:
            return "not evaluated"
        text = f"reproduced in {self.count('reproduced')} of {self.n} seed{'s' if self.n != 1 else ''}"
        return text + (f", partly in {self.count('partly')}" if self.count("partly") else "")

    def check_passes(self, name):
        """(seeds where the check passed, seeds where it was evaluated)."""
        found = [c for c in self.checks[name] if c is not None]
        return sum(bool(c.passed) for c in found), len(found)

    def check_values(self, name):
        return [c.value if c is not None else None for c in self.checks[name]]


def summarize(per_seed, seeds=None):
    """per_seed: one list of ClaimResult per seed (same claims, same order) -> list of ClaimSummary."""
    if not per_seed:
        raise ValueError("per_seed: no seed runs to summarize")
    seeds = list(range(len(per_seed))) if seeds is None else list(seeds)
    if len(seeds) != len(per_seed):
        raise ValueError(f"seeds: {len(seeds)} seeds for {len(per_seed)} runs")
    out = []
    for i, first in enumerate(per_seed[0]):
        claims = [run[i] for run in per_seed]
        if any(c.id != first.id for c in claims):
            raise ValueError(f"per_seed: the runs decide different claims ({[c.id for c in claims]})")
        s = ClaimSummary(first.id, first.section, first.thesis, first.rule, seeds, [c.verdict for c in claims])
        for k, c in enumerate(claims):
            for chk in c.checks:
                s.checks.setdefault(chk.name, [None] * len(claims))[k] = chk
            for cal in c.calibration:
                s.calibration.setdefault(cal.name, ([None] * len(claims), cal.thesis))[0][k] = cal.value
        out.append(s)
    return out
