"""Smoke test of `make lessons`: every lesson runs headless with --tiny settings, exits 0 and writes
the figures (each with a caption) and the results.json it promises; bad options fail clearly."""
import functools
import json
import os
import re
import tempfile
import subprocess
import sys
from pathlib import Path

import pytest

import minflow

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"

# What each lesson promises (lessons/README.md lists the same files).
FIGURES = {
    "01_change_of_variables": ["change_of_variables_1d", "change_of_variables_2d"],
    "02_affine_coupling": ["jacobian", "masks", "determinant_cost"],
    "03_training": ["learning_curve", "samples_vs_data", "density_contours"],
    "04_information": ["entropy", "cross_entropy_grid", "model_inequality"],
    "05_baseline": ["learning_curves", "fig01_baseline_kde", "baseline_gap"],
    "06_generalisation": ["fig02_cross_entropy", "fig03_kde_s", "fig04_kde_t", "fig05_kde_combined", "fig06_kl",
                          "gap_grid", "typical_set"],
    "07_perturbed": ["fig07_perturbed_kde", "perturbed_separability", "fig08_perturbed_cross_entropy",
                     "fig09_perturbed_kl", "fig10_perturbed_variants"],
    "08_outliers": ["fig11_outlier_kde", "fig12_outlier_variants", "outlier_means"],
    "09_ood_detection": ["fig13_tnr", "ood_scores", "auroc_scores"],
    "10_mapping_2d": ["mapping_shifted_mvn", "mapping_two_moons", "mapping_ring8", "flow_frames"],
    "11_extensions": ["variants_fit", "variants_terms"],
    "12_inside_the_model": ["layer_scales_shifts", "layer_perturbation_separation"],
    "13_regime_map": ["regime_map", "regimes_by_epoch"],
}
EXTRA_FILES = {"10_mapping_2d": ["consistency.json", "consistency.txt"],
               "13_regime_map": ["points.csv", "decision.json"]}
# The lessons whose Config inherits the core model's fields (lessons/_thesis.py: CoreModelConfig).
CORE_MODEL_LESSONS = ("04_information", "05_baseline", "06_generalisation", "07_perturbed", "08_outliers",
                      "09_ood_detection", "12_inside_the_model")
# The engine each lesson that builds or trains a flow prints in its settings (field -> value): lessons
# 4-9 and 12 train through minflow.thesis.pipeline.train_model, lesson 13 through
# minflow.thesis.documents.regimes_run.run_task, i.e. with the default engine.
ENGINES = {name: {"train_engine": minflow.engine.DEFAULT} for name in (*CORE_MODEL_LESSONS, "13_regime_map")}
ENGINES["12_inside_the_model"]["engine"] = "reference"
ENGINES.update({"03_training": {"engine": "reference"}, "10_mapping_2d": {"engine": "primitives"},
                "11_extensions": {"engine": "primitives"}})
# The core model's fields, inherited by lessons 4-9 and 12 from lessons/_thesis.py: options like any other.
SHARED_FIELDS = ("seed", "n_layers", "hidden", "epochs", "epoch_size", "lr", "batch_size", "n_test")


def flat(text):
    """Printed text with its line breaks and indents as single spaces: the lessons wrap long sentences
    (lessons/_lesson.py: wrapped), so a sentence is looked for in the flattened output."""
    return " ".join(text.split())


def _run(name, *args, env_extra=None, timeout=120):
    env = {**os.environ, "MPLBACKEND": "Agg", **(env_extra or {})}
    return subprocess.run([sys.executable, str(LESSONS / f"{name}.py"), *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)


def test_every_lesson_file_is_listed():
    found = sorted(p.stem for p in LESSONS.glob("[0-9][0-9]_*.py"))
    assert found == sorted(FIGURES), f"lessons on disk {found} differ from the smoke test's list"


@functools.lru_cache(maxsize=None)
def run_all_tiny():
    """Run all lessons once, in order, with tiny settings (they share one model cache); cached for the
    session, so tests/test_figures_lessons.py reads the same runs."""
    root = Path(tempfile.mkdtemp(prefix="minflow-lessons-"))
    runs = {}
    for name in sorted(FIGURES):
        runs[name] = (_run(name, "--tiny", "--out", str(root / name)), root / name)
        if runs[name][0].returncode != 0:  # later lessons would only repeat the failure
            break
    return runs


@pytest.fixture(scope="session")
def tiny_runs():
    return run_all_tiny()


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_lesson_runs_tiny(tiny_runs, name):
    assert name in tiny_runs, "an earlier lesson failed"
    proc, out = tiny_runs[name]
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert out.is_dir() and not out.with_name(out.name + ".partial").exists()
    summary = json.loads((out / "results.json").read_text())
    assert summary["lesson"] == name and summary["settings"] == "tiny"
    assert summary["config"]["seed"] == 0 and summary["results"]
    assert all(c["holds"] or not c["asserted"] for c in summary["claims"])
    assert summary["exploring"] and not re.search(r"\bFAIL\b", proc.stdout), "a passing run prints FAIL"
    for fig in FIGURES[name]:
        png, txt = out / f"{fig}.png", out / f"{fig}.txt"
        assert png.is_file() and png.stat().st_size > 5000, f"{name}: missing or empty figure {fig}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert txt.is_file() and txt.read_text().strip(), f"{name}: {fig}.png has no caption"
        assert f"{fig}.png" in summary["figures"]
    for extra in EXTRA_FILES.get(name, []):
        assert (out / extra).is_file()
    header = proc.stdout.split("output ->")[0]
    for field, value in ENGINES.get(name, {}).items():
        assert summary["config"][field] == value
        assert f"{field:<16} = {value!r}" in header, f"{name}: the settings do not show {field}"
    if name in CORE_MODEL_LESSONS:
        for field in SHARED_FIELDS:  # inherited fields are printed and recorded too
            assert f"    {field:<16} = " in header and field in summary["config"]
    if name == "10_mapping_2d":  # the consistency table holds to machine precision even untrained
        report = json.loads((out / "consistency.json").read_text())
        for rows in report.values():
            for section in rows.values():
                for key, stats in section.items():
                    if "difference" in key:
                        assert stats["max|.|"] < 1e-10


# The longest line a lesson may print: the sentences generated from a run are wrapped at 110 columns
# (lessons/_lesson.py: wrapped) and captions printed as their first sentence, so only a long table row or a
# long path comes near it (issue 28: caption lines of 2,022 characters, "Why they may differ" of 1,400).
PRINTED_LINE_LIMIT = 300


def long_lines(stdout, limit=PRINTED_LINE_LIMIT):
    """The printed lines longer than limit, each as (length, its start)."""
    return [(len(line), line[:120]) for line in stdout.splitlines() if len(line) > limit]


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_printed_lines_are_short(tiny_runs, name):
    """What a lesson prints reads in a terminal: no line over PRINTED_LINE_LIMIT characters (the --tiny runs
    above; tests/test_lessons_default_claims.py checks the default runs of lessons 01-09 and 12 the same way)."""
    assert name in tiny_runs, "an earlier lesson failed"
    proc, _ = tiny_runs[name]
    assert not long_lines(proc.stdout), f"{name} prints lines over {PRINTED_LINE_LIMIT} characters: {long_lines(proc.stdout)}"


def test_regime_map_records_its_sweep(tiny_runs):
    """Lesson 13's results.json records the sweep it ran (the RegimeSweep's settings) and its seed; decision.json
    and points.csv are in the full sweep's format, and every checkpoint asked for was scored."""
    name = "13_regime_map"
    assert name in tiny_runs, "an earlier lesson failed"
    proc, out = tiny_runs[name]
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    summary = json.loads((out / "results.json").read_text())
    config, sweep = summary["config"], summary["results"]["sweep"]
    assert config["seed"] == 0 and sweep["seeds"] == list(range(config["seed"], config["seed"] + config["n_seeds"]))
    assert sweep["dim"] == config["dim"] and sweep["n_eval"] == config["n_eval"] and sweep["tpr"] == config["tpr"]
    assert (sweep["epoch_size"], sweep["batch_size"], sweep["lr"]) == (config["epoch_size"], config["batch_size"],
                                                                       config["lr"])
    assert [m["name"] for m in sweep["models"]] == list(config["models"])
    assert all((m["n_layers"], m["hidden"]) == (config["n_layers"], config["hidden"]) for m in sweep["models"])
    assert [d["fixed"] for d in sweep["data"]] == [None, config["small_set"], config["large_set"]]
    assert [d["checkpoints"] for d in sweep["data"]] == [config["fresh_checkpoints"], config["small_checkpoints"],
                                                         config["large_checkpoints"]]
    decision = json.loads((out / "decision.json").read_text())
    assert decision["sweep"] == sweep and decision["not_reached"] == []
    points = summary["results"]["points"]
    n_expected = len(sweep["seeds"]) * len(sweep["models"]) * sum(len(d["checkpoints"]) for d in sweep["data"])
    assert len(points) == n_expected == decision["n_points"]
    assert len((out / "points.csv").read_text().strip().splitlines()) == n_expected + 1
    assert {p["seed"] for p in points} == set(sweep["seeds"])
    for finding in summary["results"]["findings"]:
        assert flat(finding) in flat(proc.stdout)


def test_regime_map_shows_a_committed_sweep_or_says_it_is_missing(tiny_runs, tmp_path):
    """The last cell of lesson 13 reads a full sweep's folder if there is one, says so if not, and never fails
    (here: lesson 13's own --tiny output, which has the full sweep's format, as the "committed" sweep)."""
    proc, out = tiny_runs["13_regime_map"]
    assert proc.returncode == 0
    found = json.loads((out / "results.json").read_text())["results"]["full_sweep"]["found"]
    assert found == (ROOT / "reproduction" / "regimes" / "decision.json").is_file()
    shown = _run("13_regime_map", "--tiny", "--full-sweep", str(out), "--out", str(tmp_path / "shown"))
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert "Is C10 reproducible under the thesis's own fit?" in shown.stdout and "e13d8ba" in shown.stdout
    assert json.loads((tmp_path / "shown" / "results.json").read_text())["results"]["full_sweep"]["readable"]
    missing = _run("13_regime_map", "--tiny", "--full-sweep", str(tmp_path / "none"), "--out", str(tmp_path / "missing"))
    assert missing.returncode == 0 and "has not been committed yet" in missing.stdout
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "decision.json").write_text("{not json")
    proc = _run("13_regime_map", "--tiny", "--full-sweep", str(broken), "--out", str(tmp_path / "b"))
    assert proc.returncode == 0 and "could not be read" in proc.stdout, proc.stderr[-3000:]


def test_unknown_option_fails_clearly(tmp_path):
    proc = _run("02_affine_coupling", "--tiny", "--epochz", "5", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2
    assert "unrecognized arguments: --epochz" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_bad_value_fails_clearly(tmp_path):
    proc = _run("02_affine_coupling", "--dim", "many", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "--dim: invalid int value" in proc.stderr


def test_unwritable_output_folder_fails_clearly(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    proc = _run("02_affine_coupling", "--tiny", "--out", str(blocker / "out"))
    assert proc.returncode == 2
    assert "cannot write the output folder" in proc.stderr and "--out" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_failed_lesson_leaves_no_complete_looking_output(tmp_path):
    out = tmp_path / "mapping"
    proc = _run("10_mapping_2d", "--tiny", "--datasets", "spiral", "--epochs", "1", "--out", str(out))
    assert proc.returncode != 0 and "unknown ['spiral']" in proc.stderr
    assert not out.exists()
    assert not (out.with_name("mapping.partial") / "results.json").exists()


def test_inherited_fields_are_options():
    proc = _run("06_generalisation", "--help")
    assert proc.returncode == 0, proc.stderr
    for field in ("dims", *SHARED_FIELDS):
        assert f"--{field.replace('_', '-')}" in proc.stdout
    assert "--train-engine" not in proc.stdout  # printed, but fixed


def test_bad_engine_fails_clearly(tmp_path):
    proc = _run("03_training", "--tiny", "--engine", "fast", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2
    assert "engine" in proc.stderr and "'reference'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


def test_tiny_from_environment(tmp_path):
    proc = _run("02_affine_coupling", "--out", str(tmp_path / "env"), env_extra={"MINFLOW_TINY": "1"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "env" / "results.json").read_text())["settings"] == "tiny"


# --- "This run vs the thesis" (lessons 5-9): no printed statement contradicts its numbers -------------
VERSUS = {"05_baseline": ["C1", "C2"], "06_generalisation": ["C3", "C4", "C5"], "07_perturbed": ["C6", "C7"],
          "08_outliers": ["C8", "C9"], "09_ood_detection": ["C10"]}


def _trend(values):
    """Independent of lessons/_thesis.py: strictly up, strictly down, or neither."""
    ups = [b > a for a, b in zip(values, values[1:])]
    downs = [b < a for a, b in zip(values, values[1:])]
    return "rises" if ups and all(ups) else "falls" if downs and all(downs) else "neither rises nor falls throughout"


def _sep(a):
    return abs(2 * a - 1)


def _expected_values(cid, table):
    """The numbers each lesson's first fact on ``cid`` must be about, recomputed here from the table."""
    sel = lambda **m: [r for r in table if all(r[k] == v for k, v in m.items())]  # noqa: E731
    if cid == "C1":
        return [r["mean_logp"] - r["mean_logp_theta"] for r in sorted(sel(family="generalisation", s=1.0, t=0.0),
                                                                      key=lambda r: r["D"])]
    if cid == "C4":
        rs = sorted((r for r in sel(family="generalisation", s=1.0) if r["t"] > 0), key=lambda r: (r["D"], r["t"]))
        return [r["Hs_qp"] - r["Hs_qptheta"] for r in rs]
    if cid == "C6":
        return [_sep(r["auroc_ptheta"]) for r in sorted(sel(family="perturbed", s=1.0, t=0.0), key=lambda r: r["D"])]
    if cid == "C8":
        return [r["Hs_qp"] - r["Hs_qptheta"] for r in sorted(sel(family="outlier", s=1.0, t=0.0), key=lambda r: r["D"])]
    return None


def _check_versus(name, proc, out):
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    summary = json.loads((out / "results.json").read_text())
    table = summary["results"]["table"]
    verdicts = {c["id"]: c["verdict"] for c in summary["results"]["thesis_claims"]}
    entries = summary["results"]["versus_thesis"]
    assert [e["id"] for e in entries] == VERSUS[name]
    assert "This run vs the thesis" in proc.stdout and "REPRODUCTION.md" in proc.stdout
    for e in entries:
        assert e["verdict"] == verdicts[e["id"]]
        assert f"{e['id']} (section {e['section']})." in proc.stdout
        for fact in e["facts"]:
            assert flat(fact["text"]) in flat(proc.stdout), f"{name}: the statement is not printed: {fact['text']}"
            values = fact["values"]
            if fact["kind"] == "trend":
                assert fact["says"] == _trend(values) and f" {fact['says']} with " in fact["text"], fact
            elif fact["kind"] == "count":
                k, n = sum(v > 0 for v in values), len(values)
                assert fact["says"] == [k, n], fact
                if n == 1:
                    assert ("is positive" if k else "is negative") in fact["text"]
                elif k == n:
                    assert f"positive in all {n}" in fact["text"]
                elif k == 0:
                    assert f"negative in all {n}" in fact["text"]
                else:
                    assert f"in {k} of {n}" in fact["text"]
            else:
                above = values[0] > values[1]
                assert fact["says"] == ("above" if above else "below")
                assert (", above " if above else ", not above ") in fact["text"], fact
        expected = _expected_values(e["id"], table)
        if expected is not None and e["facts"]:
            assert e["facts"][0]["values"] == pytest.approx(expected, rel=1e-9, abs=1e-12), e["id"]
    if name == "06_generalisation":  # the gap grid's caption counts its red cells from the table
        d_focus = 20 if 20 in summary["config"]["dims"] else summary["config"]["dims"][-1]
        cells = [r for r in table if r["D"] == d_focus]
        red = sum(r["Hs_qp"] - r["Hs_qptheta"] > 0 for r in cells)
        assert f"In this run {red} of {len(cells)} cells are red" in summary["figures"]["gap_grid.png"]


@pytest.mark.parametrize("name", sorted(VERSUS))
def test_versus_thesis_seed0(tiny_runs, name):
    assert name in tiny_runs, "an earlier lesson failed"
    _check_versus(name, *tiny_runs[name])


@pytest.fixture(scope="module")
def seed1_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("seed1")
    return {name: (_run(name, "--tiny", "--seed", "1", "--out", str(root / name)), root / name) for name in sorted(VERSUS)}


@pytest.mark.parametrize("name", sorted(VERSUS))
def test_versus_thesis_another_seed(seed1_runs, name):
    _check_versus(name, *seed1_runs[name])


# --- every "Try this" command runs -------------------------------------------------------------------
def try_this(name):
    """The command-line options suggested in a lesson's "Try this" cell (each `--...` in backticks)."""
    text = (LESSONS / f"{name}.py").read_text()
    block = text.split("# ## Try this", 1)[1].split("# %%", 1)[0]
    found = []
    for snippet in re.findall(r"`([^`]+)`", block):
        snippet = snippet.strip()
        if snippet.startswith(("python lessons/", ".venv/bin/python lessons/")):
            snippet = snippet.split(".py", 1)[1].strip()
        elif not snippet.startswith("--"):
            continue
        found.append(snippet.split())
    return found


def run_at_named_settings():
    """(lesson, args) of every suggestion that tests/test_try_this.py runs at the settings it names and checks
    for what the line says you should see (a stronger check than a --tiny run: those are left out here)."""
    source = (Path(__file__).parent / "test_try_this.py").read_text()
    calls = re.finditer(r'run\(root, "(\d\d_\w+)"((?:, "[^"]*")*)', source)
    return {(m.group(1), tuple(re.findall(r'"([^"]*)"', m.group(2)))) for m in calls}


NAMED = run_at_named_settings()
TRY = [(name, tuple(args)) for name in sorted(FIGURES) for args in try_this(name) if (name, tuple(args)) not in NAMED]


def test_try_this_commands_found():
    every = [(n, tuple(a)) for n in sorted(FIGURES) for a in try_this(n)]
    assert len(every) >= 20 and all(any("--thesis" in a for n2, a in every if n2 == n) for n in FIGURES)
    assert len(NAMED) >= 20 and ("03_training", ("--n-layers", "1")) in NAMED  # the scan finds test_try_this's runs
    assert set(TRY) | (set(every) & NAMED) == set(every)


@pytest.fixture(scope="module")
def try_root(tmp_path_factory):
    return tmp_path_factory.mktemp("try")


@pytest.mark.parametrize("name,args", TRY, ids=[f"{n[:2]}:{' '.join(a)}" for n, a in TRY])
def test_try_this_runs(try_root, name, args):
    """Exploration never crashes: every suggestion runs to the end and writes its figures and results.
    Lesson 3's run at its real settings (seconds); the others at --tiny settings plus the suggestion;
    --thesis (hours) is only parsed."""
    out = try_root / f"{name}-{abs(hash(args))}"
    if "--thesis" in args:
        proc = _run(name, *args, "--help")
        assert proc.returncode == 0 and "--thesis" in proc.stdout
        return
    scale = [] if name == "03_training" else ["--tiny"]
    proc = _run(name, *args, *scale, "--out", str(out), timeout=300)
    assert proc.returncode == 0, f"{name} {args}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr
    summary = json.loads((out / "results.json").read_text())
    assert summary["exploring"]
    for fig in FIGURES[name]:
        assert (out / f"{fig}.png").is_file()


def test_failed_claims_are_listed_when_exploring(tmp_path):
    """The issue's crash: lesson 3 with one coupling layer now finishes and lists what did not hold."""
    proc = _run("03_training", "--n-layers", "1", "--out", str(tmp_path / "one"))
    assert proc.returncode == 0, proc.stderr
    assert "exploring" in proc.stdout
    summary = json.loads((tmp_path / "one" / "results.json").read_text())
    failed = [c for c in summary["claims"] if not c["holds"]]
    assert all(not c["asserted"] for c in failed)
    for c in failed:
        assert flat(c["claim"]) in flat(proc.stdout.split("claims hold")[1])
