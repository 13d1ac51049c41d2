"""The C10 settling experiment's figure and its section of REPRODUCTION.md, from a finished sweep folder.

    points, decision = load("reproduction/regimes")              # points.csv, decision.json
    regime_map(points, decision, "reproduction/regimes/regime_map.png")
    lines = regimes_markdown("reproduction/regimes", rel)         # every number from those files
"""
import math
import os
from collections import defaultdict

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from ..pipeline import run_files  # noqa: E402
from .figure_tools import FIGURE_DPI  # noqa: E402
from ..verdicts.multiseed import fmt, fmt_pm  # noqa: E402
from .regimes import PERTURBED, tnr_key  # noqa: E402

DECISION_COMMIT = "e13d8ba"   # regimes.py (the sweep and its decision rule) committed here, before the run
THESIS_TNR = {(1.0, 0.0): 0.02, (0.25, 0.5): 0.0}     # C10, TNR(p_theta), section 8.2, D = 50
THESIS_TNR_P = {(1.0, 0.0): 0.38, (0.25, 0.5): 0.91}  # the thesis's true density on the same sets
TEXT_COLUMNS, INT_COLUMNS = ("data", "model"), ("seed", "epoch", "n_nonfinite")
MARKERS = "os^DvPX*"


def read_points(path):
    """points.csv -> [point dict] with ints, floats and the names (a bad file: ``run_files.ResultFileError``)."""
    return run_files.read_csv(path, "points", TEXT_COLUMNS, INT_COLUMNS)


def load(out_dir):
    """(points, decision record) of a finished sweep folder (``regimes_run.run_regimes``)."""
    return read_points(os.path.join(out_dir, "points.csv")), run_files.read_json(os.path.join(out_dir, "decision.json"), dict)


def ratio(p):
    """gap / sd(log p): the fit in the units of the C1 standard."""
    return p["gap"] / p["sd_logp"]


_name = "q_delta({:g}, {:g})".format


def _true_tnr(points, s, t):
    """TNR(p) on q_delta(s, t) per seed (the same in every point of a seed)."""
    return list({p["seed"]: p[f"tnr_p_s{s:g}_t{t:g}"] for p in points}.values())


DIVERGED = 1e3   # gap / sd(log p) beyond this (a diverged fit) is drawn at the right edge of the map


def regime_map(points, decision, path):
    """Two panels (one per perturbed set): TNR(p_theta) against gap / sd(log p), every checkpoint and seed."""
    datas, models = list(dict.fromkeys(p["data"] for p in points)), list(dict.fromkeys(p["model"] for p in points))
    colour = {d: plt.cm.tab10(i % 10) for i, d in enumerate(datas)}
    marker = {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(models)}
    gap_bar, tnr_bar = decision["rule"]["gap_bar"], decision["rule"]["tnr_bar"]
    xs = [x for x in map(ratio, points) if 0 < x <= DIVERGED]
    lo, hi = min(min(xs, default=1.0) / 2, gap_bar / 4), max(max(xs, default=1.0) * 2, gap_bar * 4)
    clip = lambda x: min(max(x, lo), hi)  # noqa: E731  (0, inf and diverged fits at the edges)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), layout="constrained", sharey=True)
    best = decision.get("smallest_gap")
    for ax, (s, t) in zip(axes, PERTURBED):
        ax.fill_between([lo, gap_bar], -0.03, tnr_bar, color="tab:green", alpha=0.15, lw=0,
                        label="C1 fit and C10's TNR (pre-registered rule)")
        for d in datas:
            for m in models:
                sel = [p for p in points if p["data"] == d and p["model"] == m]
                if sel:
                    ax.scatter([clip(ratio(p)) for p in sel], [p[tnr_key(s, t)] for p in sel], color=colour[d],
                               marker=marker[m], alpha=0.45, s=22, linewidths=0)
        ax.axhline(THESIS_TNR[(s, t)], ls=":", color="black", lw=1.3, label="the thesis's TNR(p_theta)")
        true = _true_tnr(points, s, t)
        ax.axhline(sum(true) / len(true), ls="--", color="dimgrey", lw=1.2,
                   label="true density's TNR (mean over seeds)")
        ax.axvline(gap_bar, color="tab:green", lw=1.0, label=f"C1 standard (gap = {gap_bar:g} sd(log p))")
        if best:
            ax.scatter([clip(ratio(best))], [best[tnr_key(s, t)]], s=130, facecolors="none", edgecolors="red",
                       linewidths=1.3, label=f"smallest gap with TNR <= {tnr_bar:g} on both sets")
        ax.set(xscale="log", xlim=(lo, hi), ylim=(-0.03, 1.03),
               xlabel=f"gap / sd(log p) on Q(p) (> {DIVERGED:g}: right edge)",
               ylabel="TNR(p_theta) at TPR 0.975" if s == PERTURBED[0][0] else None)
        ax.set_title(f"perturbed set {_name(s, t)}", fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [Line2D([], [], ls="", marker="o", color=colour[d]) for d in datas]
    handles += [Line2D([], [], ls="", marker=marker[m], color="grey") for m in models]
    labels += [f"training data: {d}" for d in datas] + [f"model: {m}" for m in models]
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def _where(p):
    return f"{p['data']} data, model {p['model']}, epoch {p['epoch']}, seed {p['seed']}"


def _tnrs(p):
    return " and ".join(f"{fmt(p[tnr_key(s, t)])} on {_name(s, t)}" for s, t in PERTURBED)


def _answer(points, dec):
    """The answer paragraph, worded from the result; every number from points.csv and decision.json."""
    rule, n_seeds = dec["rule"], len(dec["sweep"]["seeds"])
    gap_bar, tnr_bar, k = rule["gap_bar"], rule["tnr_bar"], rule["min_seeds"]
    if dec["reproducible"]:
        parts = []
        for data, model, epoch, met in dec["configurations"]:
            sel = [p for p in points if (p["data"], p["model"], p["epoch"]) == (data, model, epoch)]
            parts.append(f"{data} data, model {model}, epoch {epoch}: met in {met} of {n_seeds} seeds; over the seeds "
                         f"gap {fmt_pm([ratio(p) for p in sel])} sd(log p), TNR(p_theta) "
                         + " and ".join(f"{fmt_pm([p[tnr_key(s, t)] for p in sel])} on {_name(s, t)}"
                                        for s, t in PERTURBED))
        text = (f"**Reproducible.** {len(parts)} configuration{'s' * (len(parts) > 1)} met the rule in at least "
                f"{k} of {n_seeds} seeds: " + "; ".join(parts) + ".")
    else:
        text = (f"**Not reproducible in this sweep:** no configuration met the rule in {k} of {n_seeds} seeds "
                f"({len(points)} checkpoints scored).")
        best = dec["smallest_gap"]
        text += (f" The smallest gap at which a checkpoint had TNR(p_theta) <= {tnr_bar:g} on both perturbed sets was "
                 f"{fmt(ratio(best))} sd(log p) ({_where(best)}; TNR(p_theta) {_tnrs(best)}), "
                 f"{fmt(ratio(best) / gap_bar)} times the C1 standard." if best else
                 f" No checkpoint had TNR(p_theta) <= {tnr_bar:g} on both perturbed sets.")
    fitted = [p for p in points if p["gap"] <= gap_bar * p["sd_logp"]]
    if fitted:
        lows = [(min(fitted, key=lambda p: p[tnr_key(s, t)]), s, t) for s, t in PERTURBED]
        text += (f" For contrast, the {len(fitted)} checkpoints that met the C1 standard reached at best TNR(p_theta) "
                 + " and ".join(f"{fmt(p[tnr_key(s, t)])} on {_name(s, t)} ({_where(p)})" for p, s, t in lows) + ".")
    else:
        p = min(points, key=ratio)
        text += (f" No checkpoint met the C1 standard; the closest fit was {fmt(ratio(p))} sd(log p) ({_where(p)}), "
                 f"with TNR(p_theta) {_tnrs(p)}.")
    thesis, thesis_p = (" and ".join(f"{tab[st]:g}" for st in PERTURBED) for tab in (THESIS_TNR, THESIS_TNR_P))
    true = " and ".join(f"{fmt_pm(_true_tnr(points, s, t))}" for s, t in PERTURBED)
    text += f" (The thesis: TNR(p_theta) {thesis}, TNR(p) {thesis_p}; the true density here: TNR(p) {true} over the seeds.)"
    if dec["not_reached"]:
        stops = defaultdict(list)
        for seed, data, model, epoch in dec["not_reached"]:
            stops[(data, model, seed)].append(epoch)
        text += (f" {len(dec['not_reached'])} checkpoints were not reached because training diverged: "
                 + "; ".join(f"{d}, {m}, seed {k}: epochs {', '.join(map(str, e))}" for (d, m, k), e in stops.items())
                 + ".")
    return text


def _table(points, dec):
    """Per (data, model): the last checkpoint of every seed, mean +- sd over seeds."""
    lines = ["| training data | model | epoch | gap / sd(log p) | " + " | ".join(
        f"TNR(p_theta) {_name(s, t)}" for s, t in PERTURBED) + " |", "| --- | --- | --- | --- |" + " --- |" * len(PERTURBED)]
    for data in dec["sweep"]["data"]:
        for model in dec["sweep"]["models"]:
            last = {}
            for p in points:
                if (p["data"], p["model"]) == (data["name"], model["name"]) and p["epoch"] >= last.get(p["seed"], p)["epoch"]:
                    last[p["seed"]] = p
            if last:
                sel = list(last.values())
                epochs = "/".join(str(e) for e in sorted({p["epoch"] for p in sel}))
                lines.append(f"| {data['name']} | {model['name']} | {epochs} | {_fmt_gaps([ratio(p) for p in sel])} | "
                             + " | ".join(fmt_pm([p[tnr_key(s, t)] for p in sel]) for s, t in PERTURBED) + " |")
    return lines


def _fmt_gaps(values):
    """mean +- sd of the finite gaps, and how many seeds' flows gave no finite density on Q(p)."""
    bad = sum(not math.isfinite(v) for v in values)
    if bad == len(values):
        return f"inf in all {bad} seeds"
    return fmt_pm(values) + (f" ({bad} of {len(values)} seeds: inf)" if bad else "")


def _settings(dec):
    sw = dec["sweep"]
    data = ", ".join(f"{d['name']} (checkpoints {'/'.join(map(str, d['checkpoints']))})" for d in sw["data"])
    models = ", ".join(f"{m['name']} ({m['n_layers']} x {m['hidden']}, "
                       f"{'s_max = ' + format(m['s_max'], 'g') if m['s_max'] is not None else 'unbounded scale'}, "
                       f"{'reverse permutations' if m['permutation'] == 'reverse' else 'halves alternating'})"
                       for m in sw["models"])
    return (f"Settings: D = {sw['dim']}; seeds {', '.join(map(str, sw['seeds']))}; {sw['n_eval']:,} evaluation points "
            f"per set, TPR {sw['tpr']:g}; Adam, rate {sw['lr']:g} ({sw['schedule']}), batch {sw['batch_size']}, "
            f"fresh data {sw['epoch_size']:,} points per epoch; training data: {data}; models: {models}.")


def regimes_markdown(out_dir, rel):
    """Markdown lines of the sweep's section (rel: a path -> the link to it), from its points.csv and decision.json."""
    points, dec = load(out_dir)
    rule, n_seeds = dec["rule"], len(dec["sweep"]["seeds"])
    fig = os.path.join(out_dir, "regime_map.png")
    lines = ["## Is C10 reproducible under the thesis's own fit? (pre-registered)", "",
             "C10 (section 8.2, D = 50): a flow trained on p flags almost none of the perturbed sets, while the thesis "
             "also says its flow fitted p closely (C1). The sweep and its decision rule "
             f"(`minflow/thesis/documents/regimes.py`) were committed in `{DECISION_COMMIT}`, before the run: C10 "
             "counts as reproducible under the thesis's own fit if some configuration (training data, model, "
             f"checkpoint epoch) has, in at least {rule['min_seeds']} of {n_seeds} seeds, a gap <= {rule['gap_bar']:g} "
             f"sd(log p) on Q(p) (the C1 standard) and TNR(p_theta) <= {rule['tnr_bar']:g} on both perturbed sets. "
             "Command: `make regimes` (`python -m minflow regimes --workers 2`).", "",
             _answer(points, dec), "", _settings(dec), "",
             "The last checkpoint of each configuration, mean +- sd over the seeds:", ""]
    lines += _table(points, dec) + ["", f"Every checkpoint: [points.csv]({rel(os.path.join(out_dir, 'points.csv'))}); "
                                    f"the rule's answer: [decision.json]({rel(os.path.join(out_dir, 'decision.json'))}).", ""]
    if os.path.exists(fig):
        lines += [f"![TNR(p_theta) against the fit, every checkpoint and seed]({rel(fig)})", ""]
    return lines
