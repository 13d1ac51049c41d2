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
    from minflow.thesis.pipeline import evaluate_cell, evaluate_reference, rng_for
    from minflow.thesis.pipeline.cells import keep_values
    from minflow.thesis.pipeline.run_files import kept_key
    from minflow.thesis.gaussians import ThesisDistributions

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
    from minflow.thesis.verdicts import check_claims

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


def _sep(auroc):
    return abs(2 * auroc - 1)


def trend_word(values, tol=0.0):
    """'rises' / 'falls' (strictly, step by step) or 'neither rises nor falls throughout'."""
    pairs = list(zip(values, values[1:]))
    if pairs and all(b > a + tol for a, b in pairs):
        return "rises"
    if pairs and all(b < a - tol for a, b in pairs):
        return "falls"
    return "neither rises nor falls throughout"


def _nums(values, fmt=".3f"):
    return ", ".join(format(v, fmt) for v in values)


def trend_fact(about, xs, x_name, values, fmt=".3f"):
    """A sentence on how ``values`` change along ``xs``, with the numbers; kind 'trend' (checked by the tests)."""
    word = trend_word(values)
    text = f"{about} {word} with {x_name} ({x_name} = {_nums(xs, 'g')}: {_nums(values, fmt)})"
    return {"kind": "trend", "about": about, "values": list(values), "says": word, "text": text}


def count_fact(about, values, positive, negative, where="cells"):
    """How many of ``values`` are positive; kind 'count' (checked by the tests)."""
    k, n = sum(v > 0 for v in values), len(values)
    if n == 1:
        text = f"{about} is {'positive' if k else 'negative'} ({positive if k else negative})"
    elif k == n:
        text = f"{about} is positive in all {n} {where} ({positive})"
    elif k == 0:
        text = f"{about} is negative in all {n} {where} ({negative})"
    else:
        text = f"{about} is positive ({positive}) in {k} of {n} {where} and negative ({negative}) in {n - k}"
    return {"kind": "count", "about": about, "values": list(values), "says": [k, n], "text": text}


def compare_fact(about, value, bound, above, below, fmt=".3f"):
    """``value`` against ``bound``; kind 'compare' (checked by the tests). ``above``/``below``: what each side means."""
    side, meaning = ("above", above) if value > bound else ("not above", below)
    return {"kind": "compare", "about": about, "values": [value, bound], "says": "above" if value > bound else "below",
            "text": f"{about} is {format(value, fmt)}, {side} {format(bound, fmt)} ({meaning})"}


def _rows(table, **match):
    return [r for r in table if all(r[k] == v for k, v in match.items())]


def _facts_c1(table):
    rs = sorted(_rows(table, family="generalisation", s=1.0, t=0.0), key=lambda r: r["D"])
    gaps = [r["mean_logp"] - r["mean_logp_theta"] for r in rs]
    facts = [count_fact("E_p[log p] - E_p[log p_theta] on Q(p)", gaps, "the model gives Q(p) less likelihood than the "
                        "truth, as eq. 18 requires of its expectation", "a sampling fluctuation: eq. 18 bounds only "
                        "the expectation", where="dimensions")]
    facts[0]["text"] += f"; the gaps are {_nums(gaps)} nats at D = {_nums([r['D'] for r in rs], 'd')}, " +         "i.e. " + _nums([g / r["var_logp"] ** 0.5 for g, r in zip(gaps, rs)], ".2f") + " standard deviations of log p"
    return facts


def rule_checks(table, cid):
    """The checks of finding ``cid`` as the fixed rule of ``minflow.thesis.verdicts.claims`` decides them on
    ``table`` (dicts: name, measured, passed, value): the lessons' sentences take their bars from here."""
    from minflow.thesis.verdicts import check_claims

    return next(r for r in check_claims(table) if r.id == cid).as_dict()["checks"]


def rule_bar(check):
    """(bar, how the rule states it) of one check, read from what the rule printed: "bar 0.25 sd = 1.764 (ours)"
    -> (1.764, "0.25 sd"); "(bar 0.2, ours)" -> (0.2, "0.2"). The lessons never restate a rule's threshold."""
    measured = check["measured"]
    if "bar " not in measured:
        raise ValueError(f"the check {check['name']!r} prints no bar: {measured!r}")
    tail = measured[measured.index("bar ") + 4:]
    how, _, number = tail.rpartition("=") if "=" in tail else ("", "", tail)
    m = re.match(r"\s*([-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)", number)
    if m is None:
        raise ValueError(f"cannot read the bar of {check['name']!r} from {measured!r}")
    return float(m.group(1)), (how.strip() or m.group(1))


def _check_dim(check):
    m = re.match(r"D=(\d+) ", check["name"])
    return int(m.group(1)) if m else None


def _facts_c3(table):
    # The bar is the one the rule decides C3 (a) with (minflow.thesis.verdicts.claims), read from its check.
    facts = []
    checks = {_check_dim(c): c for c in rule_checks(table, "C3") if "(a)" in c["name"]}
    for d in sorted(k for k in checks if k is not None):
        rs = sorted(_rows(table, D=d, family="generalisation", t=0.0), key=lambda r: r["s"])
        gaps = [r["gap"] for r in rs]
        bar, how = rule_bar(checks[d])
        facts.append(compare_fact(f"D = {d}, t = 0: the range of Delta_HC over s ({_nums(gaps, '.2f')} nats)",
                                  max(gaps) - min(gaps), bar,
                                  f"the rule's bar {how} for 'roughly constant': the gap changes with s",
                                  f"within the rule's bar {how}: roughly constant in s, as in the thesis"))
    return facts


def fit_standard(table):
    """The thesis's own fit standard per D, as the rule of C1 (check (b), "small gap") decides it on ``table``:
    [{"D", "gap" (Delta_HC on Q(p), nats), "gap_sd" (in sd of log p), "bar", "how" (the rule's wording), "met"}]."""
    out = []
    for c in rule_checks(table, "C1"):
        if "(b)" not in c["name"]:
            continue
        d = _check_dim(c)
        bar, how = rule_bar(c)
        r = _rows(table, D=d, family="generalisation", s=1.0, t=0.0)[0]
        out.append({"D": d, "gap": c["value"], "gap_sd": c["value"] / r["var_logp"] ** 0.5, "bar": bar, "how": how,
                    "met": bool(c["passed"])})
    return out


def fit_standard_sentence(fits):
    """One sentence, from ``fit_standard``: at which D this run's model meets the thesis's fit standard, and by how
    much it misses it elsewhere."""
    if not fits:
        return ""
    how = fits[0]["how"]
    met = [f["D"] for f in fits if f["met"]]
    missed = [f for f in fits if not f["met"]]
    head = (f"By the fit standard of the thesis's finding C1 (its 'small gap', as check (b) of the rule decides it: "
            f"Delta_HC on Q(p) at most {how} of log p)")
    if not missed:
        return (f"{head}, this run's model fits p at every D here (" +
                ", ".join(f"D = {f['D']}: {f['gap']:.3f} nats, bar {f['bar']:.3f}" for f in fits) + ").")
    where = f"meets it at D = {_nums(met, 'd')} and " if met else ""
    return (f"{head}, this run's model {where}does not at D = {_nums([f['D'] for f in missed], 'd')} (" +
            "; ".join(f"D = {f['D']}: gap {f['gap']:.3f} nats = {f['gap_sd']:.2f} sd(log p), bar {f['bar']:.3f}, "
                      f"{f['gap'] / f['bar']:.2f} times the bar" for f in missed) +
            "): findings there rest on a model the thesis would not call fitted.")


def _facts_c4(table):
    shifted = sorted((r for r in _rows(table, family="generalisation", s=1.0) if r["t"] > 0),
                     key=lambda r: (r["D"], r["t"]))
    if not shifted:
        return []
    facts = [count_fact("at s = 1, t > 0, H*(q, p) - H*(q, p_theta)", [r["Hs_qp"] - r["Hs_qptheta"] for r in shifted],
                        "the model over-estimates the likelihood of the shifted set",
                        "the model under-estimates it")]
    for d in sorted({r["D"] for r in shifted}):
        rs = sorted(_rows(table, D=d, family="generalisation", s=1.0), key=lambda r: r["t"])
        facts.append(trend_fact(f"D = {d}: Delta_HC", [r["t"] for r in rs], "t", [r["gap"] for r in rs]))
    return facts


def _facts_c5(table):
    r = next(iter(_rows(table, D=20, family="generalisation", s=0.75, t=0.25)), None)
    if r is None:
        return []
    # The bars of the rule's checks (a) and (b), read from them (minflow.thesis.verdicts.claims).
    (sep_bar, _), (tnr_bar, _) = (rule_bar(c) for c in rule_checks(table, "C5"))
    return [compare_fact("D = 20, s = 0.75, t = 0.25: the separability |2 AUROC - 1| of log p_theta between Q(q) "
                         "and Q(p)", _sep(r["auroc_ptheta"]), sep_bar,
                         "the rule's bar: more separable than the thesis's 'overlap almost fully'",
                         "the rule's bar: the KDEs overlap almost fully, as in the thesis"),
            compare_fact("the TNR of the model's bounds on that set", r["tnr_ptheta"], tnr_bar,
                         "the rule's bar: some of it is caught", "the rule's bar: it is hardly caught, as in the thesis")]


def _facts_c6(table):
    rs = sorted(_rows(table, family="perturbed", s=1.0, t=0.0), key=lambda r: r["D"])
    if not rs:
        return []
    ds = [r["D"] for r in rs]
    facts = [trend_fact("the model's separability sep(log p_theta) of Q(q_delta(1, 0)) from Q(p)", ds, "D",
                        [_sep(r["auroc_ptheta"]) for r in rs]),
             count_fact("sep(log p) - sep(log p_theta)", [_sep(r["auroc_p"]) - _sep(r["auroc_ptheta"]) for r in rs],
                        "the truth separates better than the model", "the model separates at least as well",
                        where="dimensions")]
    return facts


def _facts_c7(table):
    facts = []
    for d in sorted({r["D"] for r in _rows(table, family="perturbed")}):
        diffs = []
        for q in _rows(table, D=d, family="generalisation"):
            qd = next(iter(_rows(table, D=d, family="perturbed", s=q["s"], t=q["t"])), None)
            if qd is not None:
                diffs.append(abs(qd["Hs_qp"] - q["Hs_qp"]) - abs(qd["Hs_qptheta"] - q["Hs_qptheta"]))
        if len(diffs) >= 2:
            facts.append(count_fact(f"D = {d}: (true change) - (model's change) of the cross-entropy under the "
                                    "perturbation", diffs, "the model registers less of it than the truth",
                                    "the model registers at least as much", where="(s, t)"))
    return facts


def _facts_c8(table):
    rs = sorted(_rows(table, family="outlier", s=1.0, t=0.0), key=lambda r: r["D"])
    if not rs:
        return []
    facts = [count_fact("for the outliers q_out(1, 0), H*(q_out, p) - H*(q_out, p_theta)",
                        [r["Hs_qp"] - r["Hs_qptheta"] for r in rs], "the model over-estimates their density",
                        "the model under-estimates it", where="dimensions"),
             trend_fact("the model's separability sep(log p_theta) of the outliers from Q(p)", [r["D"] for r in rs], "D",
                        [_sep(r["auroc_ptheta"]) for r in rs])]
    big = [r for r in rs if r["D"] == 100]
    if big:
        r = big[0]
        facts.append(compare_fact("at D = 100, mean log p_theta over the outliers minus over Q(p)",
                                  r["mean_logp_theta"] - r["ref_mean_logp_theta"], 0.0,
                                  "the outliers get the higher mean, as in the thesis",
                                  "the outliers get the lower mean", fmt=".2f"))
    return facts


def _facts_c9(table):
    facts = []
    for d in sorted({r["D"] for r in _rows(table, family="outlier")}):
        out = _rows(table, D=d, family="outlier")
        t0 = min(r["t"] for r in out)
        by_s = sorted(_rows(table, D=d, family="outlier", t=t0), key=lambda r: r["s"])
        if len(by_s) >= 2:
            facts.append(trend_fact(f"D = {d}, t = {t0:g}: the mean log p_theta over the outliers", [r["s"] for r in by_s],
                                    "s", [r["mean_logp_theta"] for r in by_s], ".1f"))
        by_t = sorted(_rows(table, D=d, family="outlier", s=1.0), key=lambda r: r["t"])
        if len(by_t) >= 2:
            facts.append(trend_fact(f"D = {d}, s = 1: the mean log p_theta over the outliers", [r["t"] for r in by_t],
                                    "t", [r["mean_logp_theta"] for r in by_t], ".1f"))
    return facts


def _facts_c10(table):
    facts = []
    for d in sorted({r["D"] for r in table}):
        outl = _rows(table, D=d, family="outlier")
        if outl:
            facts.append(compare_fact(f"D = {d}: the mean TNR of the model's bounds over the outlier grid",
                                      sum(r["tnr_ptheta"] for r in outl) / len(outl), 0.5,
                                      "most outliers are caught", "most are missed, as in the thesis"))
            facts.append(compare_fact(f"D = {d}: the mean TNR of the true density's bounds over the outlier grid",
                                      sum(r["tnr_p"] for r in outl) / len(outl), 0.9, "the truth catches them",
                                      "even the truth misses many"))
        r = next(iter(_rows(table, D=d, family="perturbed", s=1.0, t=0.0)), None)
        if r is not None:
            facts.append(compare_fact(f"D = {d}, perturbed (s = 1, t = 0): TNR of the model (thesis 0.02)",
                                      r["tnr_ptheta"], 0.10, "the model catches some of them",
                                      "the model hardly catches them, as in the thesis"))
    return facts


FACTS = {"C1": _facts_c1, "C3": _facts_c3, "C4": _facts_c4, "C5": _facts_c5, "C6": _facts_c6, "C7": _facts_c7,
         "C8": _facts_c8, "C9": _facts_c9, "C10": _facts_c10}


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
    from minflow.thesis.verdicts import check_claims

    decided = {r.id: r.as_dict() for r in check_claims(table)}
    scale = thesis_scale_verdicts()
    cfg = lesson.config
    fit = {r["D"]: r["train_kl"] for r in table if "train_kl" in r}
    entries, lines = [], ["## This run vs the thesis", ""]
    for cid in ids:
        d = decided[cid]
        facts = FACTS[cid](table) if cid in FACTS else []
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
    else:
        print(text.replace("**", ""))
