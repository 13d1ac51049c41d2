"""The thesis-scale reproduction in RESULTS.md: each committed seed's wall time, where it goes, and a floor.

The 20-minute target of issue 12 is judged on the fastest seed done in one go; the floor is what
training and the model's log_prob alone take at the rates `make bench` measured.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
THESIS_MINUTES = 20.0  # issue 12: thesis-scale make reproduce, one seed, 2 cores


def section_lines(thesis, run):
    """Markdown lines of RESULTS.md's section (thesis: ``thesis_timing()``; run: the benchmark's ``Run``)."""
    L = []
    L.append("## Thesis-scale reproduction: where its time goes\n")
    every = "; ".join(f"seed {t['seed']}: {t['wall_s'] / 60:.1f} min"
                      + ("" if t["whole"] else " (resumed: its last part only)") for t in thesis["seeds"])
    L.append(f"Wall time of each committed seed (`reproduction/thesis/seed<k>/run.json`): {every}. "
             "The seeds ran beside other work of this project's sessions, so they are not quiet measurements.\n")
    L.append(f"The fastest seed done in one go, seed {thesis['seed']} (`make reproduce`, run of {thesis['finished']}, "
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
    floor = thesis_floor(run, thesis.get("settings"))
    if floor:
        L.append(f"**A floor from this benchmark's own rates.** Training alone ({floor['steps']:,} `fit` steps "
                 f"over the {len(floor['dims'])} dimensions) and the model's `log_prob` alone "
                 f"({floor['points'] / 1e6:,.0f} million test points) take at least {floor['train_s'] / 60:.1f} + "
                 f"{floor['logp_s'] / 60:.1f} = {(floor['train_s'] + floor['logp_s']) / 60:.1f} min at the "
                 "2-thread rates measured above (float64, 8 x [64, 64], batch 256, each D at the rate of the "
                 "nearest measured D at or below it, which is faster), before sampling, the true density, "
                 f"AUROC/TNR and the rest: the {THESIS_MINUTES:.0f}-minute target would need both calls "
                 f"{(floor['train_s'] + floor['logp_s']) / (60 * THESIS_MINUTES):.1f}x faster than measured"
                 + _torch_floor(thesis_floor(run, thesis.get("settings"), lib="torch")) + ".\n")
    return L


def thesis_timing(root=None):
    """The committed thesis-scale seeds' timing: the fastest run done in one go, and every seed; None if none.

    A seed counts as done in one go when its last invocation trained every model and evaluated
    (nearly) every cell: a resumed seed's wall time covers only its last part, so it is listed
    but not judged."""
    root = root or os.path.join(HERE, "..", "reproduction", "thesis")
    seeds = []
    for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        t = _seed_timing(os.path.join(root, name, "run.json"))
        if name.startswith("seed") and t:
            seeds.append({"seed": name[4:], **t})
    whole = [t for t in seeds if t["whole"]]
    if not seeds:
        return None
    best = min(whole or seeds, key=lambda t: t["wall_s"])
    return {**best, "seeds": seeds}


def thesis_floor(run, settings, lib="minflow", width=64, batch=256, dtype="float64"):
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
        lp_rate = run.rate(lib, "log_prob", near, width, dtype)
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
