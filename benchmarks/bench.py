"""minflow against a minimal PyTorch RealNVP: each contender alone in its own process.

    python benchmarks/bench.py              # the full benchmark (make bench): results.json + RESULTS.md
    python benchmarks/bench.py --quick      # a smoke run: 2 shapes, 1 run each, RESULTS.md marked as such
    python benchmarks/bench.py --check      # 1 tiny case per contender, 1 thread, seconds; writes nothing
    python benchmarks/bench.py --threads 1  # the thread count of every contender (default 2)

Every case (shape x dtype x contender x task) runs in a fresh process (benchmarks/bench_one.py)
started with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = MINFLOW_THREADS = N (and
torch.set_num_threads(N) inside), so no two libraries share a process or a thread pool, and the
cases run one after another, never side by side. What is timed is what users call: minflow.fit over
a whole epoch and Flow.log_prob on an array (best chunk size), against the epoch loop and chunked
inference_mode log_prob of benchmarks/torch_model.py. The inner training step (no fit around it)
is a second table. For each case the load average and the CPU time other processes used while it
ran are recorded, so a noisy run shows itself. benchmarks/report.py renders RESULTS.md.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results.json")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MINFLOW_THREADS")
DTYPES = ("float32", "float64")

# (D, width, batch): the issue's training targets: the thesis's shape, and width 256 at batch 1024
FIT_SHAPES = [(10, 64, 256), (50, 64, 256), (100, 64, 256), (50, 256, 1024), (100, 256, 1024)]
# (D, width, batch, validation): fit as users call it (issue 27): no validation set (validation=0.0, which
# watches at most 1,024 training rows), and the README's call (fit's defaults: 10% held out)
FIT_AS_CALLED = [(50, 256, 1024, "0.0"), (50, 64, 256, "default")]
# (D, width): the log_prob targets
LP_SHAPES = [(10, 64), (50, 64), (100, 64), (50, 256), (100, 256)]
LAYERS = 8
MATMUL_DIM = {"full": 2048, "quick": 2048, "check": 256}   # square products: the machine's matrix-product peak
MODES = {
    # runs: timed runs per case (best reported); step: the inner-step table; quickstart: runs of quickstart.py
    "full":  dict(fit=FIT_SHAPES, lp=LP_SHAPES, runs=3, epoch_points=65536, n_eval=65536,
                  chunks="1024,2048,4096,8192", step=True, quickstart=3, as_called=FIT_AS_CALLED),
    "quick": dict(fit=[(50, 64, 256), (50, 256, 1024)], lp=[(50, 64), (50, 256)], runs=1,
                  epoch_points=16384, n_eval=32768, chunks="2048,8192", step=False, quickstart=1,
                  as_called=FIT_AS_CALLED),
    "check": dict(fit=[(10, 16, 256)], lp=[(10, 16)], runs=1, epoch_points=1024, n_eval=4096,
                  chunks="1024,2048", step=False, quickstart=0, as_called=[(10, 16, 256, "0.0")]),
}


# --- the machine ----------------------------------------------------------------------------
def busy_jiffies():
    """CPU time (seconds, all cores) the whole machine spent busy since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)      # idle + iowait
    busy = sum(fields[:8]) - idle                                  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def children_cpu():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine_info(threads):
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        cores_available = len(os.sched_getaffinity(0))
    except AttributeError:
        cores_available = os.cpu_count()
    try:
        with open("/proc/meminfo") as f:
            mem_gib = int(f.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        mem_gib = None
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, env=env)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "minflow"], cwd=ROOT, capture_output=True, env=env)
    return dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                cpu=cpu, cores=os.cpu_count(), cores_available=cores_available, memory_gib=mem_gib,
                os=f"{platform.system()} {platform.release()}", python=platform.python_version(),
                threads=threads, commit=git.stdout.strip() or "unknown",
                minflow_modified=dirty.returncode == 1, load_start=os.getloadavg())


# --- running one case -----------------------------------------------------------------------
def child_env(threads):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINFLOW_")}
    env.update({var: str(threads) for var in THREAD_VARS})
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_case(spec, threads, timeout=1800):
    """Run bench_one.py for ``spec`` (a dict of its options) in a fresh process; its result dict."""
    cmd = [sys.executable, os.path.join(HERE, "bench_one.py"), "--threads", str(threads)]
    for key, value in spec.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    load, busy0, mine0, t0 = os.getloadavg(), busy_jiffies(), children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(threads), cwd=ROOT, timeout=timeout)
    wall, busy1, mine1 = time.perf_counter() - t0, busy_jiffies(), children_cpu()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(process_seconds=wall, load_before_process=load)
    if busy0 is not None:  # the CPU time everything else on the machine used meanwhile, in cores
        result["other_cores"] = max(0.0, (busy1 - busy0) - (mine1 - mine0)) / wall
    return result


def describe(r):
    if r["task"] == "matmul":
        return f"matmul  numpy {r['dim']}x{r['dim']} {r['dtype']}: {r['rate'] / 1e9:,.1f} GFLOP/s  ({r['process_seconds']:.1f} s)"
    if r["task"] == "agree":
        return f"agree   {r['dtype']} D={r['dim']}: max rel diff {r['max_rel_diff']:.1e} ({'ok' if r['ok'] else 'FAIL'})"
    shape = f"D={r['dim']} {r['layers']}x{r['width']}" + (f" B={r['batch']}" if r["batch"] else "")
    extra = f" (chunk {r['chunk']})" if "chunk" in r else ""
    extra += f" [{r['engine']}]" if r.get("engine") and r["task"] == "step" else ""
    other = f", other load {r['other_cores']:.2f} cores" if "other_cores" in r else ""
    return (f"{r['task']:8s} {r['lib']:7s} {shape} {r['dtype']}: {r['rate']:,.1f} {r['unit']}{extra}"
            f"  ({r['process_seconds']:.1f} s{other})")


def plan(mode, have_torch):
    cfg = MODES[mode]
    libs = ["minflow", "torch"] if have_torch else ["minflow"]
    cases = []
    if have_torch:
        width = 16 if mode == "check" else 64
        for dt in (("float64",) if mode == "check" else DTYPES):
            cases.append(dict(lib="minflow", task="agree", dim=10, width=width, dtype=dt))
    i = 0
    for dim, width, batch in cfg["fit"]:
        for dt in DTYPES if mode != "check" else ("float32",):
            order = libs if i % 2 == 0 else libs[::-1]   # alternate who goes first: drift hits both alike
            i += 1
            cases += [dict(lib=lib, task="fit", dim=dim, width=width, batch=batch, dtype=dt, runs=cfg["runs"],
                           epoch_points=cfg["epoch_points"]) for lib in order]
    for dim, width, batch, validation in cfg["as_called"]:
        for dt in DTYPES if mode != "check" else ("float32",):
            order = libs if i % 2 == 0 else libs[::-1]
            i += 1
            cases += [dict(lib=lib, task="fit", dim=dim, width=width, batch=batch, dtype=dt, runs=cfg["runs"],
                           epoch_points=cfg["epoch_points"], validation=validation) for lib in order]
    for dim, width in cfg["lp"]:
        for dt in DTYPES if mode != "check" else ("float32",):
            order = libs if i % 2 == 0 else libs[::-1]
            i += 1
            cases += [dict(lib=lib, task="log_prob", dim=dim, width=width, dtype=dt, runs=cfg["runs"],
                           n_eval=cfg["n_eval"], chunks=cfg["chunks"]) for lib in order]
    for dt in DTYPES if mode != "check" else ("float64",):  # the peak of the thesis seed's arithmetic floor
        cases.append(dict(lib="minflow", task="matmul", dim=MATMUL_DIM[mode], width=0, dtype=dt, runs=cfg["runs"]))
    if cfg["step"]:
        for dim, width, batch in cfg["fit"]:
            for dt in DTYPES:
                for lib, engine in [("minflow", "primitives"), ("minflow", "manual"), ("torch", None)]:
                    if lib in libs:
                        cases.append(dict(lib=lib, task="step", engine=engine, dim=dim, width=width, batch=batch,
                                          dtype=dt, runs=cfg["runs"]))
    for case in cases:
        case.setdefault("layers", LAYERS)
    return cases


# --- the README's quick start ---------------------------------------------------------------
def time_quickstart(runs, burners=0):
    """Wall seconds of ``python benchmarks/quickstart.py`` (fresh process, library defaults for threads),
    with ``burners`` CPU-bound processes (python -c 'while True: pass') running beside it."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS and not k.startswith("MINFLOW_")}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(burners)]
    try:
        if procs:
            time.sleep(1.0)
        out = []
        for _ in range(runs):
            load = os.getloadavg()
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, os.path.join(HERE, "quickstart.py")], capture_output=True,
                                  text=True, env=env, cwd=ROOT, timeout=600)
            wall = time.perf_counter() - t
            if proc.returncode != 0:
                raise RuntimeError(f"quickstart.py failed:\n{proc.stderr[-3000:]}")
            inner = json.loads(proc.stdout.strip().splitlines()[-1])
            out.append(dict(process_seconds=wall, load_before=load, **inner))
        return dict(burners=burners, runs=out, best=min(r["process_seconds"] for r in out))
    finally:
        for p in procs:
            p.kill()
            p.wait()


def quickstart_in_sync():
    """Whether benchmarks/quickstart.py holds README.md's quick-start block, verbatim."""
    def block(text, start, end):
        i = text.index(start) + len(start)
        return text[i:text.index(end, i)].strip()
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = block(f.read(), "## Quick start\n```python\n", "```")
    with open(os.path.join(HERE, "quickstart.py")) as f:
        copy = block(f.read(), "# --- README quick start: begin\n", "# --- README quick start: end")
    return readme == copy


# --- results.json ---------------------------------------------------------------------------
def load_results(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {"runs": []}
    return data if isinstance(data.get("runs"), list) else {"runs": []}   # the old single-run format is dropped


def save_results(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="smoke run: 2 shapes per task, 1 run (minutes)")
    group.add_argument("--check", action="store_true", help="1 tiny case per contender (seconds); writes nothing")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads of every contender (default 2; --check: 1, it tests the plumbing, not the speed)")
    ap.add_argument("--out", default=None, help=f"results file to append to (default {RESULTS}; --check: none)")
    ap.add_argument("--fresh", action="store_true", help="start the results file anew instead of appending")
    ap.add_argument("--no-torch", action="store_true", help="minflow only")
    ap.add_argument("--no-quickstart", action="store_true", help="skip timing the README's quick start")
    args = ap.parse_args()
    mode = "check" if args.check else "quick" if args.quick else "full"
    if args.threads is None:
        args.threads = 1 if mode == "check" else 2
    try:
        import torch  # noqa: F401  (only to know whether it is there; the cases import it in their own process)
        have_torch = not args.no_torch
    except ImportError:
        if mode == "full" and not args.no_torch:
            sys.exit("PyTorch is not installed: .venv/bin/python -m pip install torch==2.13.0 (or pass --no-torch)")
        have_torch = False
        print("PyTorch not installed: minflow only", flush=True)
    out = args.out if args.out else (None if mode == "check" else RESULTS)
    data = load_results(out) if out and not args.fresh else {"runs": []}
    run = dict(mode=mode, info=machine_info(args.threads), config={k: v for k, v in MODES[mode].items()},
               cases=[], quickstart=[], complete=False)
    data["runs"].append(run)
    t0, busy0, mine0 = time.perf_counter(), busy_jiffies(), children_cpu()
    run["info"]["quickstart_matches_readme"] = in_sync = quickstart_in_sync()
    if not in_sync:
        print("WARNING: benchmarks/quickstart.py differs from README.md's quick start: copy it over", flush=True)
    cases = plan(mode, have_torch)
    for i, spec in enumerate(cases):
        r = run_case(spec, args.threads)
        run["cases"].append(r)
        print(f"[{i + 1}/{len(cases)}] {describe(r)}", flush=True)
        if r["task"] == "agree" and not r["ok"]:
            sys.exit("minflow and torch_model.py disagree: the benchmark would compare different models")
        if out:
            save_results(out, data)
    if MODES[mode]["quickstart"] and not args.no_quickstart:
        for burners in (0, 2):
            q = time_quickstart(MODES[mode]["quickstart"], burners)
            run["quickstart"].append(q)
            print(f"quickstart with {burners} CPU-bound processes beside it: best {q['best']:.1f} s "
                  f"(runs: {', '.join('%.1f' % r['process_seconds'] for r in q['runs'])})", flush=True)
    wall = time.perf_counter() - t0
    run["info"].update(load_end=os.getloadavg(), seconds=wall)
    if busy0 is not None:
        run["info"]["other_cores_mean"] = max(0.0, (busy_jiffies() - busy0) - (children_cpu() - mine0)) / wall
    run["complete"] = True
    if out:
        save_results(out, data)
    if out and mode != "check":
        sys.path.insert(0, HERE)
        from report import write
        md = write(out, readme=False if args.out else None)  # a results file of one's own leaves README alone
        print(f"wrote {out} and {md} in {wall / 60:.1f} min", flush=True)
    else:
        print(f"check done in {wall:.0f} s", flush=True)


if __name__ == "__main__":
    main()
