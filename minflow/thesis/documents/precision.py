"""Does a float32 evaluation decide as the float64 one does? (issue 27: the preset ``make reproduce`` uses)

The thesis preset scores 360 test sets of 10^6 points with the trained flow; "thesis32" does the same
with log p_theta in float32 (``config.eval_dtype``) after the same float64 training. Two runs of one
seed, one per preset, train the same models bit for bit (their checkpoints' sha256 are compared), draw
the same points and compute the same true log p, so every difference between their tables is the
float32 evaluation's.

THE RULE (written and committed before either run's table was read; ``RULE``):
  the float32 preset agrees with the float64 preset when, for every one of the 360 cells,
  (1) every column that does not involve the model (analytic, true log p, TNR/AUROC of p) is equal;
  (2) every column of the model differs by less than its Monte Carlo standard error (``standard_errors``);
  (3) every claim's verdict and every check's pass/fail of claims.json is the same.
  If it holds, float32 evaluation is the preset of ``make reproduce``; float64 stays a preset and reported.

    rows = compare("reproduction/thesis32/seed0", "reproduction/precision/seed0-float64")
    write_agreement("reproduction/precision", run32, run64)   # agreement.csv, agreement.json
"""
import csv
import hashlib
import io
import os

import numpy as np

from ..pipeline import run_files
from ..pipeline.cells import CELL_KEY, TABLE_COLUMNS

RULE = ("every column without the model equal; every column of the model within one Monte Carlo standard "
        "error of float64's; every claim verdict and check the same")
# the columns that involve p_theta, each with how its standard error is computed (``standard_errors``)
MODEL_COLUMNS = ("Hs_qptheta", "Hs_qptheta_se", "Ds_qptheta", "Ds_qptheta_se", "gap", "gap_se",
                 "mean_logp_theta", "var_logp_theta", "tnr_ptheta", "auroc_ptheta",
                 "ref_mean_logp_theta", "ref_var_logp_theta", "train_kl")
SAME_COLUMNS = tuple(c for c in TABLE_COLUMNS if c not in MODEL_COLUMNS and c not in CELL_KEY)


def _rate_se(p, n):
    """sqrt(p (1 - p) / n), p kept within [1/n, 1 - 1/n] so that a rate of 0 or 1 still has one point's worth."""
    p = min(max(p, 1.0 / n), 1.0 - 1.0 / n)
    return float(np.sqrt(p * (1.0 - p) / n))


def _auroc_se(a, n):
    """Hanley and McNeil's (1982) standard error of an AUROC from n positives and n negatives."""
    a = min(max(a, 1.0 / n), 1.0 - 1.0 / n)
    q1, q2 = a / (2.0 - a), 2.0 * a * a / (1.0 + a)
    return float(np.sqrt((a * (1 - a) + (n - 1) * (q1 - a * a) + (n - 1) * (q2 - a * a)) / (n * n)))


def standard_errors(row):
    """{column: its Monte Carlo standard error} for the model's columns of one float64 table row.

    Means: their own se (sd / sqrt(N)); a variance v: v sqrt(2 / (N - 1)) (exact for Gaussian scores; the
    kurtosis of heavier tails would only widen it); an se s: s / sqrt(2 (N - 1)), likewise; rates and AUROC:
    binomial and Hanley-McNeil. N is the test set's size (Q(p)'s for the ref_ columns and train_kl)."""
    n = row["n_test"]
    ref_se = float(np.sqrt(row["ref_var_logp_theta"] / n))
    var_se = lambda v: v * float(np.sqrt(2.0 / (n - 1)))  # noqa: E731
    se_se = lambda s: s / float(np.sqrt(2.0 * (n - 1)))   # noqa: E731
    return {"Hs_qptheta": row["Hs_qptheta_se"], "Hs_qptheta_se": se_se(row["Hs_qptheta_se"]),
            "Ds_qptheta": row["Ds_qptheta_se"], "Ds_qptheta_se": se_se(row["Ds_qptheta_se"]),
            "gap": row["gap_se"], "gap_se": se_se(row["gap_se"]),
            "mean_logp_theta": row["Hs_qptheta_se"], "var_logp_theta": var_se(row["var_logp_theta"]),
            "tnr_ptheta": _rate_se(row["tnr_ptheta"], n), "auroc_ptheta": _auroc_se(row["auroc_ptheta"], n),
            "ref_mean_logp_theta": ref_se, "ref_var_logp_theta": var_se(row["ref_var_logp_theta"]),
            "train_kl": ref_se}


def compare(run32, run64):
    """One row per cell: its key, then for every model column the float32 - float64 difference and that
    difference in standard errors, and the columns without the model that differ (should be none).

    run32, run64: the two run folders (their table.csv)."""
    t32 = {tuple(r[k] for k in CELL_KEY): r for r in run_files.read_table(os.path.join(run32, "table.csv"))}
    t64 = {tuple(r[k] for k in CELL_KEY): r for r in run_files.read_table(os.path.join(run64, "table.csv"))}
    if set(t32) != set(t64):
        raise ValueError(f"run32, run64: the tables have other cells ({len(set(t32) ^ set(t64))} not in both)")
    rows = []
    for key in sorted(t64):
        a, b = t32[key], t64[key]
        se = standard_errors(b)
        row = dict(zip(CELL_KEY, key))
        for c in MODEL_COLUMNS:
            row[f"{c}_diff"] = a[c] - b[c]
            row[f"{c}_in_se"] = abs(a[c] - b[c]) / se[c] if se[c] > 0 else (0.0 if a[c] == b[c] else np.inf)
        row["unequal_without_model"] = " ".join(c for c in SAME_COLUMNS if a[c] != b[c])
        rows.append(row)
    return rows


def verdicts(run32, run64):
    """[(claim id, verdict float32, verdict float64, checks that pass in one and not the other)]."""
    c32 = {c["id"]: c for c in run_files.read_json(os.path.join(run32, "claims.json"), list)}
    c64 = {c["id"]: c for c in run_files.read_json(os.path.join(run64, "claims.json"), list)}
    out = []
    for cid in c64:
        a, b = c32.get(cid, {}), c64[cid]
        pa = {k["name"]: k["passed"] for k in a.get("checks", [])}
        flips = [k["name"] for k in b["checks"] if pa.get(k["name"]) != k["passed"]]
        out.append((cid, a.get("verdict"), b["verdict"], flips))
    return out


def model_digests(run_dir):
    """{D: sha256 of models/D{D}.npz} of a run folder (the models are not committed: None when absent)."""
    folder = os.path.join(run_dir, "models")
    if not os.path.isdir(folder):
        return None
    return {name[1:-4]: hashlib.sha256(open(os.path.join(folder, name), "rb").read()).hexdigest()
            for name in sorted(os.listdir(folder)) if name.startswith("D") and name.endswith(".npz")}


def decide(rows, claim_rows):
    """The rule applied -> {"agrees", "rule", "cells", "columns_unequal", "cells_beyond_se", "worst_in_se",
    "worst_abs_diff", "verdicts_differ"}."""
    unequal = sorted({c for r in rows for c in r["unequal_without_model"].split()})
    beyond = [r for r in rows if any(r[f"{c}_in_se"] >= 1.0 for c in MODEL_COLUMNS)]
    worst = {c: max(r[f"{c}_in_se"] for r in rows) for c in MODEL_COLUMNS}
    worst_abs = {c: max(abs(r[f"{c}_diff"]) for r in rows) for c in MODEL_COLUMNS}
    differ = [c for c in claim_rows if c[1] != c[2] or c[3]]
    return {"agrees": not unequal and not beyond and not differ, "rule": RULE, "cells": len(rows),
            "columns_unequal": unequal, "cells_beyond_se": len(beyond), "worst_in_se": worst,
            "worst_abs_diff": worst_abs, "verdicts_differ": [c[0] for c in differ]}


# --- the files and the report section ------------------------------------------------------------------
def write_agreement(out_dir, run32, run64):
    """agreement.csv (``compare``'s rows) and agreement.json (``decide``, the two runs, their models' sha256)
    into out_dir -> the decision."""
    rows, claim_rows = compare(run32, run64), verdicts(run32, run64)
    decision = decide(rows, claim_rows)
    d32, d64 = model_digests(run32), model_digests(run64)
    cfg32, cfg64 = (run_files.read_json(os.path.join(d, "config.json"), dict) for d in (run32, run64))
    decision.update({"float32_run": run32, "float64_run": run64, "seed": cfg64["seed"],
                     "settings_differ": sorted(k for k in cfg64 if cfg64[k] != cfg32.get(k)),
                     "same_models": None if d32 is None or d64 is None else d32 == d64, "models_sha256": d64,
                     "claims": [{"id": c[0], "float32": c[1], "float64": c[2], "checks_flipped": c[3]}
                                for c in claim_rows],
                     "seconds": {"float32": _seconds(run32), "float64": _seconds(run64)}})
    os.makedirs(out_dir, exist_ok=True)
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    run_files.write_text(os.path.join(out_dir, "agreement.csv"), text.getvalue())
    run_files.write_json(os.path.join(out_dir, "agreement.json"), decision)
    return decision


def _seconds(run_dir):
    """The run's busy seconds per stage (run.json), or None."""
    timing = run_files.read_json(os.path.join(run_dir, "run.json"), dict).get("timing", {})
    return {"wall_s": timing.get("last_invocation_wall_s"), "stages": timing.get("stage_seconds")}


def precision_section(root, rel):
    """REPRODUCTION.md's "Float32 evaluation" section from root/precision/agreement.json, or [] without it."""
    path = os.path.join(root, "precision", "agreement.json")
    if not os.path.isfile(path):
        return []
    a = run_files.read_json(path, dict)
    worst = a["worst_in_se"]
    col = max(worst, key=worst.get)
    verdict = "agrees" if a["agrees"] else "does not agree"
    models = {True: "the same bits (sha256 of every checkpoint equal)", False: "different bits",
              None: "not compared (a run folder lacks models/)"}[a["same_models"]]
    lines = ["## Float32 evaluation: the preset of `make reproduce`", "",
             f"The thesis preset's seed {a['seed']} was run twice, as `thesis` (float64 throughout) into "
             f"`{a['float64_run']}/` ([table.csv]({rel(os.path.join(a['float64_run'], 'table.csv'))})) and as "
             f"`thesis32` (the same float64 training, log p_theta in float32, every sum over the 10^6 points in "
             f"float64) into `{a['float32_run']}/` ([table.csv]({rel(os.path.join(a['float32_run'], 'table.csv'))})); "
             f"the settings differ in "
             f"{', '.join(a['settings_differ']) or 'nothing'}; the trained models: {models}.", "",
             f"**Rule** (committed before either table was read, `minflow/thesis/documents/precision.py`): {a['rule']}.",
             f"**Result: float32 {verdict}** over {a['cells']} cells: columns without the model unequal: "
             f"{', '.join(a['columns_unequal']) or 'none'}; cells with a model column one standard error or more "
             f"apart: {a['cells_beyond_se']}; claims whose verdict or checks differ: "
             f"{', '.join(a['verdicts_differ']) or 'none'}.", "",
             "| column | largest difference | largest difference / standard error |", "|---|---|---|"]
    lines += [f"| {c} | {a['worst_abs_diff'][c]:.2g} | {worst[c]:.2g} |" for c in MODEL_COLUMNS]
    lines += ["", f"The largest, {worst[col]:.2g} standard errors ({col}). Every cell's differences: "
              f"[reproduction/precision/agreement.csv]({rel(os.path.join(root, 'precision', 'agreement.csv'))}).",
              "", "| claim | float64 | float32 |", "|---|---|---|"]
    lines += [f"| {c['id']} | {c['float64']} | {c['float32']}{' (checks flipped: ' + ', '.join(c['checks_flipped']) + ')' if c['checks_flipped'] else ''} |"
              for c in a["claims"]]
    lines += ["", "Each run's time is in its run.json (they need not have run on an idle machine, so the two are "
              "not a speed comparison); benchmarks/RESULTS.md judges the 20-minute target on the thesis32 seeds."]
    return lines + [""]
