"""After a run: its figures, its claim table (claims.json, claims.md) and the pieces of the report.

    finish_run("reproduction/quick/seed0", figures=True)

REPRODUCTION.md (all seeds of every preset, and our reading) is written by ``document.write_report``.
"""
import json
import os
import time

from ..pipeline import run_files, ownership
from ..pipeline.cells import distributions
from ..verdicts.claims import check_claims
from ..pipeline.config import ExperimentConfig
from .figures import learning_curves, make_figures
from ..pipeline.timing import StageClock, breakdown_markdown
from ..pipeline.verify import checked_table

ROOT = "reproduction"


def load_run(out_dir):
    """A finished run: {"config", "table", "claims", "record"} (claims decided now from the table, which is
    checked first: ``verify.checked_table``)."""
    table_path = os.path.join(out_dir, "table.csv")
    if not os.path.exists(table_path):
        raise FileNotFoundError(f"{out_dir}: no table.csv; run `python -m minflow reproduce` first")
    cfg_file = os.path.join(out_dir, "config.json")
    try:
        config = ExperimentConfig.from_dict(run_files.read_json(cfg_file, dict))
    except TypeError as err:
        raise run_files.ResultFileError(f"{cfg_file}: not a settings file of this version ({err})") from None
    record = run_files.read_json(os.path.join(out_dir, "run.json"), dict)
    table = checked_table(config, out_dir, record)  # all rows, finite, as recorded and as the cells say
    return {"config": config, "table": table, "claims": check_claims(table), "record": record, "dir": out_dir}


def finish_run(out_dir, figures=True, workers=1):
    """Figures into out_dir/figures, claims.json + claims.md (REPRODUCTION.md: ``document.write_report``).

    Their seconds go to run.json's stages "figures" and "report" (a run.json of this version only).
    The run folder is locked meanwhile (``ownership``): a run writing into it is not raced."""
    if not os.path.isdir(out_dir):
        raise FileNotFoundError(f"{out_dir}: no such run folder; run `python -m minflow reproduce` first")
    with ownership.session(out_dir):
        return _finish(out_dir, figures, workers)


def _finish(out_dir, figures, workers):
    start, clock = time.perf_counter(), StageClock()
    run = load_run(out_dir)
    if figures:
        with clock("figures"):
            kept = run_files.load_kept(os.path.join(out_dir, "kept.npz"))
            fig_dir = os.path.join(out_dir, "figures")
            make_figures(run["table"], kept, fig_dir, workers=workers)
            hist = run_files.load_histories(run["config"], out_dir)
            learning_curves(hist, {d: float(distributions(d, run["config"]).p.entropy()) for d in hist}, fig_dir)
    with clock("report"):
        run_files.write_json(os.path.join(out_dir, "claims.json"), [c.as_dict() for c in run["claims"]])
        run_files.write_text(os.path.join(out_dir, "claims.md"), "\n".join([claims_markdown(run["claims"]), ""]
                                                                   + claims_details(run["claims"])) + "\n")
    _record_finish(run, clock, time.perf_counter() - start)
    return run


def _record_finish(run, clock, wall):
    """run.json's stages "figures" and "report" and "finish_wall_s", where it has "stage_seconds"."""
    timing = run["record"].get("timing")
    if not isinstance(timing, dict) or not isinstance(timing.get("stage_seconds"), dict):
        return
    timing["stage_seconds"].update({k: clock.seconds[k] for k in ("figures", "report")})
    timing["finish_wall_s"] = wall
    run_files.write_json(os.path.join(run["dir"], "run.json"), run["record"])


def cell_text(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def claims_markdown(claims):
    """The claim table of one run: id, section, what the thesis says, what we measured, the verdict."""
    lines = ["| claim | section | thesis says | measured (checks of the model passed) | verdict |",
             "| --- | --- | --- | --- | --- |"]
    for c in claims:
        lines.append(f"| {c.id} | {c.section} | {cell_text(c.thesis)} | {c.passed}/{len(c.checks)} checks; "
                     f"{cell_text(_short(c))} | **{c.verdict}** |")
    return "\n".join(lines)


def _short(c, limit=2):
    """The failing checks first (they explain the verdict), at most ``limit``."""
    ordered = sorted(c.checks, key=lambda x: bool(x.passed))
    text = "; ".join(f"{x.name}: {x.measured}" + ("" if x.passed else " (fails)") for x in ordered[:limit])
    return text + ("; ..." if len(c.checks) > limit else "")


def calibration_text(cal):
    """A calibration line: the true density's figure, beside the thesis's where it gives one."""
    return f"{cal.name}: {cal.value:.3f}" + ("" if cal.thesis is None else f" (thesis {cal.thesis:g})")


def claims_details(claims):
    """Every check of every claim of one run, with its rule and the calibration lines."""
    out = []
    for c in claims:
        out += [f"#### {c.id} (section {c.section}): {c.verdict}", "", f"*Thesis:* {c.thesis}", "", f"*Rule:* {c.rule}", ""]
        out += [f"- {'pass' if x.passed else '**fail**'}: {x.name}: {x.measured}" for x in c.checks] or ["- no cell of this claim in the grid"]
        out += [f"- calibration (true density, not counted): {calibration_text(x)}" for x in c.calibration]
        out.append("")
    return out


def settings_lines(run):
    cfg, rec = run["config"], run["record"]
    m, t = cfg.model, cfg.training
    scale = "unbounded scale (s = s_raw)" if m.s_max is None else f"scale bound s_max = {m.s_max}"
    lines = [f"- grid: D in {list(cfg.dims)}, families {list(cfg.families)}, S = {list(cfg.S)}, T = {list(cfg.T)} "
             f"({cfg.n_cells} test sets)",
             f"- test sets: N = {cfg.n_test:,} points each; Q(p) for the OOD bounds: {cfg.n_ref:,} points; TPR = {cfg.tpr}",
             f"- model: RealNVP, {m.n_layers} {m.coupling} couplings, MLP {list(m.hidden)} ({m.activation}), "
             f"{scale}, {_extras(m)}N(0, I) prior, {cfg.dtype}"
             + (f"; log p_theta of the test points in {cfg.eval_dtype} (sums over points in float64)"
                if cfg.eval_dtype not in (None, cfg.dtype) else ""),
             f"- training: Adam, lr {t.lr} ({t.schedule}), {t.epochs} epochs x {t.epoch_size:,} fresh samples of p, "
             f"batch {t.batch_size}, validation {t.validation:,} points",
             f"- seed {cfg.seed}; distributions: `{json.dumps(rec['distributions'][str(cfg.dims[0])])}` (D={cfg.dims[0]}; "
             "all D in run.json)",
             f"- versions: " + ", ".join(f"{k} {v}" for k, v in rec["versions"].items() if k != "platform"),
             f"- time: training {sum(rec['timing']['train_s'].values()):.0f} s (all D), evaluation "
             f"{rec['timing']['cells_s_total']:.0f} s (all cells, summed over processes); last invocation "
             f"{rec['timing']['last_invocation_wall_s']:.0f} s wall with {rec['timing']['workers_last_invocation']} worker(s)"]
    stages = breakdown_markdown(rec["timing"])
    if stages:
        lines.append(f"- time per stage (summed over processes, {rec['timing'].get('threads_per_worker') or '?'} "
                     f"thread(s) per worker): {stages}")
    fit = ", ".join(f"D={d}: {v['train_kl']:.3f}" for d, v in rec["models"].items())
    lines.append(f"- fit: train KL = H*(p, p_theta) - H(p) in nats per D: {fit}")
    return lines


def _extras(m):
    """What the model adds to the core one: "ActNorm, LU 1x1, random permutations, " (or "")."""
    parts = (["ActNorm"] if m.actnorm else []) + (["LU 1x1"] if m.lu else []) + \
        ([f"{m.permutation} permutations"] if m.permutation else [])
    return "".join(p + ", " for p in parts)


def figure_lines(run, rel):
    fig_dir = os.path.join(run["dir"], "figures")
    if not os.path.isdir(fig_dir):
        return ["(no figures: run `python -m minflow figures DIR`)"]
    out = []
    for name in sorted(os.listdir(fig_dir), key=lambda n: (n.startswith(("appendix", "learning")), n)):
        if not name.endswith(".png"):
            continue
        cap_file = os.path.join(fig_dir, name[:-4] + ".txt")
        caption = " ".join(open(cap_file).read().split()) if os.path.exists(cap_file) else name
        out += [f"**{name[:-4]}.** {caption}", "", f"![{name[:-4]}]({rel(os.path.join(fig_dir, name))})", ""]
    return out
