"""After a run: figures, the claim table, and REPRODUCTION.md.

    finish_run("reproduction/quick", figures=True, report="REPRODUCTION.md")
    write_report("REPRODUCTION.md")   # from reproduction/quick (+ thesis, capacity where present)

REPRODUCTION.md is generated, never edited by hand: our reading of a claim that did
not reproduce lives in reproduction/NOTES.md (a "## C4" heading per claim) and is
pasted next to that claim.
"""
import json
import os
import re
import time

from . import io
from .cells import distributions
from .claims import check_claims
from .config import ExperimentConfig
from .figures import learning_curves, make_figures
from .timing import StageClock, breakdown_markdown

ROOT = "reproduction"


def load_run(out_dir):
    """A finished run: {"config", "table", "claims", "record"} (claims decided now from the table)."""
    table_path = os.path.join(out_dir, "table.csv")
    if not os.path.exists(table_path):
        raise FileNotFoundError(f"{out_dir}: no table.csv; run `python -m minflow reproduce` first")
    cfg_file = os.path.join(out_dir, "config.json")
    try:
        config = ExperimentConfig.from_dict(io.read_json(cfg_file, dict))
    except TypeError as err:
        raise io.ResultFileError(f"{cfg_file}: not a settings file of this version ({err})") from None
    table = io.read_table(table_path)
    record = io.read_json(os.path.join(out_dir, "run.json"), dict)
    return {"config": config, "table": table, "claims": check_claims(table), "record": record, "dir": out_dir}


def finish_run(out_dir, figures=True, report=None, workers=1):
    """Figures into out_dir/figures, claims.json + claims.md, and (optionally) the report.

    Their seconds go to run.json's stages "figures" and "report" (a run.json of this version only)."""
    start, clock = time.perf_counter(), StageClock()
    run = load_run(out_dir)
    if figures:
        with clock("figures"):
            kept = io.load_kept(os.path.join(out_dir, "kept.npz"))
            fig_dir = os.path.join(out_dir, "figures")
            make_figures(run["table"], kept, fig_dir, workers=workers)
            hist = io.load_histories(run["config"], out_dir)
            learning_curves(hist, {d: float(distributions(d, run["config"]).p.entropy()) for d in hist}, fig_dir)
    with clock("report"):
        io.write_json(os.path.join(out_dir, "claims.json"), [c.as_dict() for c in run["claims"]])
        io.write_text(os.path.join(out_dir, "claims.md"), claims_markdown(run["claims"]) + "\n")
    _record_finish(run, clock, time.perf_counter() - start)  # before the report, which shows it
    if report:
        with clock("report"):
            write_report(report)
        _record_finish(run, clock, time.perf_counter() - start)
    return run


def _record_finish(run, clock, wall):
    """run.json's stages "figures" and "report" and "finish_wall_s", where it has "stage_seconds"."""
    timing = run["record"].get("timing")
    if not isinstance(timing, dict) or not isinstance(timing.get("stage_seconds"), dict):
        return
    timing["stage_seconds"].update({k: clock.seconds[k] for k in ("figures", "report")})
    timing["finish_wall_s"] = wall
    io.write_json(os.path.join(run["dir"], "run.json"), run["record"])


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def claims_markdown(claims):
    """The claim table of one run: id, section, what the thesis says, what we measured, the verdict."""
    lines = ["| claim | section | thesis says | measured (checks of the model passed) | verdict |",
             "| --- | --- | --- | --- | --- |"]
    for c in claims:
        lines.append(f"| {c.id} | {c.section} | {_cell(c.thesis)} | {c.passed}/{len(c.checks)} checks; "
                     f"{_cell(_short(c))} | **{c.verdict}** |")
    return "\n".join(lines)


def _short(c, limit=2):
    """The failing checks first (they explain the verdict), at most ``limit``."""
    ordered = sorted(c.checks, key=lambda x: bool(x.passed))
    text = "; ".join(f"{x.name}: {x.measured}" + ("" if x.passed else " (fails)") for x in ordered[:limit])
    return text + ("; ..." if len(c.checks) > limit else "")


def calibration_text(cal):
    """A calibration line: the true density's figure, beside the thesis's where it gives one."""
    return f"{cal.name}: {cal.value:.3f}" + ("" if cal.thesis is None else f" (thesis {cal.thesis:g})")


def claims_details(claims, notes):
    out = []
    for c in claims:
        out += [f"#### {c.id} (section {c.section}): {c.verdict}", "", f"*Thesis:* {c.thesis}", "", f"*Rule:* {c.rule}", ""]
        out += [f"- {'pass' if x.passed else '**fail**'}: {x.name}: {x.measured}" for x in c.checks] or ["- no cell of this claim in the grid"]
        out += [f"- calibration (true density, not counted): {calibration_text(x)}" for x in c.calibration]
        if c.id in notes and c.verdict != "reproduced":
            out += ["", "*Our reading:* " + notes[c.id]]
        out.append("")
    return out


def read_notes(path):
    """{claim id: text} from a Markdown file with one "## C<k>" heading per claim (and "## Capacity");
    "intro": the text before the first heading (lines starting with ">" are left out). Sections under
    any other "## " heading (the calibration log, say) are not pasted into the report."""
    if not os.path.exists(path):
        return {}
    text = open(path).read()
    parts = re.split(r"^## (.+?)\s*$", text, flags=re.M)
    notes = {parts[i]: " ".join(parts[i + 1].split()) for i in range(1, len(parts) - 1, 2)
             if re.fullmatch(r"C\d+|Capacity", parts[i])}
    intro = [line for line in parts[0].splitlines() if not line.startswith(("#", ">"))]
    notes["intro"] = " ".join(" ".join(intro).split())
    return notes


def _settings_lines(run):
    cfg, rec = run["config"], run["record"]
    m, t = cfg.model, cfg.training
    lines = [f"- grid: D in {list(cfg.dims)}, families {list(cfg.families)}, S = {list(cfg.S)}, T = {list(cfg.T)} "
             f"({cfg.n_cells} test sets)",
             f"- test sets: N = {cfg.n_test:,} points each; Q(p) for the OOD bounds: {cfg.n_ref:,} points; TPR = {cfg.tpr}",
             f"- model: RealNVP, {m.n_layers} affine couplings, MLP {list(m.hidden)} ({m.activation}), scale bound "
             f"s_max = {m.s_max}, N(0, I) prior, {cfg.dtype}",
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


def _figure_lines(run, rel):
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


def _run_section(title, run, command, notes, rel):
    lines = [f"## {title}", "", "Command:", "", "```", command, "```", "", "Settings:", ""]
    lines += _settings_lines(run) + ["", f"Table: [{rel(os.path.join(run['dir'], 'table.csv'))}]"
                                         f"({rel(os.path.join(run['dir'], 'table.csv'))}), one row per test set; "
                                         f"settings, seeds, versions and timings: [run.json]({rel(os.path.join(run['dir'], 'run.json'))}).", ""]
    lines += ["### Claims", "", claims_markdown(run["claims"]), "", "### Every check, with its rule", ""]
    lines += claims_details(run["claims"], notes)
    lines += ["### Figures", ""] + _figure_lines(run, rel)
    return lines


def write_report(path="REPRODUCTION.md", root=ROOT):
    """Regenerate the report from root/quick (required), root/thesis and root/capacity (where present)."""
    base = os.path.dirname(os.path.abspath(path))
    rel = lambda p: os.path.relpath(os.path.abspath(p), base)  # noqa: E731
    quick = load_run(os.path.join(root, "quick"))
    notes = read_notes(os.path.join(root, "NOTES.md"))
    lines = ["# Reproducing the thesis", "",
             "Generated by `python -m minflow report` from the committed runs under `reproduction/`; do not edit by hand.",
             "The experiments of N. de Bruin, *A Step Towards Understanding Normalizing Flows and their Likelihood Behavior*",
             "(TU Delft, 2024), sections 4-8 and appendices A-C, specified in `thesis-experiments.md` (findings C1-C10).",
             "Each claim is decided by a fixed rule written before the results were seen (`minflow/thesis/experiments/claims.py`):",
             "*reproduced* when every check passes, *partly* when at least half do, *not reproduced* otherwise.", ""]
    summary = ", ".join(f"{c.id} {c.verdict}" for c in quick["claims"])
    lines += [f"Quick preset, in one line: {summary}.", ""]
    if notes.get("intro"):
        lines += ["**Our reading** (reproduction/NOTES.md): " + notes["intro"], ""]
    thesis_dir = os.path.join(root, "thesis")
    if os.path.exists(os.path.join(thesis_dir, "table.csv")):
        thesis = load_run(thesis_dir)
        lines += _run_section("Thesis preset (N = 1,000,000)", thesis,
                              "make reproduce   # python -m minflow reproduce --preset thesis --workers 2", notes, rel)
    else:
        lines += ["The thesis preset (`make reproduce`, N = 1,000,000 per test set) has not been run for this report;",
                  "the quick preset below uses the same grid with N = "
                  f"{quick['config'].n_test:,} and a shorter training.", ""]
    lines += _run_section("Quick preset", quick,
                          "make reproduce-quick   # python -m minflow reproduce --preset quick --workers 2", notes, rel)
    cap = os.path.join(root, "capacity", "capacity.md")
    if os.path.exists(cap):
        lines += [open(cap).read(), ""]
        if notes.get("Capacity"):
            lines += ["*Our reading:* " + notes["Capacity"], ""]
    io.write_text(path, "\n".join(lines).rstrip() + "\n")
    return path
