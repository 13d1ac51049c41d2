"""Run the pre-registered C10 settling sweep (``regimes.SWEEP``) and decide it by ``regimes.decide``.

    run_regimes(SWEEP, "reproduction/regimes", workers=2)    # -> path of points.csv

One task per (seed, data, model): train for the last checkpoint's epochs (Adam, no early stopping)
and score the flow in ``fit``'s callback, so a checkpoint is the flow after exactly that many epochs
(not a kept-best one), on Q(p), q_delta(1, 0), q_delta(0.25, 0.5). Generators: ``cells.rng_for(seed,
"regimes", ...)``; a seed's evaluation sets (and fixed training sets) are the same points in every
task, and no task depends on which others ran, where, or on a resume. out_dir (files atomic; a rerun
with nothing to do rewrites nothing): sweep.json (a resume with other settings is refused);
points/seed{k}_{data}_{model}.json (a finished task's checkpoints; written last, marks it done);
points.csv (``COLUMNS``, sorted); decision.json (``decide``, the rule, checkpoints not reached because
training diverged, the settings); run.json (settings, versions, wall time, workers, seconds per task).
"""
import csv
import json
import os
import sys
import time
from concurrent.futures import as_completed
from dataclasses import asdict
from io import StringIO

import numpy as np

from ...flow import RealNVP
from ...train import fit
from .. import ood
from ..gaussians import ThesisDistributions
from ..pipeline import run_files
from ..pipeline import workers as pools
from ..pipeline.cells import measured_train_kl, rng_for
from ..pipeline.runner import Progress
from .regimes import GAP_BAR, MIN_SEEDS, PERTURBED, TNR_BAR, DataSpec, ModelSpec, RegimeSweep, decide

# a smoke test of the whole pipeline (``python -m minflow regimes --tiny``): seconds, not hours
TINY_SWEEP = RegimeSweep(dim=4, seeds=(0, 1),
                         models=(ModelSpec("tiny", 2, (8,), 2.0, None), ModelSpec("tiny-reverse", 2, (8, 8), 2.0, "reverse")),
                         data=(DataSpec("fresh", None, (1, 2)), DataSpec("fixed-1k", 1_000, (1, 2))),
                         epoch_size=1024, n_eval=2000)
CHUNK = None             # rows per flow.log_prob call: the engine's own (the speed room's tuned chunk)
VALIDATION = 4096        # fresh data: validation points drawn once (fit's divergence watch; no model selection)
_sfx = "s{:g}_t{:g}".format  # the suffix of a perturbed set's columns: _sfx(1.0, 0.0) == "s1_t0"
PER_SET = tuple(f"{c}_{_sfx(s, t)}" for s, t in PERTURBED for c in ("tnr_ptheta", "tnr_p", "auroc_ptheta"))
COLUMNS = ("seed", "data", "model", "epoch", "gap", "sd_logp", "train_kl", "mean_logp", "mean_logp_theta",
           *PER_SET, "train_nll", "n_nonfinite", "seconds")


def sweep_settings(sweep):
    """The sweep as plain JSON values (sweep.json)."""
    return json.loads(json.dumps(asdict(sweep)))


def all_tasks(sweep):
    """Every (seed, DataSpec, ModelSpec) of the sweep."""
    return [(seed, data, model) for seed in sweep.seeds for data in sweep.data for model in sweep.models]


def task_name(seed, data, model):
    return f"seed{seed}_{data.name}_{model.name}"


def task_path(out_dir, *task):  # its presence marks the task done
    return os.path.join(out_dir, "points", task_name(*task) + ".json")


def task_cost(sweep, data, model):
    """Relative cost, for longest-first order and the progress line: multiply-adds per point x points
    passed (training ~3 passes per point, the validation 1 per epoch, scoring 3 sets per checkpoint)."""
    sizes = (sweep.dim // 2, *model.hidden, sweep.dim)
    per_point, epochs = model.n_layers * sum(a * b for a, b in zip(sizes, sizes[1:])), max(data.checkpoints)
    train, val = (sweep.epoch_size, VALIDATION) if data.fixed is None else (data.fixed, data.fixed)
    return per_point * (epochs * (3 * train + val) + 3 * sweep.n_eval * len(data.checkpoints))


def eval_sets(sweep, dists, seed):
    """{"p": (x, log p), "s1_t0": ..., ...}: Q(p) and q_delta(s, t) of PERTURBED, the same in every task of a seed."""
    sets = {"p": dists.p, **{_sfx(s, t): dists.q_delta(s, t) for s, t in PERTURBED}}
    xs = {name: dist.sample(sweep.n_eval, rng_for(seed, "regimes", "eval", name)) for name, dist in sets.items()}
    return {name: (x, dists.p.log_prob(x)) for name, x in xs.items()}


def _log_prob(flow, x):
    """log p_theta(x) in chunks; a flow that gives non-finite values keeps them (NaN as -inf: no density)."""
    out = np.asarray(flow.log_prob(x, chunk_size=CHUNK, finite=False), float)
    return np.where(np.isnan(out), -np.inf, out)  # non-finite values kept: the TNR and AUROC still count them


def _bounds(scores, tpr):
    """ood.tpr_bounds; with infinite scores the order statistics (no interpolation between infinities)."""
    if np.all(np.isfinite(scores)):
        return ood.tpr_bounds(scores, tpr=tpr)
    r = 1.0 - tpr
    return tuple(float(np.quantile(scores, q, method="inverted_cdf")) for q in (r / 2, 1.0 - r / 2))


def score(flow, evals, dists, tpr):
    """The measured columns of one checkpoint (module docstring; ``COLUMNS``)."""
    x, lp = evals["p"]
    lt = _log_prob(flow, x)
    num = lambda v: float(np.nan_to_num(v, nan=np.inf, posinf=np.inf, neginf=-np.inf))  # noqa: E731 (+-inf mixed)
    row = {"gap": num(abs(np.mean(lp) - np.mean(lt))), "sd_logp": float(np.std(lp, ddof=1)),
           "train_kl": num(measured_train_kl(lt, dists.p)), "mean_logp": float(np.mean(lp)),
           "mean_logp_theta": num(np.mean(lt)), "n_nonfinite": int(np.sum(~np.isfinite(lt)))}
    b_theta, b_p, sorted_theta = _bounds(lt, tpr), ood.tpr_bounds(lp, tpr=tpr), np.sort(lt)
    for s, t in PERTURBED:
        xq, lpq = evals[_sfx(s, t)]
        ltq = _log_prob(flow, xq)
        row["n_nonfinite"] += int(np.sum(~np.isfinite(ltq)))
        row[f"tnr_ptheta_{_sfx(s, t)}"] = ood.true_negative_rate(ltq, b_theta)
        row[f"tnr_p_{_sfx(s, t)}"] = ood.true_negative_rate(lpq, b_p)
        row[f"auroc_ptheta_{_sfx(s, t)}"] = ood.auroc_sorted(sorted_theta, ltq)
    return row


def run_task(sweep, seed, data, model):
    """Train one (seed, data, model) and score it after every checkpoint epoch -> [point dict].

    A training that diverges (``fit`` stops) has no points for the checkpoints it did not reach."""
    start = time.perf_counter()
    dists = ThesisDistributions(sweep.dim, seed)
    evals = eval_sets(sweep, dists, seed)
    key = ("regimes", data.name, model.name)
    flow = RealNVP(sweep.dim, spec=model.spec(), rng=rng_for(seed, *key, "init"))
    points = []

    def callback(epoch, hist, current):
        if epoch + 1 in data.checkpoints:  # epoch counts from 0: checkpoint k is after k epochs
            row = {"seed": seed, "data": data.name, "model": model.name, "epoch": epoch + 1,
                   **score(current, evals, dists, sweep.tpr), "train_nll": float(hist.train_nll[-1])}
            row["seconds"] = time.perf_counter() - start  # since the task began
            points.append({k: row[k] for k in COLUMNS})

    opts = dict(rng=rng_for(seed, *key, "train"), epochs=max(data.checkpoints), batch_size=sweep.batch_size,
                lr=sweep.lr, schedule=sweep.schedule, patience=None, callback=callback)
    if data.fixed is None:
        fit(flow, dists.p, epoch_size=sweep.epoch_size, validation=VALIDATION, **opts)
    else:  # one fixed set, the same for every model of the seed, selected on itself: free to over-fit
        x = dists.p.sample(data.fixed, rng_for(seed, "regimes", data.name, "data"))
        fit(flow, x, validation=x, **opts)
    return points


def _task(sweep, out_dir, *task):
    """One task unless done: its points file, written last."""
    if not os.path.exists(task_path(out_dir, *task)):
        run_files.write_json(task_path(out_dir, *task), run_task(sweep, *task))


def run_regimes(sweep, out_dir, workers=1, progress=True):
    """Run (or resume) every task of ``sweep`` into ``out_dir``; write the outputs -> path of points.csv.

    workers: processes (1: all in this process), each with max(1, cores // workers) threads."""
    if not isinstance(sweep, RegimeSweep):
        raise TypeError(f"sweep: expected a RegimeSweep, got {type(sweep).__name__}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: expected an integer >= 1, got {workers!r}")
    start, out_dir = time.perf_counter(), os.fspath(out_dir)
    _prepare(sweep, out_dir)
    tasks = sorted(all_tasks(sweep), key=lambda task: -task_cost(sweep, *task[1:]))  # longest first
    todo = [task for task in tasks if not os.path.exists(task_path(out_dir, *task))]
    mean_cost = sum(task_cost(sweep, *t[1:]) for t in todo) / max(len(todo), 1)
    weight = lambda task: task_cost(sweep, *task[1:]) / mean_cost  # noqa: E731
    bar = Progress(len(todo), "regimes", progress)
    if progress:
        print(f"regimes: {len(todo)} of {len(tasks)} tasks to run -> {out_dir}", file=sys.stderr)
    n_threads = pools.threads_per_worker(workers)
    with pools.thread_budget(n_threads):
        if workers > 1 and len(todo) > 1:
            with pools.pool(workers, n_threads) as pool:
                futures = {pool.submit(_task, sweep, out_dir, *task): task for task in todo}
                try:
                    for f in as_completed(futures):
                        f.result()  # re-raises a worker's error here
                        bar.step(task_name(*futures[f]), weight(futures[f]))
                except BaseException:  # an error or Ctrl-C: queued tasks never start; finished ones stay
                    for f in futures:
                        f.cancel()
                    raise
        else:
            for task in todo:
                _task(sweep, out_dir, *task)
                bar.step(task_name(*task), weight(task))
    return write_outputs(sweep, out_dir, time.perf_counter() - start, workers, n_threads, computed=bool(todo))


def _prepare(sweep, out_dir):
    run_files.check_writable(out_dir)
    path, want, points = os.path.join(out_dir, "sweep.json"), sweep_settings(sweep), os.path.join(out_dir, "points")
    if os.path.exists(path):
        try:
            old = run_files.read_json(path, dict)
        except run_files.ResultFileError as err:
            raise ValueError(f"out_dir: {out_dir}: {err}; choose another folder or delete this one") from None
        if old != want:
            diff = "; ".join(run_files.dict_diff(old, want)[:4])
            raise ValueError(f"out_dir: {out_dir} holds a regimes sweep of other settings ({diff:.600}); "
                             "resume it with its own settings, or choose another folder")
    elif os.path.isdir(points) and os.listdir(points):
        raise ValueError(f"out_dir: {out_dir} holds points/ but no sweep.json: they cannot be matched to these "
                         "settings; choose another folder")
    _write_if_changed(path, json.dumps(want, indent=1) + "\n")  # the first record (or the same again)
    os.makedirs(points, exist_ok=True)


def _write_if_changed(path, text):
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    run_files.write_text(path, text)


def points_csv(points, columns=COLUMNS):
    """[point dict] -> the text of a points.csv with ``columns`` (floats written with repr: exact round trip)."""
    text = StringIO()
    w = csv.DictWriter(text, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows({k: repr(v) if isinstance(v, float) else v for k, v in p.items()} for p in points)
    return text.getvalue()


def write_outputs(sweep, out_dir, wall, workers, n_threads, computed=True):
    """points.csv, decision.json (the rule's answer, its constants, the checkpoints never reached, the
    settings) and run.json, each only when its content changed -> path of points.csv."""
    by_task = {task_name(*task): run_files.read_json(task_path(out_dir, *task), list) for task in all_tasks(sweep)}
    d, m = {x.name: i for i, x in enumerate(sweep.data)}, {x.name: i for i, x in enumerate(sweep.models)}
    points = sorted((p for pts in by_task.values() for p in pts), key=lambda p: (d[p["data"]], m[p["model"]],
                                                                                   p["seed"], p["epoch"]))
    missing = [[seed, data.name, model.name, e] for seed, data, model in all_tasks(sweep)
               for e in data.checkpoints if e not in {p["epoch"] for p in by_task[task_name(seed, data, model)]}]
    rule = {"gap_bar": GAP_BAR, "tnr_bar": TNR_BAR, "min_seeds": MIN_SEEDS, "perturbed": PERTURBED}
    decision = {**decide(points), "rule": rule, "not_reached": missing, "sweep": sweep_settings(sweep)}
    path = os.path.join(out_dir, "points.csv")
    _write_if_changed(path, points_csv(points))
    _write_if_changed(os.path.join(out_dir, "decision.json"), json.dumps(decision, indent=1) + "\n")  # tuples: lists
    run_file = os.path.join(out_dir, "run.json")
    if computed or not os.path.exists(run_file):  # nothing computed: the timing of the run that did it stays
        seconds = {name: (pts[-1]["seconds"] if pts else None) for name, pts in by_task.items()}
        run_files.write_json(run_file, {"sweep": sweep_settings(sweep), "versions": run_files.versions(),
                                 "timing": {"last_invocation_wall_s": wall, "workers": workers,
                                            "threads_per_worker": n_threads, "task_seconds": seconds,
                                            "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})
    return path
