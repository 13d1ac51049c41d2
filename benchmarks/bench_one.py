"""Time ONE contender on ONE case, in this process, and print the result as one JSON line.

    python benchmarks/bench_one.py --lib minflow --task fit --dim 50 --width 64 --batch 256 --dtype float64 --threads 2

benchmarks/bench.py starts one fresh process of this script per case, with the thread
environment (OMP/OPENBLAS/MKL_NUM_THREADS, MINFLOW_THREADS) already set, so that no two
libraries ever share a process (their thread pools would spin against each other).

Tasks (all rates are best of --runs timed runs, after one untimed warm-up run):
  fit       steps/s of a whole epoch: minflow.fit(flow, data, epochs=1, batch_size=B, lr=1e-3,
            validation=array), steps / wall time of the call; for torch, the epoch loop a user
            writes (benchmarks/torch_model.py: shuffle, Adam, loss read back, validation NLL).
            --validation F: fit's validation=F instead (a fraction of the data held out, 0.0: none),
            --validation default: fit's own default (as the README calls it); torch holds out the
            same rows once, before its epochs, and evaluates them after each (none for 0.0).
  log_prob  points/s of log_prob on --n-eval points (flow.log_prob(x, chunk_size=c) /
            torch_model.log_prob under inference_mode), for each chunk size in --chunks; best chunk.
  step      the inner kernel: one gradient + Adam update on a fixed batch, no fit around it
            (minflow engine value_and_grad + adam_step; torch forward/backward/opt.step).
  agree     not timed: minflow's and torch's log_prob on the same weights (architecture check).
  matmul    the machine's matrix-product rate (--lib minflow: NumPy's BLAS): FLOP/s of A @ B for two
            (--dim, --dim) arrays, 2 dim^3 / wall; the peak the thesis seed's arithmetic floor divides by.
Only the library named by --lib is imported (agree imports both).
"""
import argparse
import inspect
import json
import math
import os
import platform
import sys
import time


def parse():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", choices=("minflow", "torch"), required=True)
    ap.add_argument("--task", choices=("fit", "log_prob", "step", "agree", "matmul"), required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3, help="timed runs (best is reported)")
    ap.add_argument("--epoch-points", type=int, default=65536, help="training points per epoch (fit)")
    ap.add_argument("--n-val", type=int, default=1024, help="validation points (fit)")
    ap.add_argument("--validation", default="array",
                    help="fit: 'array' (--n-val points, the default), a fraction held out (0.0: none), or 'default'")
    ap.add_argument("--n-eval", type=int, default=65536, help="points evaluated per log_prob call")
    ap.add_argument("--chunks", default="1024,2048,4096,8192")
    ap.add_argument("--engine", default=None, help="minflow engine (default: minflow's default)")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per timed run (step)")
    return ap.parse_args()


FIT_DEFAULT_VALIDATION = 0.1  # minflow.fit's default (checked in the minflow process; torch's does not import it)


def cpu_seconds():
    t = os.times()
    return t.user + t.system


def timed(fn):
    """(wall seconds, cpu seconds of this process) of one call."""
    c, t = cpu_seconds(), time.perf_counter()
    fn()
    return time.perf_counter() - t, cpu_seconds() - c


def thread_info():
    try:
        from threadpoolctl import threadpool_info
        return [f"{p['internal_api']}:{p['num_threads']}" for p in threadpool_info()]
    except Exception as err:  # threadpoolctl is a minflow dependency; torch's process may still lack it
        return [f"threadpoolctl unavailable: {err}"]


def data(args, n, seed):
    import numpy as np
    return np.random.default_rng(seed).standard_normal((n, args.dim)).astype(args.dtype)


# --- minflow -------------------------------------------------------------------------------
def minflow_flow(args, perturb):
    import numpy as np

    import minflow
    from minflow.speed import parallel
    from minflow.tree import tree_map

    parallel.set_threads(args.threads)
    rng = np.random.default_rng(0)
    flow = minflow.RealNVP(args.dim, args.layers, (args.width, args.width), rng=rng, dtype=args.dtype)
    if args.engine:
        flow.engine = args.engine
    if perturb:  # a new flow is the identity map; evaluate a non-trivial one
        flow.params = tree_map(lambda a: a + (0.05 * rng.standard_normal(a.shape)).astype(args.dtype), flow.params)
    return flow


def minflow_fit(args):
    import numpy as np

    import minflow

    flow = minflow_flow(args, perturb=False)
    x = data(args, args.epoch_points, 1)
    rng = np.random.default_rng(3)
    if args.validation == "array":
        kw, n_val = {"validation": data(args, args.n_val, 2)}, 0
    else:  # what users pass: a fraction of the data held out by fit itself (or fit's default fraction)
        kw = {} if args.validation == "default" else {"validation": float(args.validation)}
        default = inspect.signature(minflow.fit).parameters["validation"].default
        assert default == FIT_DEFAULT_VALIDATION, f"minflow.fit's default validation is now {default}: update bench_one.py"
        n_val = int(round(validation_fraction(args) * args.epoch_points))
    steps = (args.epoch_points - n_val) // args.batch

    def one_epoch():
        minflow.fit(flow, x, rng=rng, epochs=1, batch_size=args.batch, lr=1e-3, **kw)
    one_epoch()  # warm-up
    runs = [timed(one_epoch) for _ in range(args.runs)]
    return dict(steps_per_epoch=steps, engine=flow.engine, runs=runs, rate=steps / min(w for w, _ in runs),
                unit="steps/s", validation=args.validation)


def validation_fraction(args):
    """The fraction of the data that fit holds out for --validation F or 'default' (fit's own default)."""
    return FIT_DEFAULT_VALIDATION if args.validation == "default" else float(args.validation)


def minflow_log_prob(args):
    flow = minflow_flow(args, perturb=True)
    x = data(args, args.n_eval, 1)
    return by_chunk(args, lambda c: flow.log_prob(x, chunk_size=c), dict(engine=flow.engine))


def minflow_step(args):
    from minflow import engine as engines
    from minflow.train import adam_init

    flow = minflow_flow(args, perturb=False)
    engine = engines.get(flow.engine)
    value_grad = engine.value_and_grad(flow.layers)
    x = data(args, args.batch, 1)
    box = [flow.params, adam_init(flow.params)]

    def step():
        loss, grads = value_grad(box[0], x)
        float(loss)
        box[0], box[1] = engine.adam_step(box[0], grads, box[1], 1e-4)
    return dict(engine=flow.engine, **steps_rate(args, step))


# --- torch ---------------------------------------------------------------------------------
def torch_setup(args):
    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_model
    return torch, torch_model


def torch_fit(args):
    torch, tm = torch_setup(args)
    model = tm.build(args.dim, args.layers, (args.width, args.width), args.dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(data(args, args.epoch_points, 1))
    gen = torch.Generator().manual_seed(3)
    if args.validation == "array":
        val = torch.from_numpy(data(args, args.n_val, 2))
    else:  # the user's loop: hold out the same share once, before training (None: no validation at all)
        n_val = int(round(validation_fraction(args) * args.epoch_points))
        order = torch.randperm(len(x), generator=gen)
        val, x = (x[order[:n_val]] if n_val else None), x[order[n_val:]]
    steps = len(x) // args.batch

    def one_epoch():
        tm.train_epoch(model, opt, x, args.batch, val, gen)
    one_epoch()
    runs = [timed(one_epoch) for _ in range(args.runs)]
    return dict(steps_per_epoch=steps, runs=runs, rate=steps / min(w for w, _ in runs), unit="steps/s",
                validation=args.validation)


def torch_log_prob(args):
    torch, tm = torch_setup(args)
    model = tm.build(args.dim, args.layers, (args.width, args.width), args.dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    x = torch.from_numpy(data(args, args.n_eval, 1))
    return by_chunk(args, lambda c: tm.log_prob(model, x, c), {})


def torch_step(args):
    torch, tm = torch_setup(args)
    model = tm.build(args.dim, args.layers, (args.width, args.width), args.dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.from_numpy(data(args, args.batch, 1))

    def step():
        loss = -model.log_prob(x).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
    return steps_rate(args, step)


# --- shared --------------------------------------------------------------------------------
def by_chunk(args, call, extra):
    """Best points/s over the chunk sizes; the chunks are interleaved run by run."""
    chunks = [int(c) for c in args.chunks.split(",")]
    for c in chunks:
        call(c)  # warm-up (buffers, thread pool)
    runs = {c: [] for c in chunks}
    for _ in range(args.runs):
        for c in chunks:
            runs[c].append(timed(lambda c=c: call(c)))
    rates = {c: args.n_eval / min(w for w, _ in runs[c]) for c in chunks}
    best = max(rates, key=rates.get)
    return dict(extra, n_eval=args.n_eval, rates_by_chunk={str(c): r for c, r in rates.items()},
                runs=runs[best], chunk=best, rate=rates[best], unit="points/s")


def steps_rate(args, step):
    """Best steps/s over --runs runs of at least --min-time seconds each."""
    step()
    runs = []
    for _ in range(args.runs):
        n, w0, c0 = 0, time.perf_counter(), cpu_seconds()
        while time.perf_counter() - w0 < args.min_time:
            step()
            n += 1
        runs.append(((time.perf_counter() - w0) / n, (cpu_seconds() - c0) / n))
    return dict(runs=runs, rate=1.0 / min(w for w, _ in runs), unit="steps/s")


def agree(args):
    """minflow's and torch's log_prob on the same weights: the same model, to rounding."""
    import numpy as np

    flow = minflow_flow(args, perturb=True)
    torch, tm = torch_setup(args)
    model = tm.build(args.dim, args.layers, (args.width, args.width), args.dtype)
    tm.load_minflow(model, flow.params)
    x = data(args, 4096, 1)
    a = flow.log_prob(x)
    b = tm.log_prob(model, torch.from_numpy(x), 1024).numpy()
    err = float(np.max(np.abs(a - b) / (1.0 + np.abs(a))))
    tol = 1e-10 if args.dtype == "float64" else 1e-4
    return dict(max_rel_diff=err, tol=tol, ok=err < tol, rate=math.nan, unit="")


def minflow_matmul(args):
    """FLOP/s of one (dim x dim) @ (dim x dim) product in NumPy at the process's BLAS threads (best of --runs)."""
    import numpy as np
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((args.dim, args.dim)).astype(args.dtype) for _ in range(2))
    a @ b  # warm-up: the BLAS threads started
    runs = [timed(lambda: a @ b) for _ in range(args.runs)]
    return dict(runs=runs, rate=2.0 * args.dim ** 3 / min(w for w, _ in runs), unit="FLOP/s")


def versions(lib):
    import numpy as np
    out = dict(python=platform.python_version(), numpy=np.__version__)
    if lib == "minflow":
        import minflow
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out.update(minflow=minflow.__version__, blas=f"{blas['name']} {blas.get('version', '')}".strip())
    else:
        import torch
        out.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                   torch_parallel=torch.__config__.parallel_info().splitlines()[:3])
    return out


TASKS = {("minflow", "fit"): minflow_fit, ("minflow", "log_prob"): minflow_log_prob,
         ("minflow", "step"): minflow_step, ("minflow", "matmul"): minflow_matmul, ("torch", "fit"): torch_fit,
         ("torch", "log_prob"): torch_log_prob, ("torch", "step"): torch_step}


def main():
    args = parse()
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    result = agree(args) if args.task == "agree" else TASKS[args.lib, args.task](args)
    result.update(lib=args.lib, task=args.task, dim=args.dim, layers=args.layers, width=args.width,
                  batch=args.batch if args.task != "log_prob" else None, dtype=args.dtype,
                  threads=args.threads, runs_requested=args.runs, seconds=time.perf_counter() - t0,
                  load_before=load_before, load_after=os.getloadavg(), pools=thread_info(),
                  env={k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                       "MKL_NUM_THREADS", "MINFLOW_THREADS")},
                  versions=versions(args.lib))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
