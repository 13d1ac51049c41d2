"""Speed of minflow's training engines and log_prob, against PyTorch and the machine's matmul peak.

    python benchmarks/bench.py            # the full grid (~11 min on 2 cores), writes benchmarks/RESULTS.md
    python benchmarks/bench.py --quick    # the target shapes only (~4 min)

Every figure is a best-of-repeats rate; the contenders of one configuration are timed
*interleaved* (A, B, C, A, B, C, ...) so that load from other processes hits them alike and
the ratios stay meaningful on a shared machine. FLOPs count only the matrix products
(2 m n k each); a training step counts 3x the forward's (forward + two products per layer back).
PyTorch (benchmarks/torch_ref.py) is used when importable; it is never a dependency of minflow.
"""
import argparse
import datetime
import itertools
import json
import math
import os
import platform
import subprocess
import sys
import time


def _threads_from_argv():
    """--threads N must reach OpenBLAS before NumPy is imported (and the memory probe's process)."""
    if "--threads" in sys.argv:
        n = sys.argv[sys.argv.index("--threads") + 1]
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = n


_threads_from_argv()
import numpy as np  # noqa: E402

import minflow  # noqa: E402
from minflow import engine as engines  # noqa: E402
from minflow.flow import flow_log_prob  # noqa: E402
from minflow.speed import kernels  # noqa: E402
from minflow.train import adam_init, adam_step  # noqa: E402
from minflow.tree import tree_map  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE_NAMES = ("reference", "primitives", "manual")  # minflow.engine: which code computes the gradient


def THREADS():  # noqa: N802
    return int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count()))


def try_torch():
    try:
        sys.path.insert(0, HERE)
        import torch_ref
        return torch_ref
    except ImportError:
        return None


def interleaved_rates(fns, work, reps=3, min_time=0.15):
    """{name: work / best seconds per call}, the calls of all names interleaved."""
    for fn in fns.values():
        fn()
    best = {name: math.inf for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            n, start = 0, time.perf_counter()
            while True:
                fn()
                n += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_time:
                    break
            best[name] = min(best[name], elapsed / n)
    return {name: work / best[name] for name in fns}


def forward_flops(dim, n_layers, width, depth=2):
    """Matmul FLOPs of one sample through the flow (halves alternate, d_a/d_b swap)."""
    total = 0
    for k in range(n_layers):
        d_a = dim // 2 if k % 2 == 0 else dim - dim // 2
        d_b = dim - d_a
        total += 2 * (d_a * width + (depth - 1) * width * width + width * 2 * d_b)
    return total


def numpy_matmul_gflops(n, dtype, reps=3):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(reps))
    return 2 * n**3 / best / 1e9


def probe_peak(peak, n=2048):
    """Between cases, a 2048^2 product per dtype: the peak is the best rate seen *during* the run.

    On a shared machine one measurement at the start can fall in a busy moment, and the
    contenders' figures (best of repeats) would then exceed 100% of it."""
    for dt in peak:
        peak[dt] = max(peak[dt], numpy_matmul_gflops(n, dt, reps=2))


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def make_flow(dim, n_layers, width, dtype):
    rng = np.random.default_rng(0)
    flow = minflow.RealNVP(dim, n_layers, (width, width), rng=rng, dtype=dtype)
    flow.params = tree_map(lambda a: a + (0.01 * rng.standard_normal(a.shape)).astype(dtype), flow.params)
    return flow


def train_case(torch_ref, dim, n_layers, width, batch, dtype, reps):
    flow = make_flow(dim, n_layers, width, dtype)
    x = np.random.default_rng(1).standard_normal((batch, dim)).astype(dtype)
    fns = {}
    for name in ENGINE_NAMES:
        engine = engines.get(name).value_and_grad(flow.layers)
        box = [flow.params, adam_init(flow.params)]

        def step(engine=engine, box=box):
            _, grads = engine(box[0], x)
            box[0], box[1] = adam_step(box[0], grads, box[1], 1e-4)
        fns[name] = step
    if torch_ref is not None:
        _, torch_step, _ = torch_ref.make(dim, n_layers, width, dtype, threads=THREADS())
        fns["torch"] = lambda: torch_step(x)
    return interleaved_rates(fns, 1.0, reps)          # steps per second


def log_prob_case(torch_ref, dim, n_layers, width, dtype, n, chunks, reps):
    flow = make_flow(dim, n_layers, width, dtype)
    x = np.random.default_rng(1).standard_normal((n, dim)).astype(dtype)
    fns = {f"minflow@{c}": (lambda c=c: kernels.log_prob_in_place(flow.layers, flow.params, x, c)) for c in chunks}
    fns["reference@4096"] = lambda: [flow_log_prob(flow.layers, flow.params, x[i:i + 4096])
                                     for i in range(0, n, 4096)]
    if torch_ref is not None:
        _, _, torch_lp = torch_ref.make(dim, n_layers, width, dtype, threads=THREADS())
        fns.update({f"torch@{c}": (lambda c=c: torch_lp(x, c)) for c in chunks})
    rates = interleaved_rates(fns, float(n), reps, min_time=0.1)
    out = {"reference": rates["reference@4096"]}
    for side in ("minflow", "torch"):
        mine = {k: v for k, v in rates.items() if k.startswith(side + "@")}
        if mine:
            key = max(mine, key=mine.get)
            out[side], out[side + "_chunk"] = mine[key], int(key.split("@")[1])
    return out


def memory_probe(n=1_000_000, dim=100, dtype="float32"):
    """Run in a fresh process: evaluate n samples, report peak RSS (the whole process) and time."""
    import resource

    flow = make_flow(dim, 8, 256, dtype)
    x = np.random.default_rng(2).standard_normal((n, dim), dtype=np.float32).astype(dtype, copy=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.perf_counter()
    out = flow.log_prob(x)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert np.all(np.isfinite(out))
    print(json.dumps(dict(n=n, dim=dim, dtype=dtype, seconds=seconds, samples_per_s=n / seconds,
                          peak_rss=peak, rss_before_eval=before, input_bytes=x.nbytes)))


def run_memory_probe():
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-probe"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def machine_info(torch_ref):
    import autograd  # noqa: F401
    import scipy

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line),
               platform.processor())
    flags = open("/proc/cpuinfo").read()
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    info = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                cpu=cpu, cores=os.cpu_count(), avx512="avx512f" in flags, python=platform.python_version(),
                numpy=np.__version__, blas=f"{blas['name']} {blas.get('version', '')}", scipy=scipy.__version__,
                minflow=minflow.__version__, load_before=os.getloadavg())
    from importlib.metadata import version
    info["autograd"] = version("autograd")
    if torch_ref is not None:
        info["torch"] = torch_ref.torch.__version__
    for other in ("zuko", "normflows"):
        try:
            info[other] = version(other)
        except Exception:
            info[other] = "not installed"
    return info


def grids(quick):
    if quick:
        train = list(itertools.product([50], [8], [256], [256, 1024], ["float32", "float64"]))
    else:
        train = list(itertools.product([10, 50, 100], [4, 8], [64, 256], [256, 1024], ["float32", "float64"]))
    lp = list(itertools.product([50, 100], [8], [256], ["float32", "float64"]))
    if not quick:
        lp = list(itertools.product([10, 50, 100], [4, 8], [64, 256], ["float32", "float64"]))
    return train, lp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the target shapes (~4 min)")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write RESULTS.md")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS/PyTorch threads for both sides (default: all cores)")
    ap.add_argument("--render-only", action="store_true",
                    help="rewrite RESULTS.md from results.json (after editing NOTES.md); measures nothing")
    ap.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_probe:
        return memory_probe()
    if args.render_only:
        from report import render

        with open(os.path.join(HERE, "results.json")) as f:
            text = render(json.load(f))
        with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
            f.write(text)
        return print(text)
    torch_ref = try_torch()
    info = machine_info(torch_ref)
    info["threads"] = THREADS()
    t0 = time.perf_counter()
    peak = {dt: numpy_matmul_gflops(4096, dt) for dt in ("float32", "float64")}
    peak_start = dict(peak)
    torch_peak = ({dt: torch_ref.matmul_gflops(4096, dt, THREADS()) for dt in ("float32", "float64")}
                  if torch_ref else {})
    train_grid, lp_grid = grids(args.quick)
    train = []
    for i, (dim, k, w, b, dt) in enumerate(train_grid):
        rates = train_case(torch_ref, dim, k, w, b, dt, reps=3)
        train.append(dict(dim=dim, layers=k, width=w, batch=b, dtype=dt, **rates,
                          gflops_per_step=3 * b * forward_flops(dim, k, w) / 1e9))
        probe_peak(peak)
        print(f"train {i + 1}/{len(train_grid)} D={dim} K={k} W={w} B={b} {dt}: "
              + ", ".join(f"{n} {r:.1f}/s" for n, r in rates.items()), flush=True)
    lp = []
    for i, (dim, k, w, dt) in enumerate(lp_grid):
        target = dim in (50, 100) and k == 8 and w == 256   # the target shapes get the chunk-size search
        n_eval, chunks = (32768, (1024, 2048, 4096)) if target else (8192, (2048,))
        res = log_prob_case(torch_ref, dim, k, w, dt, n_eval, chunks, reps=3)
        lp.append(dict(dim=dim, layers=k, width=w, dtype=dt, flops=forward_flops(dim, k, w), **res))
        probe_peak(peak)
        print(f"log_prob {i + 1}/{len(lp_grid)} D={dim} K={k} W={w} {dt}: "
              + ", ".join(f"{n} {r:,.0f}" for n, r in res.items()), flush=True)
    memory = run_memory_probe()
    print(f"1,000,000 x D=100 float32: peak RSS {memory['peak_rss'] / 2**30:.2f} GiB, "
          f"{memory['samples_per_s']:,.0f} samples/s", flush=True)
    # the peak again at the end: on a shared machine the larger of the two is the better estimate
    peak_end = {dt: numpy_matmul_gflops(4096, dt) for dt in ("float32", "float64")}
    info["peak_start_end"] = {dt: (peak_start[dt], peak_end[dt]) for dt in peak}
    peak = {dt: max(peak[dt], peak_end[dt]) for dt in peak}
    info.update(load_after=os.getloadavg(), seconds=time.perf_counter() - t0, quick=args.quick)
    results = dict(info=info, peak=peak, torch_peak=torch_peak, train=train, log_prob=lp, memory=memory)
    from report import render

    text = render(results)
    print(text)
    if not args.no_write:
        suffix = "-quick" if args.quick else ""
        with open(os.path.join(HERE, f"results{suffix}.json"), "w") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(HERE, f"RESULTS{suffix}.md" if args.quick else "RESULTS.md"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
