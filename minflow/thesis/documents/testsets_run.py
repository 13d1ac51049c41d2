"""Run the pre-registered test-set construction sweep (``testsets.SWEEP``) and decide it by ``testsets.decide``.

    run_testsets(SWEEP, "reproduction/testsets")    # -> path of points.csv

One task per (seed, basis, kappa), run in this process, seed by seed: fit the two perturbation strengths
on the true density (``testsets.fit_strength``), train one core flow at ``preset("thesis").training`` with
``sweep.epochs`` epochs, score it on Q(p) and the two fitted perturbed sets (fresh draws, ``n_eval`` each).
Generators: ``cells.rng_for(seed, "testsets", basis, kappa, ...)``: no task depends on which others ran
or on a resume. out_dir (files atomic): sweep.json (a resume with other settings is refused);
points/seed{k}_{basis}_k{kappa}.json (a finished task; written last, marks it done); points.csv
(``COLUMNS``); decision.json (``decide``, the rule, the settings); run.json (versions, wall time,
seconds per task).
"""
import json
import os
import sys
import time
from dataclasses import asdict, replace

import numpy as np

from ...flow import RealNVP
from ...spec import RealNVPSpec
from ...train import fit
from .. import ood
from ..gaussians import correlation_summary
from ..pipeline import run_files
from ..pipeline.cells import rng_for
from ..pipeline.config import preset
from ..pipeline.runner import Progress
from .regimes import tnr_key
from .regimes_run import _bounds, _log_prob, _write_if_changed, points_csv
from .testsets import (FIT_TOL, GAP_BAR, MIN_SEEDS, PERTURBED, TARGET_TNR_P, TNR_BAR, TestsetSweep,
                       construction, decide, fit_strength, perturbed)

# a smoke test of the whole pipeline (``python -m minflow testsets --tiny``): seconds
TINY_SWEEP = TestsetSweep(dim=4, condition_numbers=(10.0, 1000.0), seeds=(0, 1), epochs=2, n_eval=2000,
                          n_calibration=2000)
TINY_TRAINING = {"epoch_size": 1024, "validation": 512}
_sfx = "s{:g}_t{:g}".format
PER_SET = tuple(f"{c}_{_sfx(s, t)}" for s, t in PERTURBED
                for c in ("strength", "fit_ok", "tnr_cal", "tnr_ptheta", "tnr_p", "auroc_ptheta"))
COLUMNS = ("seed", "basis", "condition_number", "gap", "sd_logp", "train_kl", "mean_logp", "mean_logp_theta",
           *PER_SET, "mean_abs_corr", "total_correlation", "best_epoch", "train_nll", "n_nonfinite", "seconds")


def training(sweep):
    """preset("thesis").training with the sweep's epochs (tiny: smaller epochs too)."""
    tr = replace(preset("thesis").training, epochs=sweep.epochs)
    return replace(tr, **TINY_TRAINING) if sweep.dim < 10 else tr


def sweep_settings(sweep):
    return json.loads(json.dumps({**asdict(sweep), "training": asdict(training(sweep)),
                                  "model": asdict(RealNVPSpec())}, default=str))


def all_tasks(sweep):
    return [(seed, basis, kappa) for seed in sweep.seeds for basis in sweep.bases for kappa in sweep.condition_numbers]


def task_name(seed, basis, kappa):
    return f"seed{seed}_{basis}_k{kappa:g}"


def task_path(out_dir, *task):
    return os.path.join(out_dir, "points", task_name(*task) + ".json")


def run_task(sweep, seed, basis, kappa):
    """Calibrate, train and score one (seed, basis, kappa) -> its point dict (``COLUMNS``)."""
    start = time.perf_counter()
    key = ("testsets", basis, f"{kappa:g}")
    p, u = construction(basis, kappa, seed, sweep.dim)
    row = {"seed": seed, "basis": basis, "condition_number": float(kappa), **correlation_summary(p.cov)}
    del row["max_abs_corr"]
    cal_bounds = ood.tpr_bounds(p.log_prob(p.sample(sweep.n_calibration, rng_for(seed, *key, "cal", "p"))),
                                tpr=sweep.tpr)
    sets = {}
    for s, t in PERTURBED:
        z = rng_for(seed, *key, "cal", _sfx(s, t)).standard_normal((sweep.n_calibration, sweep.dim))
        f = fit_strength(p, u, s, t, TARGET_TNR_P[(s, t)], cal_bounds, z)
        row.update({f"strength_{_sfx(s, t)}": f["c"], f"fit_ok_{_sfx(s, t)}": int(f["fit_ok"]),
                    f"tnr_cal_{_sfx(s, t)}": f["tnr_cal"]})
        sets[_sfx(s, t)] = perturbed(p, u, s, t, f["c"])
    tr = training(sweep)
    flow = RealNVP(sweep.dim, spec=RealNVPSpec(), rng=rng_for(seed, *key, "init"))
    hist = fit(flow, p, rng=rng_for(seed, *key, "train"), epochs=tr.epochs, batch_size=tr.batch_size, lr=tr.lr,
               schedule=tr.schedule, epoch_size=tr.epoch_size, validation=tr.validation)
    x = p.sample(sweep.n_eval, rng_for(seed, *key, "eval", "p"))
    lp, lt = p.log_prob(x), _log_prob(flow, x)
    num = lambda v: float(np.nan_to_num(v, nan=np.inf, posinf=np.inf, neginf=-np.inf))  # noqa: E731
    row.update({"gap": num(abs(np.mean(lp) - np.mean(lt))), "sd_logp": float(np.std(lp, ddof=1)),
                "train_kl": num(-np.mean(lt) - p.entropy()), "mean_logp": float(np.mean(lp)),
                "mean_logp_theta": num(np.mean(lt)), "n_nonfinite": int(np.sum(~np.isfinite(lt)))})
    b_theta, b_p, sorted_theta = _bounds(lt, sweep.tpr), ood.tpr_bounds(lp, tpr=sweep.tpr), np.sort(lt)
    for name, q in sets.items():
        xq = q.sample(sweep.n_eval, rng_for(seed, *key, "eval", name))
        ltq = _log_prob(flow, xq)
        row["n_nonfinite"] += int(np.sum(~np.isfinite(ltq)))
        row[f"tnr_ptheta_{name}"] = ood.true_negative_rate(ltq, b_theta)
        row[f"tnr_p_{name}"] = ood.true_negative_rate(p.log_prob(xq), b_p)
        row[f"auroc_ptheta_{name}"] = ood.auroc_sorted(sorted_theta, ltq)
    row.update({"best_epoch": int(hist.best_epoch), "train_nll": float(hist.train_nll[-1]),
                "seconds": time.perf_counter() - start})
    return {k: row[k] for k in COLUMNS}


def run_testsets(sweep, out_dir, progress=True):
    """Run (or resume) every task of ``sweep`` into ``out_dir`` in this process; write the outputs -> points.csv."""
    if not isinstance(sweep, TestsetSweep):
        raise TypeError(f"sweep: expected a TestsetSweep, got {type(sweep).__name__}")
    start, out_dir = time.perf_counter(), os.fspath(out_dir)
    _prepare(sweep, out_dir)
    tasks = all_tasks(sweep)
    todo = [task for task in tasks if not os.path.exists(task_path(out_dir, *task))]
    bar = Progress(len(todo), "testsets", progress)
    if progress:
        print(f"testsets: {len(todo)} of {len(tasks)} tasks to run -> {out_dir}", file=sys.stderr)
    for task in todo:
        run_files.write_json(task_path(out_dir, *task), run_task(sweep, *task))
        bar.step(task_name(*task), 1.0)
    return write_outputs(sweep, out_dir, time.perf_counter() - start, computed=bool(todo))


def _prepare(sweep, out_dir):
    run_files.check_writable(out_dir)
    path, want = os.path.join(out_dir, "sweep.json"), sweep_settings(sweep)
    if os.path.exists(path) and run_files.read_json(path, dict) != want:
        diff = "; ".join(run_files.dict_diff(run_files.read_json(path, dict), want)[:4])
        raise ValueError(f"out_dir: {out_dir} holds a testsets sweep of other settings ({diff:.600}); "
                         "resume it with its own settings, or choose another folder")
    _write_if_changed(path, json.dumps(want, indent=1) + "\n")
    os.makedirs(os.path.join(out_dir, "points"), exist_ok=True)


def write_outputs(sweep, out_dir, wall, computed=True):
    """points.csv, decision.json and run.json (each only when its content changed) -> path of points.csv."""
    done = [t for t in all_tasks(sweep) if os.path.exists(task_path(out_dir, *t))]
    points = [run_files.read_json(task_path(out_dir, *t), dict) for t in done]
    b = {x: i for i, x in enumerate(sweep.bases)}
    points.sort(key=lambda p: (b[p["basis"]], p["condition_number"], p["seed"]))
    rule = {"gap_bar": GAP_BAR, "tnr_bar": TNR_BAR, "min_seeds": MIN_SEEDS, "perturbed": PERTURBED,
            "target_tnr_p": [[s, t, v] for (s, t), v in TARGET_TNR_P.items()], "fit_tol": FIT_TOL}
    missing = [task_name(*t) for t in all_tasks(sweep) if t not in done]
    decision = {**decide(points), "rule": rule, "not_run": missing, "sweep": sweep_settings(sweep)}
    path = os.path.join(out_dir, "points.csv")
    _write_if_changed(path, points_csv(points, COLUMNS))
    _write_if_changed(os.path.join(out_dir, "decision.json"), json.dumps(decision, indent=1) + "\n")
    run_file = os.path.join(out_dir, "run.json")
    if computed or not os.path.exists(run_file):
        run_files.write_json(run_file, {"sweep": sweep_settings(sweep), "versions": run_files.versions(),
                                        "timing": {"last_invocation_wall_s": wall, "workers": 1,
                                                   "threads": 1, "task_seconds": {task_name(p["seed"], p["basis"],
                                                   p["condition_number"]): p["seconds"] for p in points},
                                                   "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})
    return path
