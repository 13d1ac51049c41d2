"""The thesis's future work, first item: "systematically adding complex components" (section 9).

The quick preset's grid, rerun for the core model plus one component at a time, over several seeds;
every variant's claims are decided by rules v2 per seed, and the table says "k of n seeds".

    run_ablations("reproduction/ablations", seeds=(0, 1, 2), workers=2)   # python -m minflow ablations
    markdown("reproduction")                                               # the section of REPRODUCTION.md

Layout: ``<out>/<variant>/seed<k>/`` (a reproduction run each); the core variant reuses
``reproduction/<base>/seed<k>/`` where that run has exactly the same settings.
"""
import os

from scipy import stats

from .capacity import reusable
from ..pipeline.config import preset
from ..pipeline.lookup import cell, train_kl
from ..verdicts.multiseed import fmt_pm, seed_dirs, summarize
from ..verdicts.notes import LEVEL
from .report import finish_run, load_run
from ..pipeline.runner import run

# (name, what it adds, ModelConfig fields changed); every other setting is the base preset's
VARIANTS = (
    ("core", "the core model (8 affine couplings x [64, 64], halves alternating)", {}),
    ("actnorm", "+ ActNorm before every coupling (Glow)", {"actnorm": True}),
    ("lu", "+ an LU 1x1 linear map before every coupling (Glow)", {"lu": True}),
    ("random-permutations", "+ a random permutation between couplings", {"permutation": "random"}),
    ("additive", "additive couplings (NICE) instead of affine", {"coupling": "additive"}),
    ("depth-x2", "16 couplings instead of 8", {"n_layers": 16}),
    ("width-x4", "MLP [256, 256] instead of [64, 64]", {"hidden": (256, 256)}),
)


def variant_config(base, fields, seed):
    return preset(base, model=dict(fields), seed=seed)


def run_ablations(out_dir, seeds=(0, 1, 2), workers=1, base="quick", variants=None, progress=True):
    """Run every variant (names; default all of ``VARIANTS``) for every seed -> a dict: variant name -> [table paths]."""
    chosen = [v for v in VARIANTS if variants is None or v[0] in variants]
    unknown = set(variants or ()) - {v[0] for v in VARIANTS}
    if unknown:
        raise ValueError(f"variants: unknown {sorted(unknown)}; expected some of {[v[0] for v in VARIANTS]}")
    out = {}
    for name, _, fields in chosen:
        for k in seeds:
            config = variant_config(base, fields, k)
            reuse = os.path.join("reproduction", base, f"seed{k}")
            path = reuse if name == "core" and reusable(config, reuse) else os.path.join(out_dir, name, f"seed{k}")
            if progress:
                print(f"ablations: {name}, seed {k} -> {path}", flush=True)
            if path == reuse:
                table = os.path.join(path, "table.csv")
            else:
                table = run(config, path, workers=workers, progress=progress)
                finish_run(path, figures=False, workers=workers)  # claims.json, claims.md
            out.setdefault(name, []).append(table)
    return out


def _variant_runs(root, base, name):
    """The seed runs of one variant: its own folder, or the base preset's seeds for the core model."""
    runs = [load_run(d) for d in seed_dirs(os.path.join(root, "ablations", name))]
    if not runs and name == "core":
        runs = [r for r in (load_run(d) for d in seed_dirs(os.path.join(root, base)))
                if r["config"].to_dict() == variant_config(base, {}, r["config"].seed).to_dict()]
    return runs


def finished_runs(root="reproduction", base="quick"):
    """variant name -> its runs, over the seeds that every variant has finished ({} when some variant has none).

    A run still going (or a variant not yet started) leaves the table as it was, not half-counted."""
    runs = {name: {r["config"].seed: r for r in _variant_runs(root, base, name)} for name, _, _ in VARIANTS}
    common = set.intersection(*(set(by_seed) for by_seed in runs.values()))
    return {name: [by_seed[k] for k in sorted(common)] for name, by_seed in runs.items()} if common else {}


def _c10(run, d):
    """TNR(p_theta) and TNR(p) on q_delta(1, 0) at dimension d (None where the grid lacks it)."""
    row = cell(run["table"], d, "perturbed", 1.0, 0.0)
    return (None, None) if row is None else (row["tnr_ptheta"], row["tnr_p"])


def _count(summary, n):
    """"k of n" seeds reproduced, with "(partly j)" where some seeds were partly."""
    partly = summary.count("partly")
    return f"{summary.count('reproduced')} of {n}" + (f" (partly {partly})" if partly else "")


def fisher_p(k, n, k_core, n_core):
    """Two-sided p of Fisher's exact test: reproduced in k of n seeds against k_core of n_core."""
    return float(stats.fisher_exact([[k, n - k], [k_core, n_core - k_core]]).pvalue)


def _differences(names, summaries):
    """The sentences naming every (claim, variant) reproduced in a different number of seeds than the core model,
    each with Fisher's exact test against the core model's count, and what the tests say at ``LEVEL``."""
    diffs = [(c.id, name, summaries[name][i].count("reproduced"), summaries[name][i].n, c.count("reproduced"), c.n)
             for i, c in enumerate(summaries["core"]) for name in names[1:]
             if summaries[name][i].count("reproduced") != c.count("reproduced")]
    if not diffs:
        return "No component changes the number of seeds in which any claim is reproduced."
    ps = [fisher_p(k, n, kc, nc) for _, _, k, n, kc, nc in diffs]
    told = sum(p < LEVEL for p in ps)
    return ("Claims reproduced in a different number of seeds than with the core model: "
            + "; ".join(f"{cid} {name} {k} (core {kc}; Fisher's exact test p = {p:.2g})"
                        for (cid, name, k, _, kc, _), p in zip(diffs, ps))
            + f". {told} of these {len(diffs)} differences {'is' if told == 1 else 'are'} significant at the {LEVEL:g} level "
            "(two-sided); " + ("the others are" if told else "all are") + f" within seed noise at {summaries['core'][0].n} seeds.")


def markdown(root="reproduction", base="quick"):
    """The ablation table (claim x variant, "k of n seeds") from the committed runs; [] until every variant has a seed."""
    runs = finished_runs(root, base)
    if not runs:
        return []
    names = [name for name, _, _ in VARIANTS]
    summaries = {n: summarize([r["claims"] for r in runs[n]], [r["config"].seed for r in runs[n]]) for n in names}
    seeds = [r["config"].seed for r in runs["core"]]
    dims = runs["core"][0]["config"].dims
    lines = ["## Adding components one at a time (the thesis's future work, beyond the thesis)", "",
             f"The {base} preset's grid for the core model and for the core model plus one component "
             "(`python -m minflow ablations`; `minflow/thesis/documents/ablations.py`), seeds "
             f"{', '.join(map(str, seeds))}: the seeds every variant has finished. A cell is the number of seeds "
             "in which the claim was reproduced by rules v2 (and, in parentheses, partly).", "",
             "| variant | what | train KL per D (nats, mean +- sd over seeds) |", "| --- | --- | --- |"]
    for name, what, _ in VARIANTS:
        kl = "; ".join(f"D={d}: {fmt_pm([train_kl(r['table'], d) for r in runs[name]])}" for d in dims)
        lines.append(f"| {name} | {what} | {kl} |")
    lines += ["", "| claim | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for i, first in enumerate(summaries["core"]):
        cells = [_count(summaries[n][i], len(seeds)) for n in names]
        lines.append(f"| {first.id} | " + " | ".join(cells) + " |")
    lines += ["", _differences(names, summaries), "",
              "C10's numbers per variant, q_delta(1, 0), mean +- sd over seeds (thesis at D = 50: TNR(p_theta) 0.02, "
              "TNR(p) 0.38):", "", "| variant | " + " | ".join(f"D={d}: TNR(p_theta) / TNR(p)" for d in dims) + " |",
              "| --- |" + " --- |" * len(dims)]
    for name in names:
        pairs = [[_c10(r, d) for r in runs[name]] for d in dims]
        lines.append(f"| {name} | " + " | ".join(f"{fmt_pm([a for a, _ in p])} / {fmt_pm([b for _, b in p])}"
                                                for p in pairs) + " |")
    return lines + [""]
