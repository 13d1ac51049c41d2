"""The plumbing shared by every lesson: options, output folder, figures, JSON, claims.

A lesson reads, top to bottom:

    import _lesson                                  # first: sets the headless backend
    @dataclass(frozen=True)
    class Config: seed: int = 0; epochs: int = 30   # every field is a command-line option
    lesson = _lesson.Lesson("03_training", Config, tiny=dict(epochs=2), thesis=dict(epochs=200))
    cfg = lesson.config                             # printed at start
    ...
    lesson.savefig(fig, "density", "what the figure shows")  # -> <out>/density.png + density.txt
    lesson.record("H_p", 1.23)                      # printed, and written to <out>/results.json
    lesson.claim("the estimate is within 4 standard errors", ok)   # an assert, recorded
    lesson.finish()

Command line (every lesson):  python lessons/NN_name.py [--field VALUE ...] [--tiny | --thesis] [--out DIR]
    --tiny (or the environment variable MINFLOW_TINY=1): seconds-long settings for the smoke test.
    --thesis: the thesis's scale (long).
    --out DIR: where the figures and results.json go (default lessons/out/<lesson>/).

Nothing that looks complete is left behind by a failed run: everything is written into
``<out>.partial/`` and renamed to ``<out>/`` only when the lesson reaches ``finish()``.
"""
import os

# Before numpy is imported: these networks are small, so one BLAS thread is faster than
# several fighting over a shared machine. Set the variables yourself to override.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")  # figures are written, never shown

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

LESSONS_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = LESSONS_DIR / "out"


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _to_json(obj):
    """numpy scalars/arrays, tuples and dataclasses -> plain JSON types."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _to_json(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _to_json(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else str(v)
    return obj


def _option_kwargs(f):
    """argparse settings for one dataclass field, from the type of its default."""
    default = f.default
    if isinstance(default, bool):
        return dict(action=argparse.BooleanOptionalAction)
    if isinstance(default, tuple):
        kind = type(default[0]) if default else str
        return dict(nargs="+", type=kind, metavar=kind.__name__.upper())
    kind = type(default) if default is not None else str
    return dict(type=kind, metavar=kind.__name__.upper())


def _in_notebook():
    return "ipykernel" in sys.modules


class Lesson:
    """Options, output folder and results of one lesson (see the module docstring)."""

    def __init__(self, name, config_cls, *, tiny=None, thesis=None, argv=None):
        self.name = Path(name).stem  # a literal name: a notebook has no __file__
        self.started = time.perf_counter()
        self.presets = {"tiny": dict(tiny or {}), "thesis": dict(thesis or {})}
        args = self._parse(config_cls, argv)
        self.preset = "tiny" if args.tiny else "thesis" if args.thesis else "default"
        self.tiny = self.preset == "tiny"
        values = dict(self.presets.get(self.preset, {}))
        values.update(args.explicit)
        try:
            self.config = dataclasses.replace(config_cls(), **values)
        except (TypeError, ValueError) as e:
            _fail(f"bad setting for {self.name}: {e}")
        self.out = Path(args.out).resolve() if args.out else DEFAULT_OUT / self.name
        self.partial = self.out.with_name(self.out.name + ".partial")
        self._prepare_folder()
        self.results, self.claims, self.figures = {}, [], {}
        self._print_header(config_cls)

    # --- options -------------------------------------------------------------
    def _parse(self, config_cls, argv):
        parser = argparse.ArgumentParser(
            prog=f"python lessons/{self.name}.py", description=(config_cls.__doc__ or "").strip(),
            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        group = parser.add_argument_group("settings (the fields of Config)")
        for f in dataclasses.fields(config_cls):
            flags = [f"--{f.name.replace('_', '-')}"] + ([f"--{f.name}"] if "_" in f.name else [])
            group.add_argument(*flags, dest=f.name, default=argparse.SUPPRESS,
                               help=f"(default {f.default!r})", **_option_kwargs(f))
        scale = parser.add_mutually_exclusive_group()
        scale.add_argument("--tiny", action="store_true",
                           help="seconds-long settings for the smoke test (or MINFLOW_TINY=1)")
        scale.add_argument("--thesis", action="store_true", help="the thesis's scale (long)")
        parser.add_argument("--out", metavar="DIR", help=f"output folder (default lessons/out/{self.name})")
        if argv is None:
            argv = [] if _in_notebook() else sys.argv[1:]
        args = parser.parse_args(argv)  # unknown options: argparse prints usage and exits 2
        names = {f.name for f in dataclasses.fields(config_cls)}
        args.explicit = {k: tuple(v) if isinstance(v, list) else v for k, v in vars(args).items() if k in names}
        if os.environ.get("MINFLOW_TINY", "") not in ("", "0") and not args.thesis:
            args.tiny = True
        return args

    # --- output folder -------------------------------------------------------
    def _prepare_folder(self):
        if self.out.exists() and not self.out.is_dir():
            _fail(f"--out {self.out}: exists and is not a folder")
        try:
            if self.partial.exists():
                shutil.rmtree(self.partial)  # a previous run that failed half-way
            self.partial.mkdir(parents=True)
            probe = self.partial / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            _fail(f"cannot write the output folder {self.partial} ({e.strerror or e}); choose another with --out DIR")

    def _print_header(self, config_cls):
        print(f"=== lesson {self.name}  (settings: {self.preset})")
        for f in dataclasses.fields(config_cls):
            print(f"    {f.name:<16} = {getattr(self.config, f.name)!r}")
        print(f"    output -> {self.out}")

    # --- results -------------------------------------------------------------
    def savefig(self, fig, name, caption):
        """Write ``fig`` as <name>.png with its caption in <name>.txt, then close it."""
        import matplotlib.pyplot as plt

        path = self.partial / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        (self.partial / f"{name}.txt").write_text(caption.strip() + "\n")
        plt.close(fig)
        self.figures[f"{name}.png"] = caption.strip()
        print(f"[figure] {name}.png: {caption.strip()}")
        return path

    def record(self, key, value, fmt=None):
        """Keep a key number for results.json, and print it."""
        self.results[key] = _to_json(value)
        shown = format(value, fmt) if fmt else value
        if isinstance(value, (list, dict)) and len(repr(value)) > 120:
            shown = f"({len(value)} entries, in results.json)"
        print(f"  {key} = {shown}")
        return value

    def write_json(self, name, data):
        """An extra JSON file in the output folder (results.json is written by ``finish``)."""
        path = self.partial / f"{name}.json"
        path.write_text(json.dumps(_to_json(data), indent=2) + "\n")
        return path

    def claim(self, statement, ok, detail="", needs_training=False):
        """Assert what the lesson says is true on this run, and record it.

        needs_training=True: the claim depends on a well-trained model, so with --tiny
        settings it is reported but not asserted.
        """
        ok = bool(ok)
        skipped = needs_training and self.tiny and not ok
        mark = "ok" if ok else "not checked at --tiny settings" if skipped else "FAILED"
        print(f"[claim] {statement}: {mark}" + (f"  ({detail})" if detail else ""))
        self.claims.append({"claim": statement, "holds": ok, "asserted": not skipped, "detail": detail})
        if not skipped:
            assert ok, f"{statement} ({detail})"

    def finish(self):
        """Write results.json and move <out>.partial/ to <out>/."""
        seconds = time.perf_counter() - self.started
        summary = {"lesson": self.name, "settings": self.preset, "config": self.config,
                   "seconds": round(seconds, 2), "results": self.results, "claims": self.claims,
                   "figures": self.figures, "versions": _versions()}
        (self.partial / "results.json").write_text(json.dumps(_to_json(summary), indent=2) + "\n")
        if self.out.exists():
            shutil.rmtree(self.out)
        self.partial.rename(self.out)
        held = sum(c["holds"] for c in self.claims)
        print(f"=== {self.name}: {held}/{len(self.claims)} claims hold, {len(self.figures)} figures, "
              f"{seconds:.1f} s -> {self.out}")

    # --- trained models shared between lessons -------------------------------
    def cached(self, key, build):
        """``build()`` -> (flow, history dict), saved in <out>/../_cache/ under a hash of ``key``.

        Lessons 5-9 and 12 use the same trained models; the first lesson to need one trains
        it. Delete lessons/out/_cache/ to retrain from scratch.
        """
        import minflow

        digest = hashlib.sha1(json.dumps(_to_json(key), sort_keys=True).encode()).hexdigest()[:16]
        folder = self.out.parent / "_cache"
        path, meta = folder / f"{digest}.npz", folder / f"{digest}.json"
        if path.exists() and meta.exists():
            print(f"  (using the trained model cached in {path.name})")
            return minflow.load(path), json.loads(meta.read_text())["history"]
        flow, history = build()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f"{digest}.{os.getpid()}.tmp.npz"  # no clash between parallel runs
            minflow.save(flow, tmp)
            meta.write_text(json.dumps(_to_json({"key": key, "history": history}), indent=1))
            tmp.rename(path)
        except OSError as e:  # a cache we cannot write only costs time
            print(f"  (could not cache the model: {e})")
        return flow, history

    def thesis_model(self, dim, config):
        """The core RealNVP trained on p = ThesisDistributions(dim, config.seed).p exactly as
        ``minflow.experiments.train_model`` trains it (same seed stream as ``make reproduce``),
        cached so lessons 5-9 and 12 share it. Returns (flow, {"train_nll", "val_nll", "seconds"})."""
        import minflow
        from minflow.experiments import rng_for, train_model

        key = {"what": "thesis-core-model", "version": minflow.__version__, "dim": dim, "seed": config.seed,
               "dtype": config.dtype, "model": config.model, "training": config.training}

        def build():
            print(f"  training the core model for D = {dim} ...", flush=True)
            flow, hist = train_model(dim, config, rng_for(config.seed, "train", dim))
            return flow, {"train_nll": hist.train_nll, "val_nll": hist.val_nll, "seconds": hist.seconds}

        return self.cached(key, build)


def evaluate_cells(lesson, config, cells):
    """Score the test sets ``cells`` = [(D, family, s, t), ...] with minflow.experiments.

    Per D: the cached trained model, the reference set Q(p) (fixes the OOD bounds), then
    ``evaluate_cell`` for each test set, with the same random streams as ``make reproduce``.
    Returns (table: list of row dicts, kept: {kept_key: {"logp", "logp_theta"}}, models: {D: flow}).
    """
    from minflow.experiments import evaluate_cell, evaluate_reference, rng_for
    from minflow.experiments.cells import keep_values
    from minflow.experiments.io import kept_key
    from minflow.gaussians import ThesisDistributions

    table, kept, models = [], {}, {}
    for dim in sorted({c[0] for c in cells}):
        flow, _ = lesson.thesis_model(dim, config)
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
    """Record a figure written by minflow.experiments.figures (PNG + caption .txt) as the lesson's own."""
    path = Path(path)
    caption = path.with_suffix(".txt").read_text().strip() if path.with_suffix(".txt").exists() else ""
    lesson.figures[path.name] = caption
    print(f"[figure] {path.name}: {caption.splitlines()[0] if caption else ''} ...")
    return path


def thesis_claims(lesson, table, ids):
    """Decide findings (C1-C10 of thesis-experiments.md) with minflow.experiments.claims and print them
    side by side with what the thesis says. These are reported, not asserted: a reproduction
    must be free to fail. Returns the list of dicts (also stored in results.json)."""
    from minflow.experiments import claims as C

    decided = {r.id: r for r in C.check_claims(table)}
    out = []
    for cid in ids:
        d = decided[cid].as_dict()
        out.append(d)
        print(f"[thesis {cid}, section {d['section']}] {d['thesis']}")
        for check in d["checks"]:
            print(f"    {'ok  ' if check['passed'] else 'FAIL'} {check['name']}: {check['measured']}")
        print(f"    -> {d['verdict']} on this run ({d['passed']}/{d['total']} checks)")
    lesson.results["thesis_claims"] = _to_json(out)
    return out


def experiment_config(cfg, dims, **extra):
    """An ``ExperimentConfig`` (minflow.experiments) from a lesson's Config fields.

    The lessons' Configs share the field names n_layers, hidden, epochs, epoch_size, lr,
    batch_size, n_test and seed, so equal settings give the same cached models."""
    from minflow.experiments import preset

    return preset("quick", dims=tuple(dims), seed=cfg.seed, n_test=cfg.n_test,
                  model=dict(n_layers=cfg.n_layers, hidden=tuple(cfg.hidden)),
                  training=dict(epochs=cfg.epochs, epoch_size=cfg.epoch_size, lr=cfg.lr,
                                batch_size=cfg.batch_size, validation=min(4096, cfg.epoch_size)),
                  **extra)


def _versions():
    import platform

    import matplotlib
    import scipy

    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "matplotlib": matplotlib.__version__}
