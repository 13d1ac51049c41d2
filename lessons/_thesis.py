"""What lessons 4-9 and 12 share: the thesis's core model, its training, and the adapters to
``minflow.thesis.pipeline`` (the code of ``make reproduce``).

    import _lesson                                   # first, as in every lesson
    from _thesis import CoreModelConfig, TINY, THESIS
    @dataclass(frozen=True)
    class Config(CoreModelConfig):                   # inherits seed, n_layers, ..., n_test
        dims: tuple = (10, 20)
    lesson = _lesson.Lesson("06_generalisation", Config, tiny={**TINY, "dims": (4,)}, thesis=THESIS)
    exp_cfg = lesson.config.experiment_config(dims=lesson.config.dims)
    flow, history = _thesis.thesis_model(lesson, 20, exp_cfg)     # trained once, cached for all lessons

Equal settings give the same cached model, so a lesson changes a shared field (e.g. ``n_test``) only
by overriding it in its own Config.
"""
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from minflow import RealNVPSpec
# Every bar, and every sentence on a finding, comes from the rules themselves (minflow.thesis.verdicts); the
# lessons use fit_standard, fit_standard_sentence and trend_word through this module.
from minflow.thesis.verdicts import (check_claims, claim_facts, fit_standard,  # noqa: F401
                                     fit_standard_sentence, trend_word)


def _train_engine():
    import minflow

    return minflow.engine.DEFAULT


@dataclass(frozen=True)
class CoreModelConfig:
    """The core model (section 2.1) and its training, shared by lessons 4-9 and 12 (same values, same cached model)."""

    seed: int = 0
    n_layers: int = RealNVPSpec.n_layers   # affine coupling layers (the model's defaults, minflow/spec.py)
    hidden: tuple = RealNVPSpec.hidden     # widths of each coupling's conditioner MLP
    epochs: int = 12            # epochs of `epoch_size` fresh points of p each
    epoch_size: int = 8192
    lr: float = 3e-3
    batch_size: int = 256
    n_test: int = 20_000        # N of each test set Q_N(q) (thesis: 1,000,000)
    # Not an option: minflow.thesis.pipeline.train_model builds its flows with the default engine.
    train_engine: str = dataclasses.field(default_factory=_train_engine, init=False)

    def experiment_config(self, dims, **extra):
        """The ``ExperimentConfig`` (minflow.thesis.pipeline) with these settings; ``extra``: S, T, tpr, ..."""
        from minflow.thesis.pipeline import preset

        return preset("quick", dims=tuple(dims), seed=self.seed, n_test=self.n_test,
                      model=dict(n_layers=self.n_layers, hidden=tuple(self.hidden)),
                      training=dict(epochs=self.epochs, epoch_size=self.epoch_size, lr=self.lr,
                                    batch_size=self.batch_size, validation=min(4096, self.epoch_size)),
                      **extra)


# The shared fields under --tiny and --thesis; a lesson adds its own: tiny={**TINY, "dims": (4, 6)}.
TINY = dict(n_layers=2, hidden=(8, 8), epochs=1, epoch_size=512, n_test=1000)
THESIS = dict(epochs=200, epoch_size=32768, lr=1e-3, n_test=1_000_000)


def thesis_model(lesson, dim, config):
    """The core RealNVP trained on p = ThesisDistributions(dim, config.seed).p exactly as
    ``minflow.thesis.pipeline.train_model`` trains it (same seed stream as ``make reproduce``),
    cached so lessons 4-9 and 12 share it. Returns (flow, {"train_nll", "val_nll", "seconds"})."""
    import minflow
    from minflow.thesis.pipeline import rng_for, train_model

    key = {"what": "thesis-core-model", "version": minflow.__version__, "dim": dim, "seed": config.seed,
           "dtype": config.dtype, "model": config.model, "training": config.training,
           "engine": minflow.engine.DEFAULT}

    def build():
        print(f"  training the core model for D = {dim} ...", flush=True)
        flow, hist = train_model(dim, config, rng_for(config.seed, "train", dim))
        return flow, {"train_nll": hist.train_nll, "val_nll": hist.val_nll, "seconds": hist.seconds}

    return lesson.cached(key, build)


def evaluate_cells(lesson, config, cells, **dists_options):
    """Score the test sets ``cells`` = [(D, family, s, t), ...] with minflow.thesis.pipeline.

    Per D: the cached trained model, the reference set Q(p) (fixes the OOD bounds), then
    ``evaluate_cell`` for each test set, with the same random streams as ``make reproduce``.
    ``dists_options``: ``alpha=``, ``beta=`` ... of ``ThesisDistributions`` (lesson 7's perturbation strength).
    Returns (table: list of row dicts, kept: {kept_key: {"logp", "logp_theta"}}, models: {D: flow}).
    """
    from minflow.thesis.gaussians import ThesisDistributions
    from minflow.thesis.pipeline import evaluate_cell, evaluate_reference, keep_values, kept_key, rng_for

    table, kept, models = [], {}, {}
    for dim in sorted({c[0] for c in cells}):
        flow, _ = thesis_model(lesson, dim, config)
        dists = ThesisDistributions(dim, seed=config.seed, **dists_options)
        ref = evaluate_reference(flow, dists, config, rng_for(config.seed, "reference", dim))
        kept[kept_key(dim, "reference")] = keep_values(ref._asdict(), config.kde_keep,
                                                       rng_for(config.seed, "keep", dim, "reference"))
        models[dim] = flow
        for d, family, s, t in cells:
            if d != dim:
                continue
            row, k = evaluate_cell(flow, dists, family, s, t, config, rng_for(config.seed, "cell", dim, family, s, t),
                                   reference=ref)
            table.append(row)
            kept[kept_key(dim, family, s, t)] = k
        print(f"  D = {dim}: scored {sum(c[0] == dim for c in cells)} test sets of {config.n_test} points", flush=True)
    return table, kept, models


def adopt_figure(lesson, path):
    """Record a figure written by minflow.thesis.documents.figures (PNG + caption .txt) as the lesson's own."""
    lesson.adopt_figure(path, drawn_by="minflow/thesis/documents/figures.py")


def thesis_claims(lesson, table, ids):
    """Decide findings (C1-C10 of the thesis's experiments) with minflow.thesis.verdicts.claims and print
    them side by side with what the thesis says. These are reported, not asserted: a reproduction
    must be free to fail. The dicts are stored in results.json (``thesis_claims``)."""
    decided = {r.id: r for r in check_claims(table)}
    out = []
    for cid in ids:
        d = decided[cid].as_dict()
        out.append(d)
        print(f"[thesis {cid}, section {d['section']}] {d['thesis']}")
        for check in d["checks"]:
            print(f"    {'met    ' if check['passed'] else 'not met'} {check['name']}: {check['measured']}")
        print(f"    -> {d['verdict']} on this run ({d['passed']}/{d['total']} checks met)")
    lesson.results["thesis_claims"] = out  # made plain JSON by lesson.finish()


# --- "This run vs the thesis": sentences generated from the run's numbers -------------------------------
REPRODUCTION = "../REPRODUCTION.md"  # relative to lessons/ (the book links its own copy)
LESSONS_SETTINGS_NOTE = ("This run's model trains for far fewer steps than the thesis's and is scored on "
                         "N = {n:,} points instead of 1,000,000")


def thesis_scale_verdicts(path=None):
    """{claim id: verdict} of the thesis-scale reproduction (REPRODUCTION.md, section 'Thesis preset'); {} if absent."""

    path = Path(path) if path else Path(__file__).resolve().parent.parent / "REPRODUCTION.md"
    if not path.is_file():
        return {}
    text = path.read_text()
    start = text.find("## Thesis preset")
    end = text.find("\n## ", start + 1)
    part = text[start:end if end > 0 else None] if start >= 0 else ""
    return dict(re.findall(r"^#### (C\d+) \(section [^)]*\): (.+)$", part, flags=re.M))


def _all_seeds(verdict_text):
    """True for "reproduced in n of n seeds" (and the single-run "reproduced")."""
    m = re.match(r"reproduced in (\d+) of (\d+) seed", verdict_text)
    return verdict_text == "reproduced" or bool(m and m.group(1) == m.group(2))


def capacity_fit_ranges(path=None):
    """{level: "lo-hi nats"} of train KL over D for the committed capacity study; {} if absent."""
    import json

    path = Path(path) if path else Path(__file__).resolve().parent.parent / "reproduction/capacity/capacity.json"
    if not path.is_file():
        return {}
    out = {}
    for level in json.loads(path.read_text()).get("levels", []):
        kls = [v["train_kl"] for v in level.get("numbers", {}).values()]
        if kls:
            out[level["level"]] = f"{min(kls):.1f}-{max(kls):.0f} nats"
    return out


def versus_thesis(lesson, table, ids):
    """Print the cell "This run vs the thesis": for each finding, what the thesis found, what this run found
    (every sentence generated from this run's numbers), the verdict of the fixed rule, the verdict at the
    thesis's scale, and why they may differ. Stored in results.json (``versus_thesis``)."""
    decided = {r.id: r.as_dict() for r in check_claims(table)}
    scale = thesis_scale_verdicts()
    cfg = lesson.config
    fit = {r["D"]: r["train_kl"] for r in table if "train_kl" in r}
    entries, lines = [], ["## This run vs the thesis", ""]
    for cid in ids:
        d = decided[cid]
        facts = claim_facts(table, cid)
        entry = {"id": cid, "section": d["section"], "thesis": d["thesis"], "facts": facts, "verdict": d["verdict"],
                 "checks_met": [d["passed"], d["total"]], "thesis_scale_verdict": scale.get(cid)}
        entries.append(entry)
        lines.append(f"**{cid} (section {d['section']}).** The thesis found: {d['thesis'][0].lower() + d['thesis'][1:]}")
        if facts:
            lines.append("This run: " + "; ".join(f["text"] for f in facts) + ".")
        lines.append(f"By the fixed rule of `minflow.thesis.verdicts.claims`: **{d['verdict']}** on this run "
                     f"({d['passed']} of {d['total']} checks met)"
                     + (f"; at the thesis's scale (`make reproduce`): {scale[cid]}." if cid in scale else "."))
        lines.append("")
    fits = ", ".join(f"D = {k}: {v:.3f}" for k, v in sorted(fit.items()))
    worst = max(fit.values()) if fit else float("nan")
    not_full = [c for c, v in scale.items() if not _all_seeds(v)]
    per_dim = max(v / k for k, v in fit.items()) if fit else float("nan")
    kl = f"train KL = H*(p, p_theta) - H(p) in nats: {fits}"
    ranges = capacity_fit_ranges()
    study = (f"the reproduction's capacity study (under-trained flows: train KL {ranges['under']}; over-fitted: "
             f"{ranges['overfit']})" if {"under", "overfit"} <= set(ranges) else "the reproduction's capacity study")
    if worst >= 5.0:
        how = (f"This run's model fits p poorly ({kl}). In {study}, such flows are where parts of the thesis's "
               "pattern of over-rated shifted, perturbed and outlying data appeared; so agreement or disagreement "
               "here says more about the training budget than about the thesis.")
    elif per_dim < 0.02:
        how = (f"This run's model fits p closely ({kl}). In {study}, closely fitted flows rated shifted, perturbed "
               "and outlying data much as the true density does; parts of the thesis's pattern appeared only for "
               "badly under-trained or over-fitted flows, whose fit fails the thesis's own C1.")
    else:
        how = (f"This run's model fits p fairly well ({kl}; up to {per_dim:.3f} nats per dimension): between the "
               f"closely fitted flows and the under-trained or over-fitted ones of {study}, where parts of the "
               "thesis's pattern of over-rated shifted, perturbed and outlying data appeared. Which fit the "
               "thesis's flow had is not stated in the thesis.")
    standard = fit_standard(table)  # the thesis's own fit standard (C1 (b)), per D of this table
    lesson.results["fit_standard"] = standard
    if standard:
        how += " " + fit_standard_sentence(standard)
    lines.append("**Why they may differ.** " + LESSONS_SETTINGS_NOTE.format(n=cfg.n_test) + ", so its numbers are "
                 "noisier" + (f"; but {', '.join(not_full)} do not (fully) reproduce at the thesis's scale either. " if not_full
                 else ". ") + how +
                 " The thesis does not give its model's depth, width or final training loss, so this cannot be "
                 f"checked directly. See [REPRODUCTION.md]({REPRODUCTION}) and the thesis ({lesson_thesis_link()}).")
    text = "\n".join(lines)
    lesson.results["versus_thesis"] = entries
    show_markdown(text)
    return None


def lesson_thesis_link():
    import _lesson

    return f"[de Bruin, TU Delft 2024]({_lesson.THESIS_URL})"


def show_markdown(text):
    """Print ``text`` (a script, and the book's output cell); in a live notebook show it as Markdown instead."""
    import _lesson

    if _lesson._in_notebook():  # the notebook's own markdown cell already carries the heading
        from IPython.display import Markdown, display

        display(Markdown(text.split("\n", 2)[2] if text.startswith("## ") else text))
    else:  # each paragraph is one line of Markdown: wrapped, so that a terminal shows it whole
        _lesson.say(text.replace("**", ""), indent="")
