"""Render the benchmark's results (a dict, see bench.py) as benchmarks/RESULTS.md, targets first."""
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def gmean(xs):
    xs = [x for x in xs if x is not None]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def mark(ok):
    return "**met**" if ok else "**missed**"


def _shape(r):
    return (r["dim"], r["layers"], r["width"], r.get("batch"))


def targets(res):
    rows, train, lp = [], res["train"], res["log_prob"]
    peak = res["peak"]
    have_torch = any("torch" in r for r in train)
    for r in lp:
        if r["dim"] in (50, 100) and r["layers"] == 8 and r["width"] == 256:
            frac = r["minflow"] * r["flops"] / (peak[r["dtype"]] * 1e9)
            label = f"D={r['dim']}, 8x256, {r['dtype']}"
            if "torch" in r:
                ratio = r["minflow"] / r["torch"]
                rows.append((f"log_prob >= 1.0x PyTorch ({label})", f"{ratio:.2f}x", mark(ratio >= 1.0)))
            rows.append((f"log_prob >= 45% of matmul peak ({label})", f"{100 * frac:.0f}%", mark(frac >= 0.45)))
    if have_torch:
        g = gmean([r["primitives"] / r["torch"] for r in train])
        rows.append(("training, default engine, within 1.5x of PyTorch (geomean: >= 0.67x)",
                     f"{g:.2f}x PyTorch's steps/s", mark(g >= 1 / 1.5)))
        g = gmean([r["manual"] / r["torch"] for r in train])
        rows.append(("training, manual engine, >= 1.1x PyTorch (geomean)", f"{g:.2f}x", mark(g >= 1.1)))
    speedups = [r["primitives"] / r["reference"] for r in train]
    g = gmean(speedups)
    rows.append(("training, default engine >= 2x straightforward autograd (geomean; min)",
                 f"{g:.2f}x; min {min(speedups):.2f}x", mark(g >= 2.0)))
    worst, n_slow, n_pairs = float32_pairs(res)
    rows.append(("float32 at least as fast as float64, every configuration",
                 f"{n_slow} of {n_pairs} pairs slower; worst f32/f64 = {worst:.2f}", mark(n_slow == 0)))
    m = res["memory"]
    rows.append(("1,000,000 samples, D=100: peak memory < 1 GiB (whole process, incl. the 0.4 GB input)",
                 f"{m['peak_rss'] / 2**30:.2f} GiB", mark(m["peak_rss"] < 2**30)))
    est = thesis_scale_minutes(lp)
    if est is not None:
        rows.append(("`make reproduce` at thesis scale < 30 min: its 288 x 10^6 log_prob evaluations "
                     "(8 couplings x (64, 64), float64, 72 sets per D in {10, 20, 50, 100})",
                     f"~{est:.0f} min on one thread (estimate)", mark(est < 30) + " (estimate, evaluation only)"))
    rows.append(("GPU (CuPy): thesis grid < 2 min on one H100", "not measured (no GPU in this session)",
                 "**not measured**"))
    return rows


def thesis_scale_minutes(lp):
    """72 test sets of 10^6 points per D, at the measured rate of the reproduce model (D=20: D=50's rate)."""
    rate = {r["dim"]: r["minflow"] for r in lp if r["layers"] == 8 and r["width"] == 64 and r["dtype"] == "float64"}
    if not {10, 50, 100} <= set(rate):
        return None
    rate[20] = rate[50]
    return sum(72e6 / rate[d] for d in (10, 20, 50, 100)) / 60


def float32_pairs(res):
    """Compare float32 with float64 for every shape and contender of minflow."""
    ratios = []
    by = {(_shape(r), r["dtype"]): r for r in res["train"]}
    for (shape, dt), r in by.items():
        if dt == "float32" and (shape, "float64") in by:
            r64 = by[(shape, "float64")]
            ratios += [r[e] / r64[e] for e in ("primitives", "manual")]
    by = {(_shape(r), r["dtype"]): r for r in res["log_prob"]}
    for (shape, dt), r in by.items():
        if dt == "float32" and (shape, "float64") in by:
            ratios.append(r["minflow"] / by[(shape, "float64")]["minflow"])
    return (min(ratios) if ratios else float("nan")), sum(x < 1.0 for x in ratios), len(ratios)


def train_table(res):
    peak = res["peak"]
    lines = ["| D | K | width | batch | dtype | naive | autograd | manual | torch | autograd/torch | manual/torch "
             "| autograd/naive | manual % peak |", "|" + "---|" * 13]
    for r in res["train"]:
        t = r.get("torch")
        frac = r["manual"] * r["gflops_per_step"] / peak[r["dtype"]]
        tcol, ra, rm = (f"{t:.1f}", f"{r['primitives'] / t:.2f}", f"{r['manual'] / t:.2f}") if t else ("-",) * 3
        lines.append(f"| {r['dim']} | {r['layers']} | {r['width']} | {r['batch']} | {r['dtype']} "
                     f"| {r['reference']:.1f} | {r['primitives']:.1f} | {r['manual']:.1f} | {tcol} | {ra} "
                     f"| {rm} | {r['primitives'] / r['reference']:.2f} | {100 * frac:.0f}% |")
    return "\n".join(lines)


def lp_table(res):
    peak = res["peak"]
    lines = ["| D | K | width | dtype | reference | minflow (chunk) | torch (chunk) | minflow/torch "
             "| minflow % peak |",
             "|" + "---|" * 9]
    for r in res["log_prob"]:
        frac = r["minflow"] * r["flops"] / (peak[r["dtype"]] * 1e9)
        t = f"{r['torch']:,.0f} ({r['torch_chunk']})" if "torch" in r else "-"
        ratio = f"{r['minflow'] / r['torch']:.2f}" if "torch" in r else "-"
        lines.append(f"| {r['dim']} | {r['layers']} | {r['width']} | {r['dtype']} | {r['reference']:,.0f} "
                     f"| {r['minflow']:,.0f} ({r['minflow_chunk']}) | {t} | {ratio} | {100 * frac:.0f}% |")
    return "\n".join(lines)


def memory_line(m):
    return (f"Peak memory, 1,000,000 x D=100 float32 in a fresh process: {m['peak_rss'] / 2**30:.2f} GiB "
            f"(input alone {m['input_bytes'] / 2**30:.2f} GiB), {m['samples_per_s']:,.0f} samples/s.")


def render(res):
    info = res["info"]
    out = ["# minflow benchmark results", "",
           f"Generated by `benchmarks/bench.py{' --quick' if info['quick'] else ''}` on {info['date']} "
           f"in {info['seconds'] / 60:.1f} min.", "",
           "## Machine and versions", ""]
    for k in ("cpu", "cores", "threads", "avx512", "python", "numpy", "blas", "scipy", "autograd", "torch", "zuko",
              "normflows", "minflow"):
        if k in info:
            out.append(f"- {k}: {info[k]}")
    out.append(f"- load average before / after the run: {info['load_before'][0]:.1f} / {info['load_after'][0]:.1f} "
               f"(other jobs share this machine; see the notes on noise below)")
    p, tp = res["peak"], res.get("torch_peak", {})
    out += ["", "## Practical matmul peak (best rate seen in the run: 4096^2 products at start and end, "
            "2048^2 products between cases)", "",
            "| dtype | NumPy GFLOP/s | PyTorch GFLOP/s |", "|---|---|---|"]
    for dt in ("float32", "float64"):
        out.append(f"| {dt} | {p[dt]:.0f} | {tp[dt]:.0f} |" if tp else f"| {dt} | {p[dt]:.0f} | - |")
    if "peak_start_end" in info:
        out.append("\nMeasured at the start / end of the run: " + ", ".join(
            f"{dt} {a:.0f} / {b:.0f}" for dt, (a, b) in info["peak_start_end"].items()) + " GFLOP/s (NumPy).")
    out += ["", "## Targets (issue 7)", "", "| target | measured | verdict |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in targets(res)]
    out += ["", "## Training: steps per second (batch of `batch` points, including the Adam update)", "",
            train_table(res), "",
            "## log_prob: samples per second (target shapes: best of chunk sizes 1024/2048/4096 per side, "
            "32,768 points; other shapes: chunk 2048, 8,192 points)", "",
            lp_table(res), "", memory_line(res["memory"]), ""]
    notes = os.path.join(HERE, "NOTES.md")
    if os.path.exists(notes):
        out += [open(notes).read()]
    return "\n".join(out) + "\n"
