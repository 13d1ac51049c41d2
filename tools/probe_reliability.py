"""Hostile probes of minflow's public API; each classified as a clear error, silent wrong or obscure crash.

    .venv/bin/python tools/probe_reliability.py            # prints the counts and every non-clear probe

clear error:   ValueError/TypeError whose message names the argument (or the file)
silent wrong:  accepted although it must be refused, or a non-finite result
obscure crash: any other exception, or an error that does not name the argument/file

Groups: flow methods (core), fit options (core), hostile checkpoints (core), score functions and
estimates (thesis), Gaussian arguments (thesis), corrupt result files of the runner (thesis).
Not a test: it runs a few hundred probes and reports; the tests pin each finding down.
"""
import contextlib
import io as stdio
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import minflow  # noqa: E402
from minflow.thesis import gaussians as G, information as info, ood  # noqa: E402

RESULTS = []  # (group, label, verdict, detail)
BAD_ARRAYS = {  # hostile values for an array argument; all must be refused
    "None": None, "str": "1.0", "words": ["a", "b"], "complex": np.ones((4, 3)) + 1j, "complex 1-D": np.ones(8) + 1j,
    "object": np.array([object()] * 6), "bool": np.ones(8, dtype=bool), "nan": np.full((4, 3), np.nan),
    "inf": np.full((4, 3), np.inf), "nan 1-D": np.array([1.0, np.nan, 2.0]), "empty": np.zeros((0, 3)),
    "empty 1-D": np.zeros(0), "ragged": [[1.0], [1.0, 2.0]], "3-D": np.zeros((2, 2, 3)), "scalar": 1.5,
    "dict": {"a": 1}, "bytes": b"12",
}
EITHER_ARRAYS = {  # may be refused clearly or give a finite result
    "huge": np.full((4, 3), 1e300), "tiny": np.full((4, 3), 1e-300), "int": np.ones((4, 3), dtype=int),
    "huge 1-D": np.array([1e308, -1e308, 1.7e308]), "int 1-D": np.arange(8), "float32": np.ones((4, 3), np.float32),
}
BAD_NUMBERS = {"None": None, "str": "0.5", "complex": 0.5 + 0j, "bool": True, "nan": float("nan"),
               "inf": float("inf"), "list": [0.5], "object": object(), "negative": -1.0, "zero": 0}


def probe(group, label, call, names, must_fail=True):
    """Run ``call`` and record its verdict; ``names``: words a clear message contains (any one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = call()
        except (ValueError, TypeError) as err:
            named = any(n in str(err) for n in names)
            return _record(group, label, "clear" if named else "obscure", f"{type(err).__name__}: {err}"[:160])
        except Exception as err:  # noqa: BLE001 - classifying every crash is the point
            return _record(group, label, "obscure", f"{type(err).__name__}: {err}"[:160])
    if must_fail:
        return _record(group, label, "silent", f"accepted, returned {_short(result)}")
    ok = _finite(result)
    return _record(group, label, "clear" if ok else "silent", "finite result" if ok else f"non-finite {_short(result)}")


def _record(group, label, verdict, detail):
    RESULTS.append((group, label, verdict, detail))


def _short(result):
    return repr(result).replace("\n", " ")[:100]


def _finite(result):
    if isinstance(result, (tuple, list)):
        return all(_finite(r) for r in result)
    try:
        return bool(np.all(np.isfinite(np.asarray(result, dtype=np.float64))))
    except (TypeError, ValueError):
        return True  # not numeric (a History, a Flow): nothing to check


def _cases(bad=True):
    yield from ((k, v, True) for k, v in BAD_ARRAYS.items()) if bad else ()
    yield from ((k, v, False) for k, v in EITHER_ARRAYS.items())


# --- core --------------------------------------------------------------------------------------
def probe_flow():
    flow = minflow.RealNVP(3, 2, (8,), rng=np.random.default_rng(0))
    for method, name in (("log_prob", "x"), ("forward", "x"), ("inverse", "z")):
        for label, value, must in _cases():
            probe("flow", f"{method}({label})", lambda: getattr(flow, method)(value), [name], must)
    for label, n in {"0": 0, "-1": -1, "1.5": 1.5, "'3'": "3", "None": None, "True": True}.items():
        probe("flow", f"sample(n={label})", lambda: flow.sample(n, np.random.default_rng(0)), ["n"])
    probe("flow", "sample(rng=None)", lambda: flow.sample(3, None), ["rng"])
    probe("flow", "sample(rng=0)", lambda: flow.sample(3, 0), ["rng"])
    nan = [[(np.full_like(w, np.nan), b) for w, b in p] for p in flow.params]
    cut = [[(w[:, :2], b) for w, b in p] for p in flow.params]
    for label, params in {"NaN": nan, "wrong shape": cut, "one short": flow.params[:1], "str": "p"}.items():
        probe("flow", f"Flow(params={label})", lambda: minflow.Flow(flow.layers, params=params).log_prob(np.zeros((2, 3))),
              ["params"])


def probe_fit():
    data = np.random.default_rng(0).normal(size=(64, 3))
    options = {"epochs": [0, -1, "3", True, None, 1.5], "batch_size": [0, -2, "8", True, 1.5],
               "lr": [0, -1e-3, float("nan"), float("inf"), "0.01", True, 1e-3 + 0j],
               "schedule": ["nope", None, 3], "warmup": [-1, "2", 1.5, True], "validation": [-0.1, 1.0, 2, "0.1", True],
               "epoch_size": [0, "10", True], "patience": [0, -1, "3", True], "clip_norm": [0, -1.0, "1", True, float("nan")],
               "engine": ["nope", 3], "progress": ["yes", 1], "callback": [3, "f"]}
    for name, values in options.items():
        for v in values:
            flow = minflow.RealNVP(3, 1, (4,), rng=np.random.default_rng(0))
            probe("fit", f"fit({name}={v!r})", lambda: minflow.fit(flow, data, rng=np.random.default_rng(1),
                                                                    epochs=1, **{name: v}), [name])
    for label, value, must in _cases():
        flow = minflow.RealNVP(3, 1, (4,), rng=np.random.default_rng(0))
        probe("fit", f"fit(data={label})", lambda: minflow.fit(flow, value, rng=np.random.default_rng(1), epochs=1,
                                                               batch_size=2, validation=0.0).train_nll, ["data"], must)
    for n, v in ((10, 0.05), (64, 0.005)):  # rounds to 0 rows: it must not validate on the training data
        probe("fit", f"fit(N={n}, validation={v})", lambda: minflow.fit(minflow.RealNVP(3, 1, (4,), rng=np.random.default_rng(0)),
              data[:n], rng=np.random.default_rng(1), epochs=1, batch_size=2, validation=v), ["validation"])
    probe("fit", "fit(rng=None)", lambda: minflow.fit(minflow.RealNVP(3, 1, (4,), rng=np.random.default_rng(0)),
                                                      data, rng=None, epochs=1), ["rng"])


def probe_checkpoints(tmp):
    flow = minflow.RealNVP(3, 2, (8,), rng=np.random.default_rng(0))
    good = minflow.save(flow, os.path.join(tmp, "good.npz"))
    raw = open(good, "rb").read()
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    config = json.loads(bytes(arrays["__config__"]).decode())

    def variant(name, arrays_=None, config_=None, data=None):
        path = os.path.join(tmp, name + ".npz")
        if data is not None:
            open(path, "wb").write(data)
        else:
            a = dict(arrays if arrays_ is None else arrays_)
            if config_ is not None:
                a["__config__"] = np.frombuffer(json.dumps(config_).encode(), dtype=np.uint8)
            np.savez(path, **a)
        return path

    first = next(k for k in arrays if k != "__config__")
    layers = config["flow"]["layers"]
    hostile = {
        "truncated": variant("truncated", data=raw[:len(raw) // 2]), "empty": variant("empty", data=b""),
        "text": variant("text", data=b"hello"),
        "no config": variant("noconfig", {k: v for k, v in arrays.items() if k != "__config__"}),
        "config list": variant("cfglist", config_=[1, 2]),
        "wrong format": variant("fmt", config_={**config, "format": "other"}),
        "NaN param": variant("nan", {**arrays, first: np.full_like(arrays[first], np.nan)}),
        "wrong shape": variant("shape", {**arrays, first: np.zeros((1, 1))}),
        "missing array": variant("missing", {k: v for k, v in arrays.items() if k != first}),
        "extra array": variant("extra", {**arrays, "p/99": np.zeros(3)}),
        "huge dim": variant("huge", config_={**config, "flow": {**config["flow"], "layers": [
            {**layers[0], "dim": 10 ** 12}] + layers[1:]}}),
        "int params": variant("int", {**arrays, first: arrays[first].astype(int)}),
        "no layers": variant("nolayers", config_={**config, "flow": {**config["flow"], "layers": []}}),
        "unknown layer": variant("unknown", config_={**config, "flow": {**config["flow"], "layers": [
            {**layers[0], "type": "Nope"}] + layers[1:]}}),
    }
    os.mkdir(os.path.join(tmp, "adir.npz"))
    hostile["a directory"] = os.path.join(tmp, "adir.npz")
    hostile["missing file"] = os.path.join(tmp, "nothing.npz")
    for label, path in hostile.items():
        probe("checkpoint", f"load({label})", lambda: minflow.load(path), [os.path.basename(path), "path"])
    probe("checkpoint", "load(None)", lambda: minflow.load(None), ["path"])
    probe("checkpoint", "save(into a directory)", lambda: minflow.save(flow, tmp), ["path"])
    probe("checkpoint", "save(not a flow)", lambda: minflow.save("flow", os.path.join(tmp, "x.npz")), ["flow"])


# --- thesis ------------------------------------------------------------------------------------
SCORES = np.random.default_rng(0).normal(size=40)


def probe_scores():
    calls = {
        "tpr_bounds": (lambda v: ood.tpr_bounds(v), "scores_in"),
        "true_negative_rate": (lambda v: ood.true_negative_rate(v, (-1.0, 1.0)), "scores_out"),
        "true_positive_rate": (lambda v: ood.true_positive_rate(v, (-1.0, 1.0)), "scores_in"),
        "auroc": (lambda v: ood.auroc(SCORES, v), "scores_out"),
        "fpr_at_tpr": (lambda v: ood.fpr_at_tpr(v, SCORES), "scores_in"),
        "chi2_tail": (lambda v: ood.chi2_tail(np.abs(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v, 3),
                      "norm_sq"),
        "cross_entropy_estimate": (lambda v: info.cross_entropy_estimate(v), "log_probs"),
        "kl_estimate": (lambda v: info.kl_estimate(v, 1.0), "log_probs_model"),
        "gap_estimate": (lambda v: info.gap_estimate(SCORES[:3], v), "log_p_theta"),
        "TypicalityTest.fit": (lambda v: ood.TypicalityTest(2, n_bootstrap=50).fit(v, np.random.default_rng(0)).threshold_,
                               "log_probs_train"),
    }
    for fn_name, (fn, name) in calls.items():
        for label, value, must in _cases():
            if label.endswith("1-D") or not isinstance(value, np.ndarray) or value.ndim != 2:
                probe("scores", f"{fn_name}({label})", lambda: fn(value), [name], must)
            else:  # a 2-D array is a wrong shape for scores: it must be refused
                probe("scores", f"{fn_name}({label} 2-D)", lambda: fn(value), [name], True)
    for label, v in BAD_NUMBERS.items():
        probe("scores", f"tpr_bounds(tpr={label})", lambda: ood.tpr_bounds(SCORES, tpr=v), ["tpr"])
        probe("scores", f"tpr_bounds(lower_fraction={label})",  # 0: only an upper bound, L = -inf by design
              lambda: ood.tpr_bounds(SCORES, lower_fraction=v)[1], ["lower_fraction"], label not in ("zero",))
        probe("scores", f"kl_estimate(entropy_q={label})", lambda: info.kl_estimate(SCORES, v), ["entropy_q"],
              label not in ("negative", "zero"))
        probe("scores", f"is_outlier(bounds=({label}, 1))", lambda: ood.is_outlier(SCORES, (v, 1.0)), ["bounds"],
              label not in ("negative", "zero", "inf"))
        probe("scores", f"TypicalityTest(batch_size={label})", lambda: ood.TypicalityTest(v), ["batch_size"])
    probe("scores", "chi2_tail(side='both')", lambda: ood.chi2_tail(np.ones(3), 3, side="both"), ["side"])
    probe("scores", "TypicalityTest.score before fit", lambda: ood.TypicalityTest(2).score(SCORES), ["fit"])


def probe_gaussians():
    g = G.Gaussian(np.zeros(3), np.eye(3))
    for label, value, must in _cases():
        rows = isinstance(value, np.ndarray) and value.ndim == 2 and len(value) > 0
        mean = value[0] if rows else value
        probe("gaussian", f"Gaussian(mean={label})", lambda: G.Gaussian(mean, np.eye(3)).entropy(), ["mean"], must)
        cov = np.diag(value[0]) if rows and value.shape[1] == 3 else value  # a diagonal of hostile values
        probe("gaussian", f"Gaussian(cov={label})", lambda: G.Gaussian(np.zeros(3), cov).entropy(), ["cov"], must)
        probe("gaussian", f"Gaussian.log_prob({label})", lambda: g.log_prob(value), ["x"], must)
    probe("gaussian", "Gaussian(cov singular)", lambda: G.Gaussian(np.zeros(2), np.ones((2, 2))), ["cov"])
    probe("gaussian", "Gaussian(cov asymmetric)", lambda: G.Gaussian(np.zeros(2), [[1, 0.5], [0, 1]]), ["cov"])
    for label, dtype in {"int": int, "float16": np.float16, "complex": complex, "str": "x", "None": None}.items():
        probe("gaussian", f"sample(dtype={label})", lambda: g.sample(3, np.random.default_rng(0), dtype=dtype), ["dtype"],
              label != "None")  # None: NumPy's default dtype, float64
    for label, v in BAD_NUMBERS.items():
        probe("gaussian", f"sample(n={label})", lambda: g.sample(v, np.random.default_rng(0)), ["n"])
        probe("gaussian", f"affine(s={label})", lambda: g.affine(v, 0.0), ["s"])
        probe("gaussian", f"affine(t={label})", lambda: g.affine(1.0, v).mean, ["t"],
              label not in ("negative", "zero", "list", "bool"))
        for opt in ("alpha", "beta", "condition_number", "mean_variance", "outlier_condition_number",
                    "outlier_mean_variance", "outlier_mean_z", "outlier_cov_mix"):
            may = (label in ("zero", "negative") and opt in ("alpha", "beta", "outlier_mean_z", "outlier_cov_mix")) \
                or (label == "None" and opt.startswith("outlier_") and "variance" in opt or label == "None"
                    and opt == "outlier_condition_number")
            probe("gaussian", f"ThesisDistributions({opt}={label})",
                  lambda: G.ThesisDistributions(2, **{opt: v}).p.entropy(), [opt], not may)
    for label, q in {"str": "x", "None": None, "array": np.eye(3)}.items():
        probe("gaussian", f"cross_entropy_gaussian(q={label})", lambda: info.cross_entropy_gaussian(q, g), ["q"])
        probe("gaussian", f"kl_gaussian(p={label})", lambda: info.kl_gaussian(g, q), ["p"])
    probe("gaussian", "family('nope')", lambda: G.ThesisDistributions(2).family("nope", 1, 0), ["name"])


# --- corrupt result files ----------------------------------------------------------------------
def probe_result_files(tmp):
    from minflow.thesis.cli import main
    from minflow.thesis.pipeline import preset, read_table, run
    try:
        from minflow.thesis.pipeline.store import ResultFileWarning
    except ImportError:  # a version without the checked store (to compare before and after)
        ResultFileWarning = Warning

    config = preset("tiny", dims=(4,), S=(1.0,), T=(0.0,), n_test=400, n_reference=400, kde_keep=40,
                    training={"epochs": 1, "epoch_size": 256, "validation": 128})
    clean = os.path.join(tmp, "clean")
    strip = lambda t: [{k: v for k, v in r.items() if k != "seconds"} for r in t]  # noqa: E731
    table = strip(read_table(run(config, clean, progress=False)))
    other = os.path.join(tmp, "other")  # the same grid, trained for 2 epochs: its model must not be adopted
    run(preset("tiny", **{**config.to_dict(), "training": {**config.to_dict()["training"], "epochs": 2}}),
        other, progress=False)
    damage = _damages("cells/D4/outlier_s1_t0", "cells/D4/reference.npz", "models/D4", other)
    for label, (rel, fn) in damage.items():
        out = os.path.join(tmp, "r_" + label.replace(" ", "_").replace("'", ""))
        shutil.copytree(clean, out)
        fn(os.path.join(out, rel))
        probe("results", label, lambda: _resume(run, read_table, config, out, table, strip, ResultFileWarning, rel),
              [rel, os.path.basename(rel)], must_fail=False)
    _probe_cli(main, clean, tmp)


def _damages(cell, ref, model, other):
    """label -> (file relative to the run folder, function that damages it); ``other``: a run of other settings."""

    def truncate(p):
        data = open(p, "rb").read()
        open(p, "wb").write(data[:len(data) // 2])

    def edit(p, key, value):
        rec = json.load(open(p))
        (rec["row"] if "row" in rec else rec)[key] = value  # (an older minflow stored the bare row)
        json.dump(rec, open(p, "w"))

    def as_dir(p):
        os.remove(p)
        os.mkdir(p)

    def swap(p, cell_base):  # another run's model, and one cell left to compute (it would use that model)
        for ext in (".npz", ".json"):
            shutil.copy(os.path.join(other, model + ext), p[:-5] + ext)
        os.remove(cell_base + ".json")

    return {
        "truncated cell npz": (cell + ".npz", truncate), "truncated cell json": (cell + ".json", truncate),
        "cell json list": (cell + ".json", lambda p: open(p, "w").write("[1]")),
        "cell json directory": (cell + ".json", as_dir),
        "cell npz wrong keys": (cell + ".npz", lambda p: np.savez(p, a=np.zeros(40))),
        "cell npz object array": (cell + ".npz", lambda p: np.savez(p, logp=np.array([object()] * 40),
                                                                     logp_theta=np.zeros(40))),
        "edited value": (cell + ".json", lambda p: edit(p, "H_q", 1.5)),
        "NaN value": (cell + ".json", lambda p: edit(p, "gap", float("nan"))),
        "string value": (cell + ".json", lambda p: edit(p, "gap", "1.0")),
        "another cell's arrays": (cell + ".npz", lambda p: shutil.copy(p.replace("outlier", "perturbed"), p)),
        "another cell's record": (cell + ".json", lambda p: shutil.copy(p.replace("outlier", "perturbed"), p)),
        "truncated reference": (ref, truncate), "reference directory": (ref, as_dir),
        "truncated model": (model + ".npz", truncate), "model record list": (model + ".json", lambda p: open(p, "w").write("[]")),
        "model record edited dim": (model + ".json", lambda p: json.dump({**json.load(open(p)), "dim": 5}, open(p, "w"))),
        "stale temp file": ("cells/D4/.x.npz.abc.tmp", lambda p: open(p, "w").write("x")),
        "nested cell json": (cell + ".json", lambda p: open(p, "w").write("[" * 100000 + "]" * 100000)),
        "model of other epochs": (model + ".json", lambda p: swap(p, os.path.join(os.path.dirname(p), "..", cell))),
    }


def _resume(run, read_table, config, out, table, strip, warning, rel):
    """Resume. The table and the kept values must equal the clean run's (else NaN: silent wrong), and a
    damaged file that was recomputed must have been named in a warning."""
    from minflow.thesis.pipeline.run_files import load_kept

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = strip(read_table(run(config, out, progress=False)))
    named = [str(w.message) for w in caught if issubclass(w.category, warning)]
    clean_kept = load_kept(os.path.join(os.path.dirname(out), "clean", "kept.npz"))
    kept = load_kept(os.path.join(out, "kept.npz"))
    same_kept = kept.keys() == clean_kept.keys() and all(
        np.array_equal(kept[k][n], clean_kept[k][n]) for k in kept for n in kept[k])
    if got != table or not same_kept:
        return float("nan")  # accepted, and the results are not the clean run's
    if named and not any(os.path.basename(rel) in m for m in named):
        raise RuntimeError(f"the warning does not name {rel}: {named}")
    return 0.0


def _probe_cli(main, clean, tmp):
    """CLI commands on damaged folders: exit status 2 and one line naming the file."""
    cases = {
        "config.json list": ("config.json", "[1]", ["reproduce"]), "config.json garbage": ("config.json", "{", ["reproduce"]),
        "config.json missing": ("config.json", None, ["reproduce"]),
        "table.csv garbage": ("table.csv", "D,family\n4,x\n", ["claims"]),
        "table.csv bad number": ("table.csv", "bad", ["claims"]), "run.json list": ("run.json", "[]", ["claims"]),
        "table.csv NaN": ("table.csv", "nan", ["claims"]), "run.json nested": ("run.json", "[" * 100000, ["claims"]),
    }
    for label, (name, content, cmd) in cases.items():
        out = os.path.join(tmp, "cli_" + label.replace(" ", "_").replace(".", "_"))
        shutil.copytree(clean, out)
        path = os.path.join(out, name)
        if content is None:
            os.remove(path)
        elif content in ("bad", "nan"):
            text = open(path).read().splitlines()
            row = "four" + text[1][1:] if content == "bad" else text[1].rsplit(",", 1)[0] + ",nan"
            open(path, "w").write("\n".join(text[:1] + [row] + text[2:]) + "\n")
        else:
            open(path, "w").write(content)
        args = (["reproduce", "--preset", "tiny", "--dims", "4", "--out", out, "--quiet", "--no-figures"]
                if cmd == ["reproduce"] else ["claims", out])
        probe("results", f"cli {cmd[0]} ({label})", lambda: _cli(main, args, name), [name])


def _cli(main, args, name):
    err = stdio.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(stdio.StringIO()):
        rc = main(args)
    text = err.getvalue()
    if rc == 2 and text.startswith("error: ") and "Traceback" not in text:
        raise ValueError(text.strip())  # a clear one-line error: named if it mentions the file
    raise RuntimeError(f"exit status {rc}: {text[-200:]!r}")


def report():
    counts = Counter(v for _, _, v, _ in RESULTS)
    print(f"{'group':<12} {'tried':>6} {'clear':>6} {'silent':>7} {'obscure':>8}")
    for group in dict.fromkeys(g for g, *_ in RESULTS):
        c = Counter(v for g, _, v, _ in RESULTS if g == group)
        print(f"{group:<12} {sum(c.values()):>6} {c['clear']:>6} {c['silent']:>7} {c['obscure']:>8}")
    print(f"{'total':<12} {len(RESULTS):>6} {counts['clear']:>6} {counts['silent']:>7} {counts['obscure']:>8}")
    bad = [r for r in RESULTS if r[2] != "clear"]
    if bad:
        print("\nnot clear:")
        for group, label, verdict, detail in bad:
            print(f"  [{verdict}] {group}: {label}: {detail}")
    return 1 if bad else 0


def main():
    tmp = tempfile.mkdtemp(prefix="minflow-probe-")
    try:
        probe_flow()
        probe_fit()
        probe_checkpoints(tmp)
        probe_scores()
        probe_gaussians()
        probe_result_files(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report()


if __name__ == "__main__":
    sys.exit(main())
