"""The thesis-scale reproduction in RESULTS.md: each committed seed's wall time, where it goes, and two floors.

The 20-minute target of issues 12 and 27 is judged on the fastest seed done in one go of the preset that
`make reproduce` uses (thesis32 since issue 27; the float64 preset's seeds are listed beside it). The
floors: what training and the model's log_prob alone take at the rates `make bench` measured, and the
arithmetic floor, the seed's floating-point operations at the machine's matrix-product peak
(``seed_flops``, ``arithmetic_floor``).
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
THESIS_MINUTES = 20.0  # issues 12 and 27: thesis-scale make reproduce, one seed, 2 cores
REPRODUCE_PRESET, FLOAT64_PRESET = "thesis32", "thesis"   # the Makefile's make reproduce, and PRESET=thesis


def section_lines(thesis, run):
    """Markdown lines of RESULTS.md's section (thesis: ``thesis_timing()``; run: the benchmark's ``Run``)."""
    L = []
    L.append("## Thesis-scale reproduction: where its time goes\n")
    every = _seed_walls(thesis["seeds"], " (resumed: its last part only)")
    preset = thesis.get("preset", FLOAT64_PRESET)
    L.append(f"Wall time of each committed seed of the `{preset}` preset (`reproduction/{preset}/seed<k>/run.json`): "
             f"{every}." + _float64_seeds(thesis.get("float64")) + " A seed is not a `make bench` measurement: "
             "it runs beside whatever else the machine is doing, and its run.json does not record that.\n")
    L.append(f"The fastest seed done in one go, seed {thesis['seed']} (`{preset}` preset, run of {thesis['finished']}, "
             f"{thesis['workers']} worker processes x {thesis['threads']} threads; not a `make bench` run): wall "
             f"{thesis['wall_s'] / 60:.1f} min = {thesis['run_s'] / 60:.1f} min training and evaluation + "
             f"{thesis['finish_s'] / 60:.1f} min figures and report. Busy seconds per stage, summed over the "
             "processes:\n")
    L.append("| stage | seconds | share |")
    L.append("|---|---|---|")
    total = sum(thesis["stages"].values()) or 1.0
    for stage, sec in thesis["stages"].items():
        L.append(f"| {stage} | {sec:,.0f} | {100 * sec / total:.0f}% |")
    L.append("")
    score = (thesis.get("settings") or {}).get("eval_dtype") or "float64"
    floor = thesis_floor(run, thesis.get("settings"), lp_dtype=score)
    if floor:
        L.append(f"**A floor from this benchmark's own rates.** Training alone ({floor['steps']:,} `fit` steps "
                 f"over the {len(floor['dims'])} dimensions) and the model's `log_prob` alone "
                 f"({floor['points'] / 1e6:,.0f} million test points) take at least {floor['train_s'] / 60:.1f} + "
                 f"{floor['logp_s'] / 60:.1f} = {(floor['train_s'] + floor['logp_s']) / 60:.1f} min at the "
                 f"2-thread rates measured above (`fit` in float64, `log_prob` in {score}, 8 x [64, 64], batch 256, "
                 "each D at the rate of the "
                 "nearest measured D at or below it, which is faster), before sampling, the true density, "
                 f"AUROC/TNR and the rest: the {THESIS_MINUTES:.0f}-minute target would need both calls "
                 f"{(floor['train_s'] + floor['logp_s']) / (60 * THESIS_MINUTES):.1f}x faster than measured"
                 + _torch_floor(thesis_floor(run, thesis.get("settings"), lib="torch", lp_dtype=score)) + ".\n")
    arith = arithmetic_floor(thesis.get("settings") or {}, run) if thesis.get("settings") else None
    if arith:
        fl, pk = arith["parts"], arith["peak"]
        L.append(f"**The arithmetic floor.** The seed's matrix products come to {arith['flops']:.2g} floating-point "
                 f"operations (`seed_flops`: training {fl['train']:.2g}, the flow on the test points "
                 f"{fl['model_eval']:.2g}, the Gaussians' draws and true log p {fl['gaussian']:.2g}); at the "
                 f"matrix-product peak measured above (NumPy, 2 threads, 2048 x 2048: {pk['float64'] / 1e9:.0f} "
                 f"GFLOP/s in float64, {pk.get('float32', float('nan')) / 1e9:.0f} in float32; the flow's "
                 f"evaluation at the {arith['score_dtype']} peak) they take {arith['seconds'] / 60:.1f} min. The "
                 f"seed's {thesis['run_s'] / 60:.1f} min of training and evaluation are "
                 f"{thesis['run_s'] / arith['seconds']:.1f}x that floor: the seed runs at "
                 f"{100 * arith['seconds'] / thesis['run_s']:.0f}% of the matrix-product peak.\n")
    return L


def _seed_walls(seeds, resumed):
    """"seed k: m min; ..." with ``resumed`` after a seed not done in one go."""
    return "; ".join(f"seed {t['seed']}: {t['wall_s'] / 60:.1f} min" + ("" if t["whole"] else resumed) for t in seeds)


def _float64_seeds(other):
    if not other:
        return ""
    every = _seed_walls(other["seeds"], " (resumed)")
    return f" The float64 preset's (`reproduction/{FLOAT64_PRESET}/seed<k>/run.json`, `make reproduce PRESET=thesis`): {every}."


def thesis_timing(root=None, preset=REPRODUCE_PRESET):
    """The committed thesis-scale seeds' timing: the fastest run done in one go, and every seed; None if none.

    root: the folder of the seeds (default reproduction/<preset>). A seed counts as done in one go when
    its last invocation trained every model and evaluated (nearly) every cell: a resumed seed's wall time
    covers only its last part, so it is listed but not judged. Without root, the float64 preset's
    timing comes along as "float64" when the preset is another."""
    if root is None and preset != FLOAT64_PRESET:
        best = thesis_timing(os.path.join(HERE, "..", "reproduction", preset), preset)
        other = thesis_timing(os.path.join(HERE, "..", "reproduction", FLOAT64_PRESET), FLOAT64_PRESET)
        return {**best, "float64": other} if best else other
    root = root or os.path.join(HERE, "..", "reproduction", preset)
    seeds = []
    for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        t = _seed_timing(os.path.join(root, name, "run.json"))
        if name.startswith("seed") and t:
            seeds.append({"seed": name[4:], **t})
    whole = [t for t in seeds if t["whole"]]
    if not seeds:
        return None
    best = min(whole or seeds, key=lambda t: t["wall_s"])
    return {**best, "seeds": seeds, "preset": preset}


def _coupling_flops(dim, hidden):
    """Multiply-adds x 2 of one affine coupling's conditioner for one point: D/2 -> h -> h -> (s, t) of D/2 each."""
    sizes = [dim // 2, *hidden, 2 * (dim - dim // 2)]
    return sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))


def seed_flops(settings):
    """{"train", "model_eval", "gaussian"}: floating-point operations of one seed, counted in the matrix products.

    train: every epoch's points through the flow forward and backward (3 x forward) plus the validation
    points forward; model_eval: the test sets and Q(p) through the flow; gaussian: the draws x = mu + L z
    (2 D^2 a point) and the true log p (a triangular solve, D^2 a point) of every point, training's too."""
    m, tr = settings["model"], settings["training"]
    cells = len(settings["families"]) * len(settings["S"]) * len(settings["T"])
    n_ref = settings.get("n_reference") or settings["n_test"]
    out = {"train": 0.0, "model_eval": 0.0, "gaussian": 0.0}
    for d in settings["dims"]:
        f = m["n_layers"] * _coupling_flops(d, m["hidden"])
        points = cells * settings["n_test"] + n_ref
        out["train"] += tr["epochs"] * (3 * tr["epoch_size"] + tr["validation"]) * f
        out["model_eval"] += points * f
        out["gaussian"] += points * 3 * d * d + tr["epochs"] * tr["epoch_size"] * 2 * d * d
    return out


def arithmetic_floor(settings, run):
    """Seconds of ``seed_flops`` at the matrix-product peak ``make bench`` measured (the matmul cases, float64
    for training and the Gaussians, the preset's scoring dtype for the model's evaluation), or None."""
    peak = {c["dtype"]: c["rate"] for c in run.cases if c["task"] == "matmul"}
    score = settings.get("eval_dtype") or settings.get("dtype", "float64")
    if "float64" not in peak or score not in peak:
        return None
    fl = seed_flops(settings)
    seconds = (fl["train"] + fl["gaussian"]) / peak["float64"] + fl["model_eval"] / peak[score]
    return {"flops": sum(fl.values()), "parts": fl, "peak": peak, "score_dtype": score, "seconds": seconds}


def thesis_floor(run, settings, lib="minflow", width=64, batch=256, dtype="float64", lp_dtype=None):
    """Seconds that training and the model's log_prob alone take at the measured 2-thread rates, or None."""
    if not settings:
        return None
    dims = settings["dims"]
    steps_per_dim = settings["training"]["epochs"] * -(-settings["training"]["epoch_size"] // batch)
    points_per_dim = settings["n_test"] * len(settings["families"]) * len(settings["S"]) * len(settings["T"])
    train_s = logp_s = 0.0
    for d in dims:
        benched = [c["dim"] for c in run.cases if c["task"] == "fit" and c["width"] == width and c["dim"] <= d]
        if not benched:
            return None
        near = max(benched)
        fit_rate = run.rate(lib, "fit", near, width, dtype, batch)
        lp_rate = run.rate(lib, "log_prob", near, width, lp_dtype or dtype)
        if not (fit_rate and lp_rate):
            return None
        train_s += steps_per_dim / fit_rate
        logp_s += points_per_dim / lp_rate
    return {"dims": dims, "steps": steps_per_dim * len(dims), "points": points_per_dim * len(dims),
            "train_s": train_s, "logp_s": logp_s}


def _torch_floor(floor):
    if not floor:
        return ""
    return (f" (at PyTorch's rates measured above the same floor is {floor['train_s'] / 60:.1f} + "
            f"{floor['logp_s'] / 60:.1f} = {(floor['train_s'] + floor['logp_s']) / 60:.1f} min)")


def _seed_timing(path):
    try:
        with open(path) as f:
            record = json.load(f)
        timing = record.get("timing", {})
    except (OSError, ValueError):
        return None
    stages = timing.get("stage_seconds")
    if not stages:
        return None
    cell_stages = sum(v for k, v in stages.items() if k not in ("train", "figures", "report", "outputs"))
    whole = (stages.get("train", 0.0) >= 0.99 * sum(timing.get("train_s", {}).values())
             and cell_stages >= 0.95 * timing.get("cells_s_total", float("inf")))
    run_s, finish_s = timing["last_invocation_wall_s"], timing.get("finish_wall_s", 0.0)
    return {"wall_s": run_s + finish_s, "run_s": run_s, "finish_s": finish_s, "stages": stages, "whole": whole,
            "workers": timing.get("workers_last_invocation"), "threads": timing.get("threads_per_worker"),
            "finished": timing.get("finished_utc", "?"), "settings": record.get("settings")}
