"""The plumbing shared by every lesson: options, output folder, figures, JSON, claims.

A lesson reads, top to bottom:

    import _lesson                                  # first: sets the headless backend
    @dataclass(frozen=True)
    class Config: seed: int = 0; epochs: int = 30   # every field is a command-line option
    lesson = _lesson.Lesson("03_training", Config, tiny=dict(epochs=2), thesis=dict(epochs=200))
    cfg = lesson.config                             # printed at start, every field
    ...
    lesson.savefig(fig, "density", "what the figure shows")  # -> <out>/density.png + density.txt
    lesson.record("H_p", 1.23)                      # printed, and written to <out>/results.json
    lesson.claim("the estimate is within 4 standard errors", ok)   # an assert, recorded
    lesson.finish()

Command line (every lesson):  .venv/bin/python lessons/NN_name.py [--field VALUE ...] [--tiny | --thesis] [--out DIR]
    --tiny (or the environment variable MINFLOW_TINY=1): seconds-long settings for the smoke test.
    --thesis: the thesis's scale (long).
    --out DIR: where the figures and results.json go (default lessons/out/<lesson>/ at the lesson's defaults;
        with any other setting lessons/out/<lesson>--<what changed>/, so exploring never overwrites the
        default run's figures).

A Config may inherit fields from a base dataclass (lessons 4-9 and 12: ``_thesis.CoreModelConfig``):
inherited fields are options too, printed and listed by ``--help`` under the base class's heading.
A field declared with ``init=False`` is printed and recorded but fixed (not an option). A field
``engine`` must name a minflow engine (``minflow.engine.names()``).

Nothing that looks complete is left behind by a failed run: everything is written into
``<out>.partial/`` and renamed to ``<out>/`` only when the lesson reaches ``finish()`` with every
asserted claim holding. A claim that fails is listed at ``finish()``, which then stops the lesson (exit 1,
no traceback) and leaves only ``<out>.partial/``.

Exploration never crashes: when any setting differs from the lesson's defaults (``--tiny``, ``--thesis``
or any option), claims that depend on training quality (``needs_training=True``) are reported, not
asserted, so the figures and results.json are always written to ``<out>/``, with the failed claims listed.

In a notebook (Jupyter, or ``make notebooks``) each figure is saved and also shown inline, and every
cell can be re-run after the first run: once ``finish()`` has run, figures go straight to ``<out>/``.
The environment variable MINFLOW_LESSONS_OUT changes the default output root (lessons/out).
"""
import os
import sys

# Before numpy is imported: these networks are small, so one BLAS thread is faster than
# several fighting over a shared machine. Set the variables yourself to override.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
if "ipykernel" not in sys.modules:
    os.environ.setdefault("MPLBACKEND", "Agg")  # a script writes its figures; a notebook also shows them

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import hashlib  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

LESSONS_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = Path(os.environ.get("MINFLOW_LESSONS_OUT") or LESSONS_DIR / "out").resolve()
FIGURE_DPI = 150  # every figure a lesson draws; tests/test_figures_lessons.py checks it
THESIS_URL = "https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91"
DEMO_URL = "https://github.com/aganse/flow_models"


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


def _field_groups(config_cls):
    """[(heading, fields)]: the lesson's own fields first, then those inherited, per base class."""
    groups = {}
    for f in dataclasses.fields(config_cls):
        owner = next(c for c in config_cls.__mro__ if f.name in inspect.get_annotations(c))
        groups.setdefault(owner, []).append(f)
    order = sorted(groups, key=lambda c: c is not config_cls)  # stable: bases keep their order
    return [(_heading(c, config_cls), groups[c]) for c in order]


def _heading(cls, config_cls):
    if cls is config_cls:
        return "settings (the fields of Config)"
    summary = (cls.__doc__ or "").strip().split("\n")[0].rstrip(".")
    return f"inherited from {cls.__module__}.{cls.__name__}: {summary}"


def _check_engine(config):
    if hasattr(config, "engine"):
        import minflow

        minflow.engine.get(config.engine)  # ValueError listing the known engines


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
            _check_engine(self.config)
        except (TypeError, ValueError) as e:
            _fail(f"bad setting for {self.name}: {e}")
        defaults = config_cls()
        changed = sorted(f.name for f in dataclasses.fields(config_cls)
                         if getattr(self.config, f.name) != getattr(defaults, f.name))
        # Exploring: any setting differs from the defaults. Claims that need a well-trained model are
        # then reported, not asserted (a lesson run with other settings must still write its figures).
        self.changed = changed
        self.exploring = bool(changed) or self.preset != "default"
        # Exploring never overwrites the default run's figures: other settings get a folder of their own.
        self.out = Path(args.out).resolve() if args.out else DEFAULT_OUT / self._folder_name(defaults)
        self.partial = self.out.with_name(self.out.name + ".partial")
        self.finished = False
        self._prepare_folder()
        self.results, self.claims, self.figures, self.figure_checks = {}, [], {}, {}
        self._print_header(config_cls)

    @property
    def folder(self):
        """Where figures and files go now: <out>.partial/ while the lesson runs, <out>/ once finished
        (so that a notebook cell re-run after the last one still finds its folder)."""
        folder = self.out if self.finished else self.partial
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # --- options -------------------------------------------------------------
    def _parse(self, config_cls, argv):
        parser = argparse.ArgumentParser(
            prog=f".venv/bin/python lessons/{self.name}.py", description=(config_cls.__doc__ or "").strip(),
            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        options = [f for f in dataclasses.fields(config_cls) if f.init]
        for heading, fields in _field_groups(config_cls):
            group = parser.add_argument_group(heading)
            for f in (f for f in fields if f.init):
                flags = [f"--{f.name.replace('_', '-')}"] + ([f"--{f.name}"] if "_" in f.name else [])
                group.add_argument(*flags, dest=f.name, default=argparse.SUPPRESS,
                                   help=f"(default {f.default!r})", **_option_kwargs(f))
        scale = parser.add_mutually_exclusive_group()
        scale.add_argument("--tiny", action="store_true",
                           help="seconds-long settings for the smoke test (or MINFLOW_TINY=1)")
        scale.add_argument("--thesis", action="store_true", help="the thesis's scale (long)")
        parser.add_argument("--out", metavar="DIR", help=f"output folder (default lessons/out/{self.name}, or lessons/out/{self.name}--<what changed> "
                                                      "with other settings)")
        if argv is None:  # a notebook has no command line: MINFLOW_LESSON_ARGS="--tiny" stands in for it
            argv = shlex.split(os.environ.get("MINFLOW_LESSON_ARGS", "")) if _in_notebook() else sys.argv[1:]
        args = parser.parse_args(argv)  # unknown options: argparse prints usage and exits 2
        names = {f.name for f in options}
        args.explicit = {k: tuple(v) if isinstance(v, list) else v for k, v in vars(args).items() if k in names}
        if os.environ.get("MINFLOW_TINY", "") not in ("", "0") and not args.thesis:
            args.tiny = True
        return args

    # --- output folder -------------------------------------------------------
    def _folder_name(self, defaults):
        """<lesson> at the defaults; <lesson>--<preset>--<field>-<value>... when exploring (hashed if long)."""
        if not self.exploring:
            return self.name
        parts = [] if self.preset == "default" else [self.preset]
        preset_values = self.presets.get(self.preset, {})
        for name in self.changed:
            value = getattr(self.config, name)
            if name in preset_values and preset_values[name] == value:
                continue  # the preset's own value: its name already says it
            text = "-".join(map(str, value)) if isinstance(value, tuple) else str(value)
            parts.append(f"{name}-{text}")
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", "--".join(parts) or self.preset)
        if len(slug) > 60:
            slug = slug[:40] + "-" + hashlib.sha1(slug.encode()).hexdigest()[:10]
        return f"{self.name}--{slug}"

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
        which = ([f"--{self.preset}"] if self.preset != "default" else []) + [
            f"{n}={getattr(self.config, n)!r}" for n in self.changed if n not in self.presets.get(self.preset, {})]
        print(f"=== lesson {self.name}  (settings: " + (f"exploring {' '.join(which)})" if self.exploring else "default)"))
        for heading, fields in _field_groups(config_cls):
            print(f"  {heading}")
            for f in fields:
                fixed = "" if f.init else "   (fixed, not an option)"
                print(f"    {f.name:<16} = {getattr(self.config, f.name)!r}{fixed}")
        print(f"    output -> {shown_path(self.out)}")
        if self.exploring:
            say(f"  exploring (settings differ from the defaults: {', '.join(self.changed) or self.preset}): "
                "claims that need a well-trained model are reported, not asserted")

    # --- results -------------------------------------------------------------
    def savefig(self, fig, name, caption):
        """Write ``fig`` as <name>.png (FIGURE_DPI) with its caption in <name>.txt, then close it; in a
        notebook, also show it inline. Axes without a label on x or y are recorded in results.json."""
        import matplotlib.pyplot as plt

        path = self.folder / f"{name}.png"
        fig.savefig(path, dpi=FIGURE_DPI, bbox_inches="tight")
        (self.folder / f"{name}.txt").write_text(caption.strip() + "\n")
        unlabelled = [f"axes {k} ({ax.get_title() or 'untitled'}): {which}"
                      for k, ax in enumerate(fig.axes) if ax.get_label() != "<colorbar>" and ax.axison
                      for which in ("x", "y") if not getattr(ax, f"get_{which}label")().strip()]
        plt.close(fig)
        self.figures[f"{name}.png"] = caption.strip()
        self.figure_checks[f"{name}.png"] = {"drawn_by": "lesson", "dpi": FIGURE_DPI, **png_size(path),
                                             "unlabelled_axes": unlabelled}
        say(f"[figure] {name}.png: {short_caption(caption, name)}")
        show_inline(path, caption)

    def adopt_figure(self, path, drawn_by):
        """Record a PNG written by other code (its caption in the .txt beside it) as the lesson's own."""
        path = Path(path)
        txt = path.with_suffix(".txt")
        caption = txt.read_text().strip() if txt.exists() else ""
        self.figures[path.name] = caption
        self.figure_checks[path.name] = {"drawn_by": drawn_by, **png_size(path)}
        say(f"[figure] {path.name}: {short_caption(caption, path.stem)}")
        show_inline(path, caption)

    def record(self, key, value, fmt=None):
        """Keep a key number for results.json, and print it."""
        self.results[key] = _to_json(value)
        shown = format(value, fmt) if fmt else value
        if isinstance(value, (list, dict)) and len(repr(value)) > 120:
            shown = f"({len(value)} entries, in results.json)"
        print(f"  {key} = {shown}")  # returns None: a notebook cell ending with it echoes nothing

    def write_json(self, name, data):
        """An extra JSON file in the output folder (results.json is written by ``finish``)."""
        (self.folder / f"{name}.json").write_text(json.dumps(_to_json(data), indent=2) + "\n")

    def write_text(self, name, text):
        """An extra text file in the output folder."""
        (self.folder / name).write_text(text)

    def claim(self, statement, ok, detail="", needs_training=False, depends_on_settings=False):
        """Check that what the lesson says is true on this run, and record it.

        needs_training=True: the claim depends on a well-trained model, so when the lesson runs with
        settings other than its defaults (--tiny, --thesis, any option) it is reported, not asserted.
        depends_on_settings=True: the same for a statistical claim that needs the default sample size.
        A failed asserted claim stops the lesson at ``finish()`` (every claim is printed first).
        """
        ok = bool(ok)
        asserted = not ((needs_training or depends_on_settings) and self.exploring)
        if ok:
            mark = "holds"
        elif asserted:
            mark = "DOES NOT HOLD"
        else:
            mark = ("does not hold at these settings (reported, not asserted: it needs "
                    + ("a well-trained model)" if needs_training else "the default settings)"))
        say(f"[claim] {statement}: {mark}" + (f"  ({detail})" if detail else ""))
        self.claims.append({"claim": statement, "holds": ok, "asserted": asserted, "detail": detail,
                            "needs_training": bool(needs_training), "depends_on_settings": bool(depends_on_settings)})

    def finish(self):
        """Write results.json and move <out>.partial/ to <out>/ (re-running it after that rewrites results.json).

        If an asserted claim failed: list it, leave only <out>.partial/ and stop (exit 1, no traceback).
        """
        exercises = self._print_exercises()
        seconds = time.perf_counter() - self.started
        summary = {"lesson": self.name, "settings": self.preset, "config": self.config, "exploring": self.exploring,
                   "changed_settings": self.changed, "seconds": round(seconds, 2), "results": self.results,
                   "claims": self.claims, "figures": self.figures, "figure_checks": self.figure_checks,
                   "exercises": exercises, "versions": _versions()}
        (self.folder / "results.json").write_text(json.dumps(_to_json(summary), indent=2) + "\n")
        failed = [c for c in self.claims if not c["holds"]]
        broken = [c for c in failed if c["asserted"]]
        if not self.finished and not broken:
            if self.out.exists():
                shutil.rmtree(self.out)
            self.partial.rename(self.out)
            self.finished = True
        held = len(self.claims) - len(failed)
        print(f"=== {self.name}: {held}/{len(self.claims)} claims hold, {len(self.figures)} figures, "
              f"{seconds:.1f} s -> {shown_path(self.out if not broken else self.partial)}")
        for c in failed:
            kind = "FAILED (asserted)" if c["asserted"] else "does not hold at these settings (reported)"
            say(f"    {kind}: {c['claim']}" + (f" ({c['detail']})" if c["detail"] else ""))
        if broken:
            print(f"error: {len(broken)} asserted claim(s) of {self.name} failed; its output stays in "
                  f"{shown_path(self.partial)}",
                  file=sys.stderr)
            raise SystemExit(1)

    def _print_exercises(self):
        """The exercises of this lesson, read from the classroom's catalog (the one list of them), with how
        to start them and check them; -> their entries for results.json."""
        number = self.name[:2]
        mine = lesson_exercises(number)
        if not mine:
            print(f"--- Exercises: none belong to lesson {number} (the lessons with exercises: "
                  f"{', '.join(sorted({e.lesson for e in _catalog().EXERCISES}))}).")
            return []
        print(f"--- Exercises for lesson {number} (the classroom's catalog, docs/TEACHERS.md):")
        for e in mine:
            print(f"  - {e.name}: {e.title} (thesis {e.section}; in {e.path})")
        print(f"  start: {START_EXERCISES}")
        print(f"  self-check: {self_check_command(number)}")
        return [{"name": e.name, "title": e.title, "section": e.section, "where": e.where} for e in mine]

    # --- trained models shared between lessons -------------------------------
    def cached(self, key, build):
        """``build()`` -> (flow, history dict), saved in <out>/../_cache/ under a hash of ``key``.

        Lessons 4-9 and 12 use the same trained models (``_thesis.thesis_model``); the first lesson
        to need one trains it. Delete lessons/out/_cache/ to retrain from scratch.
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


def shown_path(path):
    """A path as printed: relative to the repository when inside it (no build machine's folders in the book)."""
    path = Path(path)
    try:
        return str(path.relative_to(LESSONS_DIR.parent))
    except ValueError:
        return str(path)


def png_size(path):
    """{"width_px", "height_px", "dpi"} of a PNG, read from its header (IHDR) and pHYs chunk."""
    import struct

    data = Path(path).read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    dpi = None
    at = data.find(b"pHYs")
    if at > 0:
        ppu_x, _, unit = struct.unpack(">IIB", data[at + 4:at + 13])
        dpi = round(ppu_x * 0.0254) if unit == 1 else None
    return {"width_px": width, "height_px": height, "dpi": dpi}


PRINT_WIDTH = 110  # columns of a printed paragraph: a terminal or a log shows it without scrolling sideways


def wrapped(text, indent="    ", width=PRINT_WIDTH):
    """``text`` as a lesson prints it: each line longer than ``width`` broken between words into lines of at
    most ``width`` columns (a word longer than that stays whole). Breaks fall only at spaces, never inside a
    word, a number or a hyphenated range, so every number reads as it was computed; continuation lines keep
    the line's own indent plus ``indent``, so a wrapped item still reads as one."""
    out = []
    for line in str(text).split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        lead = line[:len(line) - len(line.lstrip(" "))]
        # a relation stays on one line with its operands ("D = 100", "gap <= 0.25", "2.03 +- 0.06"): its spaces
        # become no-break spaces, which textwrap does not break at, and plain spaces again once wrapped
        glued = _RELATION.sub(lambda m: f"\u00a0{m.group(1)}\u00a0", line)
        out.append(textwrap.fill(glued, width, subsequent_indent=lead + indent, break_long_words=False,
                                 break_on_hyphens=False).replace("\u00a0", " "))
    return "\n".join(out)


_RELATION = re.compile(r" (=|<=|>=|<|>|\+-|~) (?=\S)")


def say(text, indent="    "):
    """Print ``text`` wrapped (``wrapped``): a sentence generated from the run's numbers, readable in a terminal."""
    print(wrapped(text, indent))


CAPTION_PRINTED = 200  # characters of a caption printed at most; the whole caption is in <name>.txt


def short_caption(caption, name):
    """What a lesson prints of a caption: its first sentence, at most CAPTION_PRINTED characters (the
    whole caption stays in <name>.txt, in results.json and, in a notebook or the book, under the figure)."""
    text = " ".join(caption.split())
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text, maxsplit=1)[0]
    if len(first) > CAPTION_PRINTED:
        first = first[:CAPTION_PRINTED - 3].rsplit(" ", 1)[0] + " ..."
    return first + (f" (caption: {name}.txt)" if first != text else "")


# The exercises of each lesson are those of minflow.classroom's catalog; these are the commands that start
# and check them (the Makefile's targets exercises and grade).
START_EXERCISES = "make exercises (writes the workspace exercises/; its README.md says where each one goes)"


def self_check_command(number):
    return (f'make grade ARGS="--lesson {number}" (or .venv/bin/python -m minflow.classroom.grade '
            f"--lesson {number}; it grades exercises/)")


def _catalog():
    from minflow.classroom import catalog

    return catalog


def lesson_exercises(number):
    """The catalog's exercises of lesson ``number`` ("01"), in course order."""
    return [e for e in _catalog().EXERCISES if e.lesson == str(number).zfill(2)]


def show_inline(path, caption=""):
    """In a notebook, show the saved PNG below the cell, with its whole caption (a script only writes it)."""
    if _in_notebook():
        import html

        from IPython.display import HTML, Image, display

        display(Image(filename=str(path)))
        if caption.strip():
            display(HTML(f'<p class="figure-caption">{html.escape(caption.strip())}</p>'))


def _versions():
    import platform

    import matplotlib
    import scipy

    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "matplotlib": matplotlib.__version__}
