"""Command line: ``python -m minflow <command>`` (minflow/__main__.py calls ``main``).

    python -m minflow reproduce --preset quick|thesis|thesis32|tiny [--seeds N] [--seed K] [--out DIR]
                                [--workers N] [--fresh] [--scheduler ADDRESS]
        per seed: train one core model per D, evaluate every test set (resumable), decide claims
        C1-C10 (figures for the first seed); into reproduction/<preset>/seed<k>/ (or DIR: one run,
        DIR/seed<k>/ with --seeds); then regenerate REPRODUCTION.md (quick, thesis and thesis32 presets);
        prints the seconds per stage (also in DIR/run.json). --scheduler: the tasks run on the
        Dask cluster at ADDRESS (pip install -e .[dask]); only this process writes DIR (no shared disk)
    python -m minflow claims DIR          the claim table of a finished run
    python -m minflow figures DIR         redraw the figures of a finished run
    python -m minflow report              regenerate REPRODUCTION.md from the runs under reproduction/
    python -m minflow capacity [--out DIR] [--workers N]   the capacity study (model size / training budget)
    python -m minflow ablations [--seeds N] [--variants ...] [--workers N]   the core model plus one component
        at a time (ActNorm, LU, random permutations, additive, depth x 2, width x 4) -> reproduction/ablations/
    python -m minflow regimes [--out DIR] [--workers N] [--tiny]
        the C10 settling experiment, pre-registered (documents/regimes.py): train the sweep's flows
        (resumable), decide the rule -> DIR/points.csv, decision.json, regime_map.png, regimes.md
        (default DIR reproduction/regimes; --tiny: a seconds-long smoke sweep into results/regimes-tiny)
    python -m minflow slips [--out DIR] [--model-cache DIR] [--tiny]
        the evaluation-slip study, pre-registered (documents/slips.py): the quick flows of seeds 0-2 scored
        under every hypothesis -> DIR/signatures/seed<k>.json, decision.json, slips.png, slips.md
        (default DIR reproduction/slips; --tiny: seconds, into results/slips-tiny)
    python -m minflow precision [--seed K] [--workers N] [--tiny]
        the float32 evaluation's agreement (documents/precision.py): seed K of the thesis32 preset (the one
        `make reproduce` uses) into reproduction/thesis32/seed<K> and of the float64 thesis preset into
        reproduction/precision/seed<K>-float64 (both resumable), compared cell by cell ->
        reproduction/precision/agreement.csv, agreement.json; REPRODUCTION.md regenerated
        (--tiny: the tiny preset, seconds, into results/precision-tiny)
    python -m minflow testsets [--out DIR] [--tiny]
        the test-set construction sweep, pre-registered (documents/testsets.py): calibrate, train and score
        its 24 flows in one process, one thread (resumable), decide the rule -> DIR/points.csv, decision.json,
        testsets.png, testsets.md (default DIR reproduction/testsets; --tiny: seconds, into results/testsets-tiny)
"""
import argparse
import os
import shlex
import sys
import warnings
from contextlib import nullcontext

import matplotlib


def _reproduce(args):
    from .pipeline import preset
    from .documents.document import write_report, write_runs_report

    overrides = {}
    if args.n_test is not None:
        overrides["n_test"] = args.n_test
    if args.dims is not None:
        overrides["dims"] = tuple(args.dims)
    preset(args.preset, **overrides)  # a bad preset or override fails before anything runs
    seeds = _seeds(args)
    root = args.out if args.out is not None else os.path.join("reproduction", args.preset)
    per_seed = args.out is None or args.seeds is not None  # the committed layout: reproduction/<preset>/seed<k>/
    for k in seeds:
        out = os.path.join(root, f"seed{k}") if per_seed else root
        # figures of the first seed only: every seed's numbers are in the report, one set of pictures is enough
        _reproduce_one(args, preset(args.preset, **overrides, seed=k), out, figures=k == seeds[0])
    report = args.report if args.report is not None else ("REPRODUCTION.md" if args.preset in ("quick", "thesis", "thesis32")
                                                          and not overrides and args.out is None else "")
    if report and args.out is not None:  # the runs just made, not reproduction/
        dirs = [os.path.join(root, f"seed{k}") for k in seeds] if per_seed else [root]
        print(f"report: {write_runs_report(report, args.preset, dirs)}")
    elif report:
        print(f"report: {write_report(report)}")
    return 0


def _seeds(args):
    """--seeds N: the seeds K .. K + N - 1 (K: --seed, default 0); without it, the one seed K."""
    base = 0 if args.seed is None else args.seed
    if base < 0:
        raise ValueError(f"--seed: expected an integer >= 0, got {base}")
    if args.seeds is not None and args.seeds < 1:
        raise ValueError(f"--seeds: expected a number of seeds >= 1, got {args.seeds}")
    return list(range(base, base + (args.seeds or 1)))


def _reproduce_one(args, config, out, figures):
    from .pipeline import run
    from .documents.report import finish_run
    from .pipeline.timing import breakdown_lines
    from .pipeline.ownership import session
    from .pipeline.workers import dask_executor

    if not args.quiet:
        print(f"reproduce: seed {config.seed} -> {out}", file=sys.stderr)
    with session(out):  # the folder is this command's from the run to its figures
        with (dask_executor(args.scheduler) if args.scheduler else nullcontext()) as executor:
            path = run(config, out, workers=args.workers, fresh=args.fresh, progress=not args.quiet, executor=executor)
        done = finish_run(out, figures=figures and not args.no_figures, workers=args.workers)
    print("\n".join(breakdown_lines(done["record"].get("timing", {}))))
    print(f"table: {path}")


def _precision(args):
    from .pipeline import preset
    from .documents.document import write_report
    from .documents.precision import write_agreement

    k = args.seed
    if args.tiny:
        root = os.path.join("results", "precision-tiny")
        pair = ((preset("tiny", seed=k, eval_dtype="float32"), os.path.join(root, f"seed{k}-float32")),
                (preset("tiny", seed=k), os.path.join(root, f"seed{k}-float64")))
    else:
        root = os.path.join("reproduction", "precision")
        pair = ((preset("thesis32", seed=k), os.path.join("reproduction", "thesis32", f"seed{k}")),
                (preset("thesis", seed=k), os.path.join(root, f"seed{k}-float64")))
    for config, out in pair:
        # a finished run is only read: resuming it would record a no-op invocation over its timing
        if not all(os.path.isfile(os.path.join(out, f)) for f in ("table.csv", "claims.json", "run.json")):
            _reproduce_one(args, config, out, figures=False)
    a = write_agreement(root, pair[0][1], pair[1][1])
    print(f"precision: float32 {'agrees' if a['agrees'] else 'does NOT agree'} over {a['cells']} cells "
          f"(largest difference {max(a['worst_in_se'].values()):.2g} standard errors; verdicts differ: "
          f"{', '.join(a['verdicts_differ']) or 'none'}; same models: {a['same_models']}) -> {root}")
    if not args.tiny:
        print(f"report: {write_report('REPRODUCTION.md')}")
    return 0


def _claims(args):
    from .documents.report import claims_markdown, load_run

    run = load_run(args.dir)
    print(claims_markdown(run["claims"]))
    return 0


def _figures(args):
    from .documents.report import finish_run

    finish_run(args.dir, figures=True, workers=args.workers)
    return 0


def _report(args):
    from .documents.document import write_report

    print(write_report(args.path))
    return 0


def _ablations(args):
    from .documents.ablations import run_ablations

    seeds = _seeds(args)
    run_ablations(args.out, seeds=seeds, workers=args.workers, base=args.preset, variants=args.variants,
                  progress=not args.quiet)
    return 0


def _capacity(args):
    from .documents.capacity import run_capacity

    print(run_capacity(args.out, workers=args.workers, base=args.preset, progress=not args.quiet))
    return 0


def _regimes(args):
    from .pipeline import run_files
    from .documents.regimes import SWEEP
    from .documents.regimes_report import load, regime_map, regimes_markdown
    from .documents.regimes_run import TINY_SWEEP, run_regimes

    out = args.out if args.out is not None else os.path.join(*(("results", "regimes-tiny") if args.tiny
                                                               else ("reproduction", "regimes")))
    table = run_regimes(TINY_SWEEP if args.tiny else SWEEP, out, workers=args.workers, progress=not args.quiet)
    points, decision = load(out)
    figure = regime_map(points, decision, os.path.join(out, "regime_map.png"))
    base = os.path.abspath(out)
    lines = regimes_markdown(out, lambda p: os.path.relpath(os.path.abspath(p), base))
    run_files.write_text(os.path.join(out, "regimes.md"), "\n".join(lines).rstrip() + "\n")
    print(f"points: {table}\nfigure: {figure}\nreport: {os.path.join(out, 'regimes.md')}")
    print(f"reproducible (pre-registered rule): {'yes' if decision['reproducible'] else 'no'}")
    return 0


def _slips(args):
    from .pipeline import run_files
    from .documents.slips import STUDY, SlipStudy, slips_markdown
    from .documents.slips_run import TINY, run_slips, slips_figure

    out = args.out if args.out is not None else os.path.join(*(("results", "slips-tiny") if args.tiny
                                                               else ("reproduction", "slips")))
    cache = args.model_cache if args.model_cache is not None else os.path.join("results", "slips-models")
    record = run_slips(SlipStudy(**TINY) if args.tiny else STUDY, out, model_cache=cache)
    figure = slips_figure(record, os.path.join(out, "slips.png"))
    base = os.path.abspath(out)
    lines = slips_markdown(record, lambda p: os.path.relpath(os.path.abspath(p), base), heading="#", root=out)
    run_files.write_text(os.path.join(out, "slips.md"), "\n".join(lines).rstrip() + "\n")
    fits = [k for k, v in record["decision"].items() if k != "test_sets" and v["fits"]]
    print(f"decision: {os.path.join(out, 'decision.json')}\nfigure: {figure}\nreport: {os.path.join(out, 'slips.md')}")
    print(f"hypotheses that fit (pre-registered rule): {', '.join(fits) or 'none'}")
    return 0


def _at_least_one(text):
    """argparse's type of a count (--workers): a whole number >= 1, else an error naming the option."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m minflow", description="minflow: normalizing flows from scratch")
    sub = parser.add_subparsers(dest="command", required=True)
    _reproduce_parser(sub)
    _other_parsers(sub)
    return parser


def _reproduce_parser(sub):
    r = sub.add_parser("reproduce", help="run the thesis experiments (resumable)")
    r.add_argument("--preset", required=True, help="quick, thesis (float64), thesis32 (log p_theta in float32), high or tiny")
    r.add_argument("--out", default=None, help="output directory (default reproduction/<preset>)")
    r.add_argument("--workers", type=_at_least_one, default=1, help="processes (default 1)")
    r.add_argument("--fresh", action="store_true", help="delete earlier results in --out and start over")
    r.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the tasks on the Dask cluster at ADDRESS (tcp://host:8786; pip install -e .[dask])")
    r.add_argument("--n-test", type=int, default=None, help="override the test-set size N")
    r.add_argument("--dims", type=int, nargs="+", default=None, help="override the dimensionalities")
    r.add_argument("--seed", type=int, default=None, help="the (first) seed: distributions and training (default 0)")
    r.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="run N seeds (--seed .. --seed + N - 1), each into OUT/seed<k>/ (default: one seed; "
                        "without --out the layout is reproduction/<preset>/seed<k>/)")
    r.add_argument("--no-figures", action="store_true")
    r.add_argument("--report", default=None, help="path of the Markdown report to regenerate ('' for none)")
    r.add_argument("--quiet", action="store_true", help="no progress line")
    r.set_defaults(fn=_reproduce)


def _other_parsers(sub):
    c = sub.add_parser("claims", help="print the claim table of a finished run")
    c.add_argument("dir")
    c.set_defaults(fn=_claims)
    f = sub.add_parser("figures", help="redraw the figures of a finished run")
    f.add_argument("dir")
    f.add_argument("--workers", type=_at_least_one, default=1)
    f.set_defaults(fn=_figures)
    p = sub.add_parser("report", help="regenerate REPRODUCTION.md from reproduction/*")
    p.add_argument("--path", default="REPRODUCTION.md")
    p.set_defaults(fn=_report)
    k = sub.add_parser("capacity", help="the capacity study: the grid at several model sizes / training budgets")
    k.add_argument("--out", default=os.path.join("reproduction", "capacity"))
    k.add_argument("--workers", type=_at_least_one, default=1)
    k.add_argument("--preset", default="quick", help="the preset whose grid is used (default quick)")
    k.add_argument("--quiet", action="store_true")
    k.set_defaults(fn=_capacity)
    a = sub.add_parser("ablations", help="the grid for the core model plus one component at a time, over seeds")
    a.add_argument("--out", default=os.path.join("reproduction", "ablations"))
    a.add_argument("--workers", type=_at_least_one, default=1)
    a.add_argument("--preset", default="quick", help="the preset whose grid and training are used (default quick)")
    a.add_argument("--seeds", type=int, default=3, metavar="N", help="seeds --seed .. --seed + N - 1 (default 3)")
    a.add_argument("--seed", type=int, default=None, help="the first seed (default 0)")
    a.add_argument("--variants", nargs="+", default=None, help="only these (default: every variant)")
    a.add_argument("--quiet", action="store_true")
    a.set_defaults(fn=_ablations)
    g = sub.add_parser("regimes", help="the C10 settling experiment, pre-registered (resumable)")
    g.add_argument("--out", default=None, help="output directory (default reproduction/regimes; "
                                               "with --tiny results/regimes-tiny)")
    g.add_argument("--workers", type=_at_least_one, default=1, help="processes (default 1)")
    g.add_argument("--tiny", action="store_true", help="a small sweep for smoke tests (D = 4, 2 seeds, seconds)")
    g.add_argument("--quiet", action="store_true", help="no progress line")
    g.set_defaults(fn=_regimes)
    sl = sub.add_parser("slips", help="the evaluation-slip study, pre-registered (resumable per seed)")
    sl.add_argument("--out", default=None, help="output directory (default reproduction/slips; "
                                                "with --tiny results/slips-tiny)")
    sl.add_argument("--model-cache", default=None, help="where the trained flows are kept (default results/slips-models)")
    sl.add_argument("--tiny", action="store_true", help="the tiny preset, D = 4 and 6, one seed (seconds)")
    sl.set_defaults(fn=_slips)
    pr = sub.add_parser("precision", help="the float32 evaluation against float64 on one seed, cell by cell")
    pr.add_argument("--seed", type=int, default=0, help="the seed of both runs (default 0)")
    pr.add_argument("--workers", type=_at_least_one, default=1, help="processes (default 1)")
    pr.add_argument("--tiny", action="store_true", help="the tiny preset (seconds), into results/precision-tiny")
    pr.add_argument("--quiet", action="store_true", help="no progress line")
    pr.set_defaults(fn=_precision, scheduler=None, fresh=False, no_figures=True)
    ts = sub.add_parser("testsets", help="the test-set construction sweep, pre-registered (resumable)")
    ts.add_argument("--out", default=None, help="output directory (default reproduction/testsets; "
                                                "with --tiny results/testsets-tiny)")
    ts.add_argument("--tiny", action="store_true", help="a small sweep for smoke tests (D = 4, 2 seeds, seconds)")
    ts.add_argument("--quiet", action="store_true", help="no progress line")
    ts.set_defaults(fn=_testsets)


def _testsets(args):
    from .pipeline import run_files
    from .pipeline.workers import thread_budget
    from .documents.testsets import SWEEP, figure, testsets_markdown
    from .documents.testsets_run import TINY_SWEEP, run_testsets

    out = args.out if args.out is not None else os.path.join(*(("results", "testsets-tiny") if args.tiny
                                                               else ("reproduction", "testsets")))
    with thread_budget(1):  # one process, one thread: the study's pre-registered budget
        table = run_testsets(TINY_SWEEP if args.tiny else SWEEP, out, progress=not args.quiet)
    fig = figure(out, os.path.join(out, "testsets.png"))
    base = os.path.abspath(out)
    lines = testsets_markdown(out, lambda p: os.path.relpath(os.path.abspath(p), base))
    run_files.write_text(os.path.join(out, "testsets.md"), "\n".join(lines).rstrip() + "\n")
    decision = run_files.read_json(os.path.join(out, "decision.json"), dict)
    print(f"points: {table}\nfigure: {fig}\nreport: {os.path.join(out, 'testsets.md')}")
    print(f"a construction loses the perturbation (pre-registered rule): {'yes' if decision['loses'] else 'no'}")
    return 0


def _show_warning(message, category, *_, **__):
    print(f"warning: {message}", file=sys.stderr)


def main(argv=None):
    """Run one command; a bad argument or an unusable file ends it with one line "error: ..." and status 2,
    Ctrl-C with one line saying how to resume and status 130."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = build_parser().parse_args(argv)
    matplotlib.use("Agg")  # the command line writes figures, never shows them
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning  # "warning: <file>: ...; recomputing ...", no source line
        try:
            return args.fn(args)
        except (ValueError, OSError) as err:  # OSError: a file or folder the command cannot use
            print(f"error: {err}", file=sys.stderr)
            return 2
        except MemoryError as err:
            print(f"error: out of memory ({err or 'no detail'}); lower the sizes of this command "
                  "(--n-test, the model's width, --workers)", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            again = shlex.join(["python", "-m", "minflow", *(a for a in argv if a != "--fresh")])
            print(f"\ninterrupted: finished work is kept; to resume, rerun: {again}", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
