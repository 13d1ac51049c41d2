"""Run the whole grid: train one model per D, evaluate every test set, write the table.

    path = run(preset("quick"), "reproduction/quick/seed0", workers=2)

Layout of ``out_dir`` (every file written atomically, so a killed run leaves no half file):
    .minflow-run.lock    held (flock) by the one run that may write here; a second run is refused (``ownership``)
    .minflow-run.json    the owner mark: a folder that is not empty and lacks it is refused (``ownership``)
    config.json          the settings; a resume with other settings, or without this file, is refused
    models/D{D}.npz      the trained flow (minflow.checkpoint.save), models/D{D}.json its learning curve and
                         the settings it was trained with (a resume retrains a model of other settings: ``store``)
    cells/D{D}/*.json    one finished test set each (its table row); *.npz its kept log-densities
    table.csv            the tidy table, one row per test set (``cells.TABLE_COLUMNS``): the same bytes from
                         every run of the same settings; checked again wherever it is read (``verify``)
    cell_seconds.csv     the seconds of each cell (D, family, s, t, seconds): this run's timing, kept apart
    kept.npz             subsampled log p / log p_theta per test set and per Q(p), for the KDEs
    run.json             settings, seeds, library versions, timings: wall, workers, threads per worker,
                         and seconds per stage summed over the processes ("stage_seconds", ``timing``)
A cell whose .json exists and passes ``store.read_cell`` is finished and is never recomputed
(resume); one that fails is recomputed with a ``store.ResultFileWarning``. Worker processes end
with the parent and use max(1, cores // workers) threads each (``workers``). The tasks run on
any ``concurrent.futures`` executor: ``executor=`` (a Dask cluster's, ``workers.dask_executor``).
"""
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import nullcontext

from ...checkpoint import load, save
from ...validation import check_memory
from . import cells as C
from . import run_files, model_files, ownership, store, workers as pools
from .config import ExperimentConfig
from .timing import StageClock

_CACHE = {}  # per process: (run folder, settings, D) -> (flow, dists, prepared Q(p)); a worker scores many
#              cells of one D, and a Dask worker outlives a run, so the key names the run, not only D


def _train_task(cfg_dict, out_dir, dim):
    """Train and save the model of D = dim (unless saved already) -> its stage seconds."""
    config, clock = ExperimentConfig.from_dict(cfg_dict), StageClock()
    path = run_files.model_path(out_dir, dim)
    if os.path.exists(path + ".json"):
        return clock.seconds
    start = time.perf_counter()
    with clock("train"):
        flow, hist = C.train_model(dim, config, C.rng_for(config.seed, "train", dim))
    with clock("write"):
        save(flow, path + ".npz")  # atomic, under a temporary name unique to this process and call
        record = {"dim": dim, "seed_key": ["train", dim], "settings": model_files.model_settings(config), "history": hist.as_dict(),
                  "n_params": flow.n_params, "seconds": time.perf_counter() - start}
        run_files.write_json(path + ".json", record)  # last: its presence marks the model as finished
    return clock.seconds


def _context(config, out_dir, dim, clock):
    """(flow, dists, Q(p) prepared: sorted, bounds) of D = dim, computed once per process and D."""
    model = run_files.model_path(out_dir, dim) + ".npz"  # its time stamp: a model retrained (--fresh) is reloaded
    key = (os.path.abspath(out_dir), store.config_digest(config.to_dict()), dim, os.path.getmtime(model))
    cached = _CACHE.get(key)
    if cached is None:
        flow = load(model)
        dists = C.distributions(dim, config)
        ref = C.evaluate_reference(flow, dists, config, C.rng_for(config.seed, "reference", dim), clock)
        with clock("auroc_tnr"):
            ref = C.prepare_reference(ref, config.tpr)
        ref_file = os.path.join(run_files.cell_dir(out_dir, dim), "reference.npz")
        if not os.path.exists(ref_file):
            with clock("kde_keep"):
                kept = C.keep_values({"logp": ref.logp, "logp_theta": ref.logp_theta}, config.kde_keep,
                                     C.rng_for(config.seed, "keep", dim, "reference"))
            with clock("write"):
                run_files.write_npz(ref_file, kept)
        _CACHE.clear()  # hold one D at a time: a reference of 10^6 points is not small
        cached = _CACHE[key] = (flow, dists, ref)  # the local: another thread (Dask) may clear the cache
    return cached


def _cell_task(cfg_dict, out_dir, dim, family, s, t):
    """Evaluate and store one test set (unless stored already) -> its stage seconds."""
    config, clock = ExperimentConfig.from_dict(cfg_dict), StageClock()
    base = run_files.cell_path(out_dir, dim, family, s, t)
    if os.path.exists(base + ".json"):
        return clock.seconds
    flow, dists, ref = _context(config, out_dir, dim, clock)
    row, kept = C.evaluate_cell(flow, dists, family, s, t, config, C.rng_for(config.seed, "cell", dim, family, s, t),
                                reference=ref, clock=clock)
    with clock("write"):
        store.write_cell(base, row, kept, store.config_digest(cfg_dict))  # the .json last: marks the cell finished
    return clock.seconds


class Progress:
    """A status line on stderr: done/total, elapsed, and the time left at the mean rate so far.

    On a terminal one line is redrawn; in a log file a line is printed at most every 10 s."""

    def __init__(self, total, label, enabled=True, train_weight=1.0, n_train=0):
        self.total, self.label, self.enabled = total, label, enabled
        self.done, self.start, self.last = 0, time.perf_counter(), -1e9
        self.tty = sys.stderr.isatty()
        # a training task costs about as much as `train_weight` cells: the time left is weighted by that
        self.weight, self.work_left = train_weight, n_train * train_weight + (total - n_train)
        self.work_done = 0.0

    def step(self, note="", weight=1.0):
        self.done += 1
        self.work_done += weight
        now = time.perf_counter()
        final = self.done == self.total
        if not self.enabled or (not self.tty and not final and now - self.last < 10):
            return
        self.last = now
        elapsed = now - self.start
        left = elapsed / self.work_done * max(self.work_left - self.work_done, 0.0)
        bar = "#" * int(30 * self.done / max(self.total, 1))
        line = f"{self.label} [{bar:<30}] {self.done}/{self.total}  {elapsed:6.1f}s elapsed, ~{left:6.1f}s left  {note}"
        if self.tty:
            print(f"\r{line:<110}", end="\n" if final else "", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)


def _prepare(config, out_dir, resume, fresh):
    has_results = os.path.isdir(os.path.join(out_dir, "cells")) or os.path.isdir(os.path.join(out_dir, "models"))
    if fresh:
        store.clear(out_dir)
    elif has_results:
        _check_resumable(config, out_dir, resume)
    # the records first, the folders last: whoever sees models/ (another runner, a resume) finds them
    store.claim(out_dir)
    run_files.write_json(os.path.join(out_dir, "distributions.json"), C.distribution_fingerprint(config))
    if not _records(config, os.path.join(out_dir, "config.json")):  # a committed record stays as written
        run_files.write_json(os.path.join(out_dir, "config.json"), config.to_dict())
    for d in config.dims:
        os.makedirs(run_files.cell_dir(out_dir, d), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "models"), exist_ok=True)


def _records(config, cfg_file):
    """Whether ``cfg_file`` already records ``config`` (settings added since take their defaults)."""
    try:
        return ExperimentConfig.from_dict(run_files.read_json(cfg_file, dict)) == config
    except (OSError, TypeError, ValueError, run_files.ResultFileError):
        return False


def _check_resumable(config, out_dir, resume):
    """Results in ``out_dir`` may be continued only with the settings and distributions they were made with."""
    cfg_file, fp_file = os.path.join(out_dir, "config.json"), os.path.join(out_dir, "distributions.json")
    start_over = "choose another output directory, or start over with fresh=True (--fresh), which deletes them"
    for path, what in ((cfg_file, "settings record"), (fp_file, "record of the test distributions")):
        if not os.path.isfile(path):
            raise ValueError(f"out_dir: {out_dir} holds results but no {what} ({path}), so they cannot be "
                             f"matched to these settings; {start_over}")
    try:  # settings added since that run take their defaults
        old = ExperimentConfig.from_dict(run_files.read_json(cfg_file, dict)).to_dict()
    except (TypeError, ValueError) as err:
        raise ValueError(f"out_dir: {cfg_file} is not a settings file of this version ({err}); {start_over}") from None
    diff = run_files.dict_diff(old, config.to_dict())
    if diff:
        raise ValueError(f"out_dir: {out_dir} holds results of other settings ({'; '.join(diff[:6])}); "
                         f"resume with the same settings, {start_over}")
    if not resume:
        raise ValueError(f"out_dir: {out_dir} already holds results; pass resume=True to continue them "
                         "or fresh=True to delete them and start over")
    try:
        same = run_files.read_json(fp_file) == C.distribution_fingerprint(config)
    except run_files.ResultFileError as err:
        raise ValueError(f"out_dir: {err}; {start_over}") from None
    if not same:
        raise ValueError(f"out_dir: {out_dir} holds results for other test distributions (minflow.thesis.gaussians "
                         f"changed since they were computed); {start_over}")


def run(config, out_dir, workers=1, resume=True, progress=True, fresh=False, stop_after=None, executor=None):
    """Run (or resume) every cell of ``config`` into ``out_dir``; returns the path of table.csv.

    workers: processes (1: everything in this process), each with max(1, cores // workers) threads.
    resume: continue a run with the same settings (finished models and cells are kept). fresh:
    delete earlier results first. stop_after: stop after this many newly finished cells, as if
    killed (for tests); returns None. executor: run the tasks on this ``concurrent.futures``-style
    executor instead (``submit`` returning futures; a Dask cluster's, say): it is not shut down, its
    workers' threads are its own, and ``workers`` is only recorded.
    """
    workers = pools.useful_workers(workers, cap=executor is None)  # a Dask cluster's workers are its own
    n, name = max(config.n_ref, config.n_test), "n_test" if config.n_reference is None else "n_test, n_reference"
    check_memory(6 * 8 * n, name, f"{n:,} points per test set (their log-densities and Q(p)'s sorted copies)")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError(f"executor: expected a concurrent.futures-style executor (with .submit), got {type(executor).__name__}")
    if not isinstance(config, ExperimentConfig):
        raise TypeError(f"config: expected an ExperimentConfig (see preset()), got {type(config).__name__}")
    with ownership.session(out_dir) as out_dir:  # ours alone until the outputs are written (``ownership``)
        return _run(config, out_dir, workers, resume, fresh, progress, stop_after, executor)


def _run(config, out_dir, workers, resume, fresh, progress, stop_after, executor):
    start = time.perf_counter()
    _prepare(config, out_dir, resume, fresh)
    store.audit(config, out_dir)  # untrusted result files are deleted (and recomputed), with a warning
    cfg = config.to_dict()
    todo_models = [d for d in sorted(config.dims, reverse=True) if not os.path.exists(run_files.model_path(out_dir, d) + ".json")]
    todo = [c for c in config.cells() if not os.path.exists(run_files.cell_path(out_dir, *c) + ".json")]
    tr = config.training  # one training step ~ a few forward passes of a batch; a cell ~ 2 n_test forward passes
    bar = Progress(len(todo_models) + len(todo), "reproduce", progress,
                   train_weight=12.0 * tr.epochs * tr.epoch_size / (config.n_test + config.n_ref), n_train=len(todo_models))
    if progress:
        print(f"reproduce: {len(todo_models)} models to train, {len(todo)} of {config.n_cells} test sets to evaluate "
              f"({config.n_cells - len(todo)} already done) -> {out_dir}", file=sys.stderr)
    n_threads = None if executor is not None else pools.threads_per_worker(workers)
    clock = StageClock()
    with (nullcontext() if n_threads is None else pools.thread_budget(n_threads)):
        if executor is not None or workers > 1:
            finished = _parallel(executor, workers, n_threads, (cfg, out_dir, todo_models, todo, bar, clock), stop_after)
        else:
            finished = _serial(cfg, out_dir, todo_models, todo, bar, clock, stop_after)
        if not finished:
            return None
        _ensure_references(config, out_dir, clock)
        with clock("outputs"):
            table = store.collect(config, out_dir)
    computed = bool(todo_models or todo)  # a run with nothing left to do keeps the timing of the one that did it
    timing = {"threads_per_worker": n_threads, "executor": "processes" if executor is None else type(executor).__name__,
              "stage_seconds": clock.seconds}
    return run_files.write_outputs(config, out_dir, table, time.perf_counter() - start, workers, keep_timing=not computed,
                            timing=timing)


def _ensure_references(config, out_dir, clock):
    """Q(p)'s kept values of every D (an untrusted reference.npz was deleted after its cells were done)."""
    for d in config.dims:
        if not os.path.exists(os.path.join(run_files.cell_dir(out_dir, d), "reference.npz")):
            _context(config, out_dir, d, clock)
    _CACHE.clear()


def _serial(cfg, out_dir, todo_models, todo, bar, clock, stop_after):
    for d in todo_models:
        clock.merge(_train_task(cfg, out_dir, d))
        bar.step(f"trained D={d}", bar.weight)
    for n, cell in enumerate(todo):
        if stop_after is not None and n >= stop_after:
            return False
        clock.merge(_cell_task(cfg, out_dir, *cell))
        bar.step(f"D={cell[0]} {cell[1][:5]} s={cell[2]:g} t={cell[3]:g}")
    _CACHE.clear()
    return True


def _parallel(executor, workers, n_threads, job, stop_after):
    """The tasks on ``executor``, or on a pool of ``workers`` processes of ``n_threads`` threads (ours,
    ended with this process)."""
    if executor is not None:
        return _submit_all(executor, job, stop_after)
    with pools.pool(workers, n_threads) as pool:
        return _submit_all(pool, job, stop_after)


def _submit_all(pool, job, stop_after):
    """Submit the trainings and the cells of trained D; a cell of another D waits for its model."""
    cfg, out_dir, todo_models, todo, bar, clock = job
    waiting = {d: [c for c in todo if c[0] == d] for d in {c[0] for c in todo}}
    futures = {pool.submit(_train_task, cfg, out_dir, d): ("train", d) for d in todo_models}
    for d in sorted(waiting, reverse=True):  # cells of already-trained D can start at once
        if d not in todo_models:
            futures.update({pool.submit(_cell_task, cfg, out_dir, *c): ("cell", c) for c in waiting.pop(d)})
    try:
        return _drain(pool, futures, waiting, job, stop_after)
    except BaseException:  # an error or Ctrl-C: drop the queued tasks; finished cells stay on disk
        for f in futures:
            f.cancel()
        raise


def _drain(pool, futures, waiting, job, stop_after):
    """Collect finished tasks; a trained model releases its D's cells. False: stopped early."""
    cfg, out_dir, _, _, bar, clock = job
    n_cells = 0
    while futures:
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        for f in done:
            kind, what = futures.pop(f)
            clock.merge(f.result())  # re-raises a worker's error here
            if kind == "train":
                bar.step(f"trained D={what}", bar.weight)
                futures.update({pool.submit(_cell_task, cfg, out_dir, *c): ("cell", c) for c in waiting.pop(what, [])})
            else:
                n_cells += 1
                bar.step(f"D={what[0]} {what[1][:5]} s={what[2]:g} t={what[3]:g}")
        if stop_after is not None and n_cells >= stop_after:
            # the queued tasks never start; the running ones finish (whole cells). Wait only for those that
            # could not be cancelled: a Dask future cancelled while running may never report "done".
            wait([f for f in futures if not f.cancel()])
            return False
    return True
