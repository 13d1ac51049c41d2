"""Run the pre-registered slip study (``slips.STUDY``) and decide it by ``slips.decide``.

    run_slips(STUDY, "reproduction/slips")    # -> decision dict

Per seed and D: the quick preset's flow (``cells.train_model`` with the runner's generator
``rng_for(seed, "train", D)``; kept in ``model_cache`` when given, so a rerun reuses it), then Q(p), the
training-like draw of H4 and every test set of ``slips.cells_needed`` drawn from
``rng_for(seed, "slips", ...)`` and scored by log p and by every score kind of ``slips.flow_scores``.
Writes (atomic): signatures/seed{k}.json (every hypothesis's numbers, the seed, the settings, seconds);
decision.json (``decide``, the targets, the hypotheses, the settings, the run time); run.json.
"""
import json
import os
import time
from dataclasses import asdict

import numpy as np

from ... import load, save
from ..pipeline import cells as C, run_files
from ..pipeline.config import preset
from .slips import HYPOTHESES, N_TRAIN_LIKE, STUDY, TARGETS, cells_needed, decide, flow_scores, signature

# a smoke run of the whole pipeline (``python -m minflow slips --tiny``): the tiny preset, seconds
TINY = dict(preset="tiny", dims=(4, 6), seeds=(0,), n_eval=1000, dim_c10=6)


def study_settings(study):
    """The study as plain JSON values, with the config of seed 0's flows (preset read, not restated)."""
    return {"study": json.loads(json.dumps(asdict(study))), "n_train_like": N_TRAIN_LIKE,
            "config": preset(study.preset, dims=tuple(study.dims), seed=0).to_dict()}


def trained_flow(config, dim, model_cache=None):
    """The flow of D = dim trained by the pipeline's own ``cells.train_model`` -> (flow, seconds, cached)."""
    path = os.path.join(model_cache, f"seed{config.seed}", f"D{dim}") if model_cache else None
    if path and os.path.exists(path + ".npz") and os.path.exists(path + ".json"):
        with open(path + ".json") as fh:
            return load(path + ".npz"), float(json.load(fh)["seconds"]), True
    start = time.perf_counter()
    flow, _ = C.train_model(dim, config, C.rng_for(config.seed, "train", dim))
    seconds = time.perf_counter() - start
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        save(flow, path + ".npz")
        run_files.write_json(path + ".json", {"seed": config.seed, "dim": dim, "seconds": seconds})
    return flow, seconds, False


def score_seed(study, seed, model_cache=None, log=print):
    """One seed: {D: scored sets} for ``slips.signature``, and seconds per stage."""
    config = preset(study.preset, dims=tuple(study.dims), seed=seed)
    need, data, secs = cells_needed(study), {}, {"train": 0.0, "score": 0.0, "cached_models": 0}
    for d in sorted(study.dims):
        flow, t_train, cached = trained_flow(config, d, model_cache)
        secs["train"] += t_train
        secs["cached_models"] += int(cached)
        start = time.perf_counter()
        dists = C.distributions(d, config)
        shift, scale = dists.p.mean, np.sqrt(np.diag(dists.p.cov))

        def scored(dist, n, *key):
            x = dist.sample(n, C.rng_for(seed, "slips", d, *key))
            out = flow_scores(flow, x, shift, scale)
            out["logp"] = np.asarray(dists.p.log_prob(x), float)
            return out

        data[d] = {"ref": scored(dists.p, study.n_eval, "ref"), "train": scored(dists.p, N_TRAIN_LIKE, "train")}
        for (dd, fam, s, t) in need:
            if dd == d:
                q = dists.family(fam, s, t)
                data[d][(fam, s, t)] = {**scored(q, study.n_eval, fam, s, t), "H_q": float(q.entropy())}
        secs["score"] += time.perf_counter() - start
        log(f"seed {seed} D={d}: train {t_train:.0f} s{' (trained earlier, cached)' if cached else ''}, "
            f"score {time.perf_counter() - start:.0f} s")
    return data, secs


def nonfinite(data):
    """Non-finite scores per kind over every scored set of a seed."""
    out = {}
    for sets in data.values():
        for cell in sets.values():
            for kind, arr in cell.items():
                if isinstance(arr, np.ndarray):
                    out[kind] = out.get(kind, 0) + int(np.sum(~np.isfinite(arr)))
    return out


def run_slips(study, out_dir, model_cache=None, log=print):
    """Every seed's signatures -> out_dir/signatures/seed{k}.json, decision.json, run.json; -> decision."""
    start = time.perf_counter()
    settings = study_settings(study)
    sigs, seconds = {h.key: {} for h in HYPOTHESES}, {}
    for seed in study.seeds:
        path = os.path.join(out_dir, "signatures", f"seed{seed}.json")
        if os.path.exists(path):   # resumable: a finished seed of the same settings is kept
            done = run_files.read_json(path, dict)
            if done.get("settings") == _jsonable(settings):
                log(f"seed {seed}: kept ({path})")
                for key, sig in done["signatures"].items():
                    sigs[key][seed] = {k: _number(v) for k, v in sig.items()}
                seconds[seed] = done["seconds"]
                continue
        t_seed = time.perf_counter()
        data, secs = score_seed(study, seed, model_cache, log)
        secs["wall"] = time.perf_counter() - t_seed
        per_h = {h.key: signature(h, data, study) for h in HYPOTHESES}
        for key, sig in per_h.items():
            sigs[key][seed] = sig
        seconds[seed] = secs
        os.makedirs(os.path.join(out_dir, "signatures"), exist_ok=True)
        run_files.write_json(path,
                             _jsonable({"seed": seed, "settings": settings, "seconds": secs, "nonfinite": nonfinite(data),
                              "signatures": per_h}))
    decision = decide(sigs)
    wall = time.perf_counter() - start
    record = {"decision": decision, "signatures": {k: {str(s): v for s, v in d.items()} for k, d in sigs.items()},
              "targets": [t._asdict() for t in TARGETS], "hypotheses": [h._asdict() for h in HYPOTHESES],
              "settings": settings, "seconds": seconds}
    record["wall_seconds_this_invocation"] = wall
    record["wall_seconds"] = sum(float(v.get("wall", 0.0)) for v in seconds.values())
    run_files.write_json(os.path.join(out_dir, "decision.json"), _jsonable(record))
    return record


def _number(v):
    """A signature value back from JSON (None: NaN; "inf", "-inf")."""
    return float("nan") if v is None else float(v)


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None if np.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, (np.floating, np.integer)):
        return _jsonable(x.item())
    return x


def slips_figure(record, path):
    """The hypothesis x published-number table as a figure: matched cells green (a majority of seeds), missed
    red, not scored grey; each cell the mean over seeds and the seeds matched -> path."""
    import matplotlib.pyplot as plt

    hyps = [h["key"] for h in record["hypotheses"]]
    targets = record["targets"]
    dec = record["decision"]
    fig, ax = plt.subplots(figsize=(1.0 + 0.72 * len(targets), 1.2 + 0.42 * len(hyps)))
    for i, hk in enumerate(hyps):
        n = dec[hk]["n_seeds"]
        for j, t in enumerate(targets):
            scored = t["key"] in dec[hk]["matched"]
            k = dec[hk]["matched"].get(t["key"], 0)
            colour = "#dddddd" if not scored else "#7fc97f" if k >= min(2, n) else "#f0827d"
            ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor=colour, edgecolor="white"))
            vals = [record["signatures"][hk][s][t["key"]] for s in record["signatures"][hk]]
            vals = [float("nan") if v is None else float(v) for v in vals]
            text = f"{np.nanmean(vals):.2g}" if np.any(np.isfinite(vals)) else "nan"
            ax.text(j + 0.5, i + 0.5, text + (f"\n{k}/{n}" if scored else ""), ha="center", va="center", fontsize=6)
    ax.set_xlim(0, len(targets))
    ax.set_ylim(len(hyps), 0)
    ax.set_xticks(np.arange(len(targets)) + 0.5)
    ax.set_xticklabels([f"{t['key']}\n({t['claim']}: {t['published']})" for t in targets], rotation=70, ha="right",
                       fontsize=6)
    ax.set_yticks(np.arange(len(hyps)) + 0.5)
    ax.set_yticklabels([f"{hk} ({'fits' if dec[hk]['fits'] else 'excluded'})" for hk in hyps], fontsize=7)
    ax.set_title("Slip hypotheses x the thesis's published numbers (green: matched in a majority of seeds; "
                 "red: missed; grey: not scored)", fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
