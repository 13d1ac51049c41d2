"""Beyond the thesis: how do the findings depend on how well the flow fits p?

The thesis trains one model per D. Its findings C4, C6, C8 and C10 are statements
about the model's errors off the training distribution, so they may depend on the fit.
We run the same grid with several model sizes / training budgets and report, per level,
the fit -- train KL = H*(p, p_theta) - H(p) >= 0 (eq. 16-17), measured on Q(p) --
beside the verdicts and the key numbers of those four claims.

    run_capacity("reproduction/capacity", workers=2)   # -> path of capacity.md
"""
import os

import matplotlib.pyplot as plt

from ..pipeline import run_files  # noqa: E402
from ..pipeline.cells import distribution_fingerprint  # noqa: E402
from ..verdicts.claims import check_claims, sep  # noqa: E402
from ..pipeline.config import ExperimentConfig, preset  # noqa: E402
from .figure_tools import FIGURE_DPI  # noqa: E402
from ..pipeline.lookup import cell, dims, train_kl  # noqa: E402
from ..pipeline.runner import run  # noqa: E402
from ..pipeline.verify import checked_table  # noqa: E402

# (name, model fields, training fields): from a clearly under-fitted flow to a longer-trained one,
# and the quick model trained 200 epochs on one fixed set of 2,000 points (over-fitted).
LEVELS = (
    ("under", {"n_layers": 2, "hidden": (8, 8)}, {"epochs": 2}),
    ("small", {"n_layers": 4, "hidden": (32, 32)}, {"epochs": 8}),
    ("quick", {}, {}),
    ("long", {}, {"epochs": 75}),
    ("overfit", {}, {"fixed_train": 2000, "epochs": 200}),
)
FOCUS = ("C4", "C6", "C8", "C10")


def level_config(base, model, training):
    return preset(base, model=dict(model), training=dict(training))


def reusable(config, path):
    """A finished run at ``path`` with exactly this config (the committed quick run, say)."""
    cfg_file, table = os.path.join(path, "config.json"), os.path.join(path, "table.csv")
    fp_file = os.path.join(path, "distributions.json")
    if not (os.path.exists(table) and os.path.exists(cfg_file) and os.path.exists(fp_file)):
        return False
    try:
        return (ExperimentConfig.from_dict(run_files.read_json(cfg_file, dict)).to_dict() == config.to_dict()
                and run_files.read_json(fp_file) == distribution_fingerprint(config))
    except (TypeError, ValueError):  # unreadable records: not reusable
        return False


def key_numbers(table):
    """The numbers behind C4, C6, C8, C10 at each D (None where the grid lacks the cell)."""
    out = {}
    for d in dims(table):
        g = cell(table, d, "generalisation", 1.0, max(r["t"] for r in table))
        pt = cell(table, d, "perturbed", 1.0, 0.0)
        o = cell(table, d, "outlier", 1.0, 0.0)
        out[d] = {"train_kl": train_kl(table, d),
                  "C4 overestimate at s=1, t=max": g and g["Hs_qp"] - g["Hs_qptheta"],
                  "C6 sep(p_theta) perturbed": pt and sep(pt["auroc_ptheta"]),
                  "C6 sep(p) perturbed": pt and sep(pt["auroc_p"]),
                  "C8 overestimate outlier": o and o["Hs_qp"] - o["Hs_qptheta"],
                  "C8 sep(p_theta) outlier": o and sep(o["auroc_ptheta"])}
        outl = [r for r in table if r["D"] == d and r["family"] == "outlier"]
        out[d]["C10 mean TNR(p_theta) outliers"] = sum(r["tnr_ptheta"] for r in outl) / len(outl) if outl else None
    return out


def run_capacity(out_dir, workers=1, base="quick", reuse=None, progress=True):
    """Run every level of ``LEVELS`` on the ``base`` preset's grid; write capacity.{json,md,png}."""
    reuse = reuse if reuse is not None else {"quick": os.path.join("reproduction", base, "seed0")}
    results = []
    for name, model, training in LEVELS:
        config = level_config(base, model, training)
        path = reuse.get(name) if name in reuse and reusable(config, reuse[name]) else os.path.join(out_dir, name)
        if progress:
            print(f"capacity: level {name!r} -> {path}", flush=True)
        table_path = (os.path.join(path, "table.csv") if path == reuse.get(name)
                      else run(config, path, workers=workers, progress=progress))
        rec = run_files.read_json(os.path.join(path, "run.json"), dict)
        table = checked_table(config, os.path.dirname(table_path), rec)  # every row, finite, as recorded
        claims = {c.id: c for c in check_claims(table)}
        results.append({"level": name, "dir": path, "model": config.to_dict()["model"],
                        "training": config.to_dict()["training"],
                        "n_params": {d: m["n_params"] for d, m in rec["models"].items()},
                        "train_s": rec["timing"]["train_s"],
                        "claims": {k: {"verdict": claims[k].verdict, "passed": claims[k].passed,
                                       "total": len(claims[k].checks)} for k in claims},
                        "numbers": {str(d): v for d, v in key_numbers(table).items()}})
    os.makedirs(out_dir, exist_ok=True)
    run_files.write_json(os.path.join(out_dir, "capacity.json"), {"base": base, "levels": results})
    fig = plot_capacity(results, os.path.join(out_dir, "capacity.png"))
    return write_markdown(results, base, out_dir, fig)


def _plot_levels(ax, xs, ys, labels, **kw):
    """Points in level order, joined in order of the fit (x); the over-fitted level as a cross."""
    order = sorted(range(len(xs)), key=lambda k: xs[k])
    line, = ax.plot([xs[k] for k in order], [ys[k] for k in order], "-", alpha=0.6, **kw)
    for x, y, name in zip(xs, ys, labels):
        ax.plot(x, y, "x" if name == "overfit" else "o", color=line.get_color())
    return line


def plot_capacity(results, path):
    """Left: the fraction of checks passed per claim vs mean train KL; right: key numbers per D vs train KL."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), layout="constrained")
    names = [r["level"] for r in results]
    kl = [sum(v["train_kl"] for v in r["numbers"].values()) / len(r["numbers"]) for r in results]
    for cid in FOCUS:
        frac = [r["claims"][cid]["passed"] / max(r["claims"][cid]["total"], 1) for r in results]
        _plot_levels(axes[0], kl, frac, names, label=cid)
    for x, name in zip(kl, names):
        axes[0].annotate(name, (x, 1.02), fontsize=8, rotation=45)
    axes[0].set(xscale="symlog", xlabel="mean train KL (nats)", ylabel="fraction of checks passed", ylim=(-0.05, 1.2))
    axes[0].set_title("claims vs fit (x: over-fitted)", fontsize=9)
    axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    for key, ax in (("C6 sep(p_theta) perturbed", axes[1]), ("C10 mean TNR(p_theta) outliers", axes[2])):
        for d in results[0]["numbers"]:
            xs = [r["numbers"][d]["train_kl"] for r in results]
            _plot_levels(ax, xs, [r["numbers"][d][key] for r in results], names, label=f"D={d}")
        ax.set(xscale="symlog", xlabel="train KL (nats)", ylabel="separation |2 AUROC - 1|" if "sep" in key
               else "TNR (fraction of the test set)")
        ax.set_title(key, fontsize=9)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def write_markdown(results, base, out_dir, fig_path):
    dims = list(results[0]["numbers"])
    cfg = preset(base)
    lines = ["## Capacity study (beyond the thesis)", "",
             f"The {base} preset's grid ({cfg.n_cells} test sets, N = {cfg.n_test:,}, seed 0), rerun for {len(results)} model sizes / training budgets "
             "(`python -m minflow capacity --workers 2`; `minflow/thesis/documents/capacity.py`, LEVELS). "
             "Fit is measured as train KL = H*(p, p_theta) - H(p) on Q(p), in nats.", "",
             "| level | couplings x hidden | training | params (largest D) | train KL per D | " + " | ".join(FOCUS) + " |",
             "| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in FOCUS) + " |"]
    for r in results:
        kl = ", ".join(f"{d}: {r['numbers'][d]['train_kl']:.3f}" for d in dims)
        verdicts = " | ".join(f"{r['claims'][c]['verdict']} ({r['claims'][c]['passed']}/{r['claims'][c]['total']})" for c in FOCUS)
        tr = r["training"]
        budget = (f"{tr['epochs']} epochs on a fixed set of {tr['fixed_train']:,}" if tr.get("fixed_train")
                  else f"{tr['epochs']} epochs x {tr['epoch_size']:,} fresh")
        lines.append(f"| {r['level']} | {r['model']['n_layers']} x {r['model']['hidden']} | {budget} | "
                     f"{r['n_params'][dims[-1]]:,} | {kl} | {verdicts} |")
    lines += ["", "Key numbers per level and D (C4: H*(q,p) - H*(q,p_theta) at s=1 and the largest t, > 0 means the "
              "likelihood is overestimated; C6/C8: sep = |2 AUROC - 1| between the test set and Q(p), 0 = inseparable; "
              "C10: mean TNR of p_theta over the outlier grid):", ""]
    keys = [k for k in results[0]["numbers"][dims[0]] if k != "train_kl"]
    lines += ["| level | D | train KL | " + " | ".join(keys) + " |", "| --- | --- | --- | " + " | ".join("---" for _ in keys) + " |"]
    for r in results:
        for d in dims:
            n = r["numbers"][d]
            vals = " | ".join("-" if n[k] is None else f"{n[k]:.3f}" for k in keys)
            lines.append(f"| {r['level']} | {d} | {n['train_kl']:.3f} | {vals} |")
    rel = os.path.relpath(fig_path, ".")
    lines += ["", f"![capacity study]({rel})", ""]
    path = os.path.join(out_dir, "capacity.md")
    run_files.write_text(path, "\n".join(lines) + "\n")
    return path
