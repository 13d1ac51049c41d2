"""The thesis's future work, second item: do the trends in D of C6, C8 and C10 continue above D = 100?

The thesis "anticipates" its results to hold in higher dimensions (section 9). The ``high`` preset
runs D = 200 and 500 with the quick preset's model, training and test-set size; D = 10-100 come
from the quick seeds. ``markdown`` puts the numbers behind C6, C8 and C10 side by side per D (mean
+- sd over seeds) and words each trend from them.

    python -m minflow reproduce --preset high --seeds 3 --workers 2     # make high-d
"""
import os

import math

from ..verdicts.claims import BARS, THESIS_T, sep
from ..pipeline.lookup import cell, close, rows, train_kl
from ..verdicts.multiseed import fmt_pm, mean_sd, seed_dirs
from .report import load_run

THESIS_TREND = {   # (the model's quantity, the direction the thesis reports with growing D, where)
    "sep_theta_perturbed": ("falls", "C6, section 6.2.1: log p_theta tells Q(q_delta) from Q(p) less well as D grows"),
    "over_outlier": ("rises", "C8, section 7.1: outliers get a higher likelihood, above the training data's at D = 100"),
    "tnr_theta_perturbed": ("falls", "C10, section 8.2: TNR(p_theta) on q_delta(1, 0) is 0.02 at D = 50"),
}
FIT_BAR = BARS["C1"]["gap_sd"]   # our own fit standard, C1 (b): the gap on Q(p) in units of sd(log p)
LABELS = {"train_kl": "train KL (nats)", "fit_sd": f"C1 fit: gap on Q(p) / sd(log p) (our bar {FIT_BAR:g})", "sep_theta_perturbed": "C6: sep(p_theta), perturbed (1, 0)",
          "sep_p_perturbed": "C6 calibration: sep(p), perturbed (1, 0)",
          "over_outlier": "C8: over = H*(q,p) - H*(q,p_theta), outliers (1, 0)",
          "tnr_theta_perturbed": "C10: TNR(p_theta), perturbed (1, 0)", "tnr_p_perturbed": "C10 calibration: TNR(p), perturbed (1, 0)",
          "tnr_theta_outliers": "C10: mean TNR(p_theta), outliers (t <= 0.75)",
          "tnr_p_outliers": "C10 calibration: mean TNR(p), outliers (t <= 0.75)"}


def numbers(table, d):
    """The quantities of ``LABELS`` at dimension d of one run's table."""
    pt, o, g = cell(table, d, "perturbed", 1.0, 0.0), cell(table, d, "outlier", 1.0, 0.0), cell(table, d, "generalisation", 1.0, 0.0)
    outl = [r for r in rows(table, D=d, family="outlier") if any(close(r["t"], t) for t in THESIS_T)]
    return {"train_kl": train_kl(table, d), "fit_sd": g["gap"] / math.sqrt(g["var_logp"]),
            "sep_theta_perturbed": sep(pt["auroc_ptheta"]), "sep_p_perturbed": sep(pt["auroc_p"]),
            "over_outlier": o["Hs_qp"] - o["Hs_qptheta"],
            "tnr_theta_perturbed": pt["tnr_ptheta"], "tnr_p_perturbed": pt["tnr_p"],
            "tnr_theta_outliers": sum(r["tnr_ptheta"] for r in outl) / len(outl),
            "tnr_p_outliers": sum(r["tnr_p"] for r in outl) / len(outl)}


def per_dim(root="reproduction"):
    """{D: {quantity: [value per seed]}} over the quick and the high seeds, D ascending, and
    {preset: {"seeds": how many, "dims": its D, "n_test": its test-set size}}."""
    out, presets = {}, {}
    for preset in ("quick", "high"):
        runs = [load_run(d_run) for d_run in seed_dirs(os.path.join(root, preset))]
        presets[preset] = {"seeds": len(runs), "dims": sorted({d for run in runs for d in run["config"].dims}),
                           "n_test": runs[0]["config"].n_test if runs else None}
        for run in runs:
            for d in run["config"].dims:
                for key, value in numbers(run["table"], d).items():
                    out.setdefault(d, {}).setdefault(key, []).append(value)
    return dict(sorted(out.items())), presets


def _direction(values):
    if all(b > a for a, b in zip(values, values[1:])):
        return "rises"
    if all(b < a for a, b in zip(values, values[1:])):
        return "falls"
    return "is not monotone"


def markdown(root="reproduction"):
    """The higher-D section of REPRODUCTION.md, or [] until the high preset has run."""
    if not seed_dirs(os.path.join(root, "high")):
        return []
    data, presets = per_dim(root)
    dims = list(data)
    n_high, high, n_test = (presets["high"][k] for k in ("seeds", "dims", "n_test"))
    lines = ["## Higher dimensions (the thesis's future work, beyond the thesis)", "",
             f"D = {', '.join(map(str, high))} from the `high` preset ({n_high} seed{'s' if n_high != 1 else ''}; the quick preset's "
             f"model, training and N = {n_test:,} test points per set, reduced from the thesis's 1,000,000), "
             "lower D from the quick seeds. Mean +- sd over seeds:", "",
             "| quantity | " + " | ".join(f"D = {d}" for d in dims) + " |", "| --- |" + " --- |" * len(dims)]
    for key, label in LABELS.items():
        lines.append(f"| {label} | " + " | ".join(fmt_pm(data[d].get(key, [])) for d in dims) + " |")
    lines.append("")
    top = [d for d in dims if d not in high][-1:] + high   # the largest quick D, then the high ones
    for key, (thesis_dir, what) in THESIS_TREND.items():
        means = [mean_sd(data[d][key])[0] for d in top]
        direction = _direction(means)
        verdict = "as the thesis's trend" if direction == thesis_dir else "unlike the thesis's trend"
        lines.append(f"- {LABELS[key]}: from D = {top[0]} to {top[-1]} it {direction} "
                     f"({' -> '.join(fmt_pm([m]) for m in means)}), {verdict} ({what}).")
    return lines + [fit_sentence({d: data[d]["fit_sd"] for d in high}), ""]


def fit_sentence(fits):
    """The fit of the high-D models against our own bar, from {D: [gap / sd(log p) per seed]}."""
    met = {d: sum(v <= FIT_BAR for v in values) for d, values in fits.items()}
    per_d = "; ".join(f"D = {d}: {fmt_pm(values)} sd(log p), within the bar in {met[d]} of {len(values)} seeds"
                      for d, values in fits.items())
    if all(met[d] == len(v) for d, v in fits.items()):
        words = "every model meets it, so these trends are those of flows that fit p by our standard"
    elif not any(met.values()):
        words = ("no model meets it, so these trends are those of flows that miss the fit standard the quick and "
                 "thesis presets meet, not evidence about well-fitted flows")
    else:
        words = "only some models meet it, so these trends mix flows that fit p by our standard with flows that miss it"
    return f"- The fit of these models against our own bar (C1 (b): gap on Q(p) <= {FIT_BAR:g} sd(log p)): {per_d}: {words}."
