"""What lessons 4-9 and 12 share: the thesis's core model, its training, and the adapters to
``minflow.thesis.experiments`` (the code of ``make reproduce``).

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
from dataclasses import dataclass
from pathlib import Path


def _train_engine():
    import minflow

    return minflow.engine.DEFAULT


@dataclass(frozen=True)
class CoreModelConfig:
    """The core model (section 2.1) and its training, shared by lessons 4-9 and 12 (same values, same cached model)."""

    seed: int = 0
    n_layers: int = 8           # affine coupling layers
    hidden: tuple = (64, 64)    # widths of each coupling's conditioner MLP
    epochs: int = 12            # epochs of `epoch_size` fresh points of p each
    epoch_size: int = 8192
    lr: float = 3e-3
    batch_size: int = 256
    n_test: int = 20_000        # N of each test set Q_N(q) (thesis: 1,000,000)
    # Not an option: minflow.thesis.experiments.train_model builds its flows with the default engine.
    train_engine: str = dataclasses.field(default_factory=_train_engine, init=False)

    def experiment_config(self, dims, **extra):
        """The ``ExperimentConfig`` (minflow.thesis.experiments) with these settings; ``extra``: S, T, tpr, ..."""
        from minflow.thesis.experiments import preset

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
    ``minflow.thesis.experiments.train_model`` trains it (same seed stream as ``make reproduce``),
    cached so lessons 4-9 and 12 share it. Returns (flow, {"train_nll", "val_nll", "seconds"})."""
    import minflow
    from minflow.thesis.experiments import rng_for, train_model

    key = {"what": "thesis-core-model", "version": minflow.__version__, "dim": dim, "seed": config.seed,
           "dtype": config.dtype, "model": config.model, "training": config.training,
           "engine": minflow.engine.DEFAULT}

    def build():
        print(f"  training the core model for D = {dim} ...", flush=True)
        flow, hist = train_model(dim, config, rng_for(config.seed, "train", dim))
        return flow, {"train_nll": hist.train_nll, "val_nll": hist.val_nll, "seconds": hist.seconds}

    return lesson.cached(key, build)


def evaluate_cells(lesson, config, cells):
    """Score the test sets ``cells`` = [(D, family, s, t), ...] with minflow.thesis.experiments.

    Per D: the cached trained model, the reference set Q(p) (fixes the OOD bounds), then
    ``evaluate_cell`` for each test set, with the same random streams as ``make reproduce``.
    Returns (table: list of row dicts, kept: {kept_key: {"logp", "logp_theta"}}, models: {D: flow}).
    """
    from minflow.thesis.experiments import evaluate_cell, evaluate_reference, rng_for
    from minflow.thesis.experiments.cells import keep_values
    from minflow.thesis.experiments.io import kept_key
    from minflow.thesis.gaussians import ThesisDistributions

    table, kept, models = [], {}, {}
    for dim in sorted({c[0] for c in cells}):
        flow, _ = thesis_model(lesson, dim, config)
        dists = ThesisDistributions(dim, seed=config.seed)
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
    """Record a figure written by minflow.thesis.experiments.figures (PNG + caption .txt) as the lesson's own."""
    path = Path(path)
    caption = path.with_suffix(".txt").read_text().strip() if path.with_suffix(".txt").exists() else ""
    lesson.figures[path.name] = caption
    print(f"[figure] {path.name}: {caption.splitlines()[0] if caption else ''} ...")
    return path


def thesis_claims(lesson, table, ids):
    """Decide findings (C1-C10 of thesis-experiments.md) with minflow.thesis.experiments.claims and print
    them side by side with what the thesis says. These are reported, not asserted: a reproduction
    must be free to fail. Returns the list of dicts (also stored in results.json)."""
    from minflow.thesis.experiments import check_claims

    decided = {r.id: r for r in check_claims(table)}
    out = []
    for cid in ids:
        d = decided[cid].as_dict()
        out.append(d)
        print(f"[thesis {cid}, section {d['section']}] {d['thesis']}")
        for check in d["checks"]:
            print(f"    {'ok  ' if check['passed'] else 'FAIL'} {check['name']}: {check['measured']}")
        print(f"    -> {d['verdict']} on this run ({d['passed']}/{d['total']} checks)")
    lesson.results["thesis_claims"] = out  # made plain JSON by lesson.finish()
    return out
