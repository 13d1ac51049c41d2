#!/usr/bin/env bash
# The first GPU run of minflow, in one command, on a machine with an NVIDIA GPU (CUDA 12):
#
#     bash benchmarks/gpu_check.sh            # from the repository root (make install done, or it runs it)
#
# 1. installs cupy-cuda12x into .venv if it is missing (the `gpu` extra of pyproject.toml);
# 2. runs the GPU tests: pytest -m gpu tests/test_backend.py (they skip themselves without CuPy/GPU,
#    so "N skipped" means the GPU was NOT exercised: the script then fails);
# 3. times log_prob (flow.to("cupy")) and fit (MINFLOW_BACKEND=cupy, engine="manual": training on
#    CuPy needs the manual engine) against the same model on the CPU, and writes everything to
#    benchmarks/gpu_results.json (and prints it).
# Environment: PYTHON (default .venv/bin/python), SHAPES_QUICK=1 for a 1-minute version,
# N_EVAL (points per log_prob call, default 1,048,576), FIT_STEPS (steps per timed epoch, default 64).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=benchmarks/gpu_results.json
LOG=benchmarks/gpu_check.log

[ -x "$PY" ] || make install
nvidia-smi || { echo "nvidia-smi failed: no usable NVIDIA GPU here" >&2; exit 1; }
if ! "$PY" -c "import cupy" 2>/dev/null; then
    "$PY" -m pip install --disable-pip-version-check "cupy-cuda12x>=13,<15"
fi
"$PY" -c "import cupy; n = cupy.cuda.runtime.getDeviceCount(); assert n > 0; print('CuPy', cupy.__version__, '-', n, 'device(s)')"

echo "=== GPU tests: pytest -m gpu tests/test_backend.py" | tee "$LOG"
set +e
"$PY" -m pytest -q -m gpu tests/test_backend.py -rs -p no:cacheprovider 2>&1 | tee -a "$LOG"
TESTS_RC=${PIPESTATUS[0]}
if [ "$TESTS_RC" -eq 5 ]; then   # exit 5: no test carries the gpu mark; the CuPy tests are named test_cupy_*
    echo "=== no test marked gpu: pytest -k cupy tests/test_backend.py" | tee -a "$LOG"
    "$PY" -m pytest -q -k cupy tests/test_backend.py -rs -p no:cacheprovider 2>&1 | tee -a "$LOG"
    TESTS_RC=${PIPESTATUS[0]}
fi
set -e

echo "=== benchmark" | tee -a "$LOG"
TESTS_RC=$TESTS_RC "$PY" - "$OUT" "$LOG" <<'EOF'
import datetime, json, os, platform, subprocess, sys, time

import numpy as np
import cupy

import minflow

out_path, log_path = sys.argv[1], sys.argv[2]
quick = os.environ.get("SHAPES_QUICK") == "1"
log = open(log_path).read()
tail = [line for line in log.splitlines() if ("passed" in line or "skipped" in line or "failed" in line)]


def sync():
    cupy.cuda.Stream.null.synchronize()


def best_of(fn, runs=3):
    fn(); sync()                                  # warm-up: kernels compiled, memory pool filled
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter(); fn(); sync()
        best = min(best, time.perf_counter() - t)
    return best


def flow_for(dim, width, dtype):
    rng = np.random.default_rng(0)
    f = minflow.RealNVP(dim, 8, (width, width), rng=rng, dtype=dtype)
    f.params = [[(w + 0.05 * rng.standard_normal(w.shape).astype(dtype), b) for w, b in layer] for layer in f.params]
    return f


results = []
shapes = [(50, 256)] if quick else [(10, 64), (50, 64), (100, 64), (50, 256), (100, 256)]
n_eval = int(os.environ.get("N_EVAL", 262_144 if quick else 1_048_576))
for dim, width in shapes:
    for dtype in ("float32", "float64"):
        cpu = flow_for(dim, width, dtype)
        x = np.random.default_rng(1).standard_normal((n_eval, dim)).astype(dtype)
        ref = cpu.log_prob(x[:8192])
        n_cpu = min(n_eval, 65536)   # the CPU column is extrapolated from 65,536 points
        t_cpu = best_of(lambda: cpu.log_prob(x[:n_cpu]), runs=2) * n_eval / n_cpu
        gpu = flow_for(dim, width, dtype).to("cupy")
        xg = cupy.asarray(x)
        err = float(np.max(np.abs(cupy.asnumpy(gpu.log_prob(xg[:8192])) - ref)))
        rates = {}
        for chunk in sorted({min(c, n_eval) for c in (8192, 65536, 262144)}):
            rates[chunk] = n_eval / best_of(lambda: gpu.log_prob(xg, chunk_size=chunk))
        best = max(rates, key=rates.get)
        r = dict(task="log_prob", dim=dim, width=width, dtype=dtype, n=n_eval, gpu_points_per_s=rates[best],
                 gpu_chunk=best, gpu_rates_by_chunk=rates, cpu_points_per_s=n_eval / t_cpu,
                 max_abs_diff_vs_cpu=err)
        results.append(r); print(json.dumps(r), flush=True)

fit_shapes = [(50, 256, 1024)] if quick else [(10, 64, 256), (50, 64, 256), (100, 64, 256), (50, 256, 1024),
                                              (100, 256, 1024), (100, 256, 8192)]
for dim, width, batch in fit_shapes:
    for dtype in ("float32", "float64"):
        n = int(os.environ.get("FIT_STEPS", 64)) * batch
        data = np.random.default_rng(1).standard_normal((n, dim)).astype(dtype)
        val = data[:1024]
        os.environ["MINFLOW_BACKEND"] = "cupy"
        try:
            flow = minflow.RealNVP(dim, 8, (width, width), rng=np.random.default_rng(0), dtype=dtype)
            assert flow.backend == "cupy"
            rng = np.random.default_rng(2)
            t = best_of(lambda: minflow.fit(flow, data, rng=rng, epochs=1, batch_size=batch, lr=1e-3,
                                            validation=val, engine="manual"), runs=2)
        finally:
            del os.environ["MINFLOW_BACKEND"]
        r = dict(task="fit", dim=dim, width=width, batch=batch, dtype=dtype, steps=n // batch,
                 gpu_steps_per_s=(n // batch) / t, engine="manual")
        results.append(r); print(json.dumps(r), flush=True)

dev = cupy.cuda.runtime.getDeviceProperties(0)
info = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            gpu=dev["name"].decode() if isinstance(dev["name"], bytes) else dev["name"],
            cupy=cupy.__version__, cuda_runtime=cupy.cuda.runtime.runtimeGetVersion(), numpy=np.__version__,
            minflow=minflow.__version__, python=platform.python_version(), cpu_threads_for_cpu_column=os.cpu_count(),
            tests_exit_code=int(os.environ["TESTS_RC"]), tests_summary=tail[-3:], quick=quick,
            commit=subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip())
with open(out_path, "w") as f:
    json.dump(dict(info=info, results=results), f, indent=1)
print(f"wrote {out_path}")
EOF

if [ "$TESTS_RC" -ne 0 ]; then echo "GPU tests FAILED (exit $TESTS_RC): see $LOG" >&2; exit "$TESTS_RC"; fi
if grep -qE "[0-9]+ skipped" "$LOG" && ! grep -qE "[0-9]+ passed" "$LOG"; then
    echo "GPU tests were all SKIPPED: the GPU path was not exercised (see $LOG)" >&2; exit 1
fi
echo "GPU check done: $OUT"
