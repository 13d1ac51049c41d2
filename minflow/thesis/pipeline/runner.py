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

Only this process (the one that holds the lock) reads or writes ``out_dir``. A task touches no run
folder: a training returns the checkpoint's bytes and its record, a cell gets its model as bytes
(sha256, checkpoint) and returns its row, its kept values and, the first time a process computes Q(p)
of its D, Q(p)'s kept values; ``_store_model`` / ``_store_cell`` write them here, in the order and with
the bytes a worker used to write. So a Dask cluster needs no disk shared with the runner.
"""
import hashlib
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import nullcontext

from ...checkpoint import write_atomic
from ...validation import check_memory
from . import cells as C
from . import run_files, model_files, ownership, store, workers as pools
from .config import ExperimentConfig
from .timing import StageClock

_CACHE = {}  # per process: (settings, D, model digest) -> (flow, dists, prepared Q(p), Q(p)'s kept values); a
#              worker scores many cells of one D, and a Dask worker outlives a run, so the key names the run's
#              settings and the model's bytes, not only D

# --- the tasks: they run anywhere (a worker of ours, a Dask worker on another machine) and touch no run folder;
# --- what they compute travels back in their result, and the process that owns the run folder writes it


def _train_task(cfg_dict, dim):
    """Train the model of D = dim -> (stage seconds, {"npz": the checkpoint's bytes, "record": its training record})."""
    config, clock = ExperimentConfig.from_dict(cfg_dict), StageClock()
    start = time.perf_counter()
    with clock("train"):
        flow, hist = C.train_model(dim, config, C.rng_for(config.seed, "train", dim))
    with clock("write"):
        blob = model_files.flow_bytes(flow)  # minflow.save into a temporary folder of this process's own
    record = {"dim": dim, "seed_key": ["train", dim], "settings": model_files.model_settings(config),
              "history": hist.as_dict(), "n_params": flow.n_params, "seconds": time.perf_counter() - start}
    return clock.seconds, {"npz": blob, "record": record}


def _context(config, model, dim, clock):
    """(flow, dists, Q(p) prepared: sorted, bounds, Q(p)'s kept values) of D = dim, computed once per process,
    settings and model, and whether it was computed by this call. ``model``: (sha256, checkpoint bytes)."""
    key = (store.config_digest(config.to_dict()), dim, model[0])  # a model retrained (--fresh) has other bytes
    cached = _CACHE.get(key)
    if cached is not None:
        return cached, False
    flow = model_files.flow_from_bytes(model[1])
    dists = C.distributions(dim, config)
    ref = C.evaluate_reference(flow, dists, config, C.rng_for(config.seed, "reference", dim), clock)
    with clock("auroc_tnr"):
        ref = C.prepare_reference(ref, config.tpr)
    with clock("kde_keep"):
        kept = C.keep_values({"logp": ref.logp, "logp_theta": ref.logp_theta}, config.kde_keep,
                             C.rng_for(config.seed, "keep", dim, "reference"))
    _CACHE.clear()  # hold one D at a time: a reference of 10^6 points is not small
    cached = _CACHE[key] = (flow, dists, ref, kept)  # the local: another thread (Dask) may clear the cache
    return cached, True


def _cell_task(cfg_dict, model, dim, family, s, t):
    """Evaluate one test set -> (stage seconds, {"row", "kept", "reference"}); "reference" is Q(p)'s kept
    values when this call computed Q(p) (the first cell of its D in this process), else None."""
    config, clock = ExperimentConfig.from_dict(cfg_dict), StageClock()
    (flow, dists, ref, ref_kept), fresh = _context(config, model, dim, clock)
    row, kept = C.evaluate_cell(flow, dists, family, s, t, config, C.rng_for(config.seed, "cell", dim, family, s, t),
                                reference=ref, clock=clock)
    return clock.seconds, {"row": row, "kept": kept, "reference": ref_kept if fresh else None}


# --- what the owner of the run folder does with the results ----------------------------------------------
def _read_model(out_dir, dim):
    """(sha256, bytes) of models/D{dim}.npz: what a cell task gets instead of the file."""
    with open(run_files.model_path(out_dir, dim) + ".npz", "rb") as fh:
        blob = fh.read()
    return hashlib.sha256(blob).hexdigest(), blob


def _store_model(out_dir, dim, result, clock):
    """Write a trained model (its .npz, then its record: the record's presence marks it finished) -> (sha256, bytes)."""
    path = run_files.model_path(out_dir, dim)
    with clock("write"):
        write_atomic(path + ".npz", lambda fh: fh.write(result["npz"]))
        run_files.write_json(path + ".json", result["record"])
    return hashlib.sha256(result["npz"]).hexdigest(), result["npz"]


def _store_cell(config, out_dir, cell, result, clock):
    """Write a cell's kept values and record (the .json last: it marks the cell finished), and Q(p)'s kept
    values of its D when they came with it and are not written yet."""
    with clock("write"):
        if result["reference"] is not None:
            ref_file = os.path.join(run_files.cell_dir(out_dir, cell[0]), "reference.npz")
            if not os.path.exists(ref_file):
                run_files.write_npz(ref_file, result["reference"])
        store.write_cell(run_files.cell_path(out_dir, *cell), result["row"], result["kept"],
                         store.config_digest(config.to_dict()))


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
            finished = _parallel(executor, workers, n_threads, (config, out_dir, todo_models, todo, bar, clock), stop_after)
        else:
            finished = _serial(config, out_dir, todo_models, todo, bar, clock, stop_after)
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
        ref_file = os.path.join(run_files.cell_dir(out_dir, d), "reference.npz")
        if not os.path.exists(ref_file):
            (_, _, _, kept), _ = _context(config, _read_model(out_dir, d), d, clock)
            with clock("write"):
                run_files.write_npz(ref_file, kept)
    _CACHE.clear()


def _serial(config, out_dir, todo_models, todo, bar, clock, stop_after):
    cfg, models = config.to_dict(), {}
    for d in todo_models:
        seconds, result = _train_task(cfg, d)
        clock.merge(seconds)
        models[d] = _store_model(out_dir, d, result, clock)
        bar.step(f"trained D={d}", bar.weight)
    for n, cell in enumerate(todo):
        if stop_after is not None and n >= stop_after:
            return False
        if cell[0] not in models:
            models[cell[0]] = _read_model(out_dir, cell[0])
        seconds, result = _cell_task(cfg, models[cell[0]], *cell)
        clock.merge(seconds)
        _store_cell(config, out_dir, cell, result, clock)
        bar.step(f"D={cell[0]} {cell[1][:5]} s={cell[2]:g} t={cell[3]:g}")
    _CACHE.clear()
    return True


def _parallel(executor, workers, n_threads, job, stop_after):
    """The tasks on ``executor``, or on a pool of ``workers`` processes of ``n_threads`` threads (ours,
    ended with this process)."""
    if executor is not None:
        return _Submitter(executor, job, own_pool=False).run(stop_after)
    with pools.pool(workers, n_threads) as pool:
        return _Submitter(pool, job, own_pool=True).run(stop_after)


class _Submitter:
    """The trainings and the cells on a pool; a cell of another D waits for its model. Every result comes back
    here and is written here (``_store_model``, ``_store_cell``): the workers never see the run folder."""

    def __init__(self, pool, job, own_pool):
        self.pool, self.own_pool = pool, own_pool
        self.config, self.out_dir, todo_models, todo, self.bar, self.clock = job
        self.cfg = self.config.to_dict()
        self.waiting = {d: [c for c in todo if c[0] == d] for d in {c[0] for c in todo}}
        self.futures = {self.pool.submit(_train_task, self.cfg, d): ("train", d) for d in todo_models}
        for d in sorted(self.waiting, reverse=True):  # cells of already-trained D can start at once
            if d not in todo_models:
                self._release(d, _read_model(self.out_dir, d))

    def _release(self, dim, model):
        self.futures.update({self.pool.submit(_cell_task, self.cfg, model, *c): ("cell", c)
                             for c in self.waiting.pop(dim, [])})

    def run(self, stop_after):
        try:
            return self._drain(stop_after)
        except BaseException:  # an error or Ctrl-C: drop the queued tasks; what has finished is written
            self._salvage()
            raise

    def _drain(self, stop_after):
        """Collect finished tasks; a trained model releases its D's cells. False: stopped early."""
        n_cells = 0
        while self.futures:
            done, _ = wait(self.futures, return_when=FIRST_COMPLETED)
            n_cells += self._collect(done)
            if stop_after is not None and n_cells >= stop_after:
                # the queued tasks never start; the running ones finish (whole cells) and are written. Wait only
                # for those that could not be cancelled: a Dask future cancelled while running may never be "done".
                running = [f for f in self.futures if not f.cancel()]
                wait(running)
                self._collect(running, release=False)
                return False
        return True

    def _collect(self, done, release=True):
        """Write the results of the finished futures ``done`` (each one, even when another failed; then the first
        error is raised) -> the number of cells written."""
        n_cells, error = 0, None
        for f in done:
            kind, what = self.futures.pop(f)
            try:
                seconds, result = f.result()  # re-raises a worker's error
            except BaseException as err:
                error = error or err
                continue
            self.clock.merge(seconds)
            if kind == "train":
                model = _store_model(self.out_dir, what, result, self.clock)
                self.bar.step(f"trained D={what}", self.bar.weight)
                if release:
                    self._release(what, model)
            else:
                _store_cell(self.config, self.out_dir, what, result, self.clock)
                n_cells += 1
                self.bar.step(f"D={what[0]} {what[1][:5]} s={what[2]:g} t={what[3]:g}")
        if error is not None:
            raise error
        return n_cells

    def _salvage(self):
        """After an error or Ctrl-C: cancel the queued tasks; our own pool's running tasks finish anyway (its
        shutdown waits for them), so wait for them; write every result that has come back (a resume keeps it)."""
        running = [f for f in self.futures if not f.cancel()]
        if self.own_pool:
            wait(running)
        finished = [f for f in running if f.done() and not f.cancelled() and f.exception() is None]
        try:
            self._collect(finished, release=False)
        except Exception:  # noqa: BLE001 - the error being raised already says what went wrong
            pass
