"""benchmarks/report.py: which thesis-scale seed's wall time is judged against the 20-minute target."""
import importlib.util
import json
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location("bench_report", os.path.join(HERE, "..", "benchmarks", "report.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seed(root, k, wall, trained, cells):
    """A run.json whose last invocation trained ``trained`` of 100 model-seconds and ran ``cells`` of 1000 cell-seconds."""
    os.makedirs(root / f"seed{k}")
    timing = {"last_invocation_wall_s": wall, "finish_wall_s": 0.0, "workers_last_invocation": 2,
              "threads_per_worker": 1, "finished_utc": f"t{k}", "train_s": {"10": 60.0, "20": 40.0},
              "cells_s_total": 1000.0, "stage_seconds": {"train": trained, "logp_theta": 0.8 * cells,
                                                         "sample": 0.2 * cells, "figures": 5.0}}
    (root / f"seed{k}" / "run.json").write_text(json.dumps({"timing": timing}))


def test_a_resumed_seed_is_listed_but_not_judged(report, tmp_path):
    _seed(tmp_path, 0, 3000.0, 100.0, 1000.0)   # in one go
    _seed(tmp_path, 1, 900.0, 0.0, 400.0)       # resumed: its last part only, the fastest wall
    _seed(tmp_path, 2, 2400.0, 100.0, 1000.0)   # in one go, faster than seed 0
    t = report.thesis_timing(str(tmp_path))
    assert t["seed"] == "2" and t["wall_s"] == 2400.0
    assert [(s["seed"], s["whole"]) for s in t["seeds"]] == [("0", True), ("1", False), ("2", True)]


def test_no_committed_seed_gives_none(report, tmp_path):
    assert report.thesis_timing(str(tmp_path / "absent")) is None


def test_the_floor_uses_the_nearest_measured_dimension_at_or_below(report):
    cases = [{"lib": "minflow", "task": task, "dim": d, "width": 64, "dtype": "float64", "batch": 256, "rate": rate}
             for task, d, rate in [("fit", 10, 100.0), ("fit", 50, 50.0), ("log_prob", 10, 1e5), ("log_prob", 50, 5e4)]]
    run = report.Run({"info": {}, "cases": cases})
    settings = {"dims": [10, 20, 50], "n_test": 1000, "families": ["a", "b"], "S": [1.0], "T": [0.0, 1.0],
                "training": {"epochs": 2, "epoch_size": 512}}
    import thesis_time

    floor = thesis_time.thesis_floor(run, settings)
    # 2 epochs x 2 steps per D; D = 20 at D = 10's rates; 4,000 points per D
    assert floor["steps"] == 12 and floor["points"] == 12000
    assert floor["train_s"] == 4 / 100 + 4 / 100 + 4 / 50
    assert floor["logp_s"] == 4000 / 1e5 + 4000 / 1e5 + 4000 / 5e4
    assert thesis_time.thesis_floor(run, {**settings, "dims": [5]}) is None   # nothing measured at or below D = 5


def test_the_arithmetic_floor_counts_the_seeds_products_by_hand(report):
    """seed_flops on a grid small enough to count by hand; the floor divides by the measured matmul peaks."""
    import thesis_time

    settings = {"dims": [4], "n_test": 10, "n_reference": None, "families": ["a"], "S": [1.0], "T": [0.0, 1.0],
                "model": {"n_layers": 2, "hidden": [3, 3]}, "dtype": "float64", "eval_dtype": "float32",
                "training": {"epochs": 1, "epoch_size": 8, "validation": 5}}
    per_point = 2 * 2 * (2 * 3 + 3 * 3 + 3 * 4)       # 2 couplings of 2 -> 3 -> 3 -> (s, t) of 2 each
    fl = thesis_time.seed_flops(settings)
    assert fl["model_eval"] == (2 * 10 + 10) * per_point             # 2 test sets and Q(p)
    assert fl["train"] == (3 * 8 + 5) * per_point                     # forward + backward, validation
    assert fl["gaussian"] == 30 * 3 * 16 + 8 * 2 * 16                 # test draws and true log p, training draws
    cases = [{"lib": "minflow", "task": "matmul", "dim": 2048, "width": 0, "dtype": dt, "rate": rate}
             for dt, rate in (("float64", 100.0), ("float32", 400.0))]
    floor = thesis_time.arithmetic_floor(settings, report.Run({"info": {}, "cases": cases}))
    assert floor["seconds"] == (fl["train"] + fl["gaussian"]) / 100.0 + fl["model_eval"] / 400.0
    assert thesis_time.arithmetic_floor(settings, report.Run({"info": {}, "cases": []})) is None


def test_the_target_is_judged_on_the_preset_make_reproduce_uses(report):
    """The Makefile's make reproduce runs thesis_time.REPRODUCE_PRESET, the preset RESULTS.md judges."""
    import thesis_time

    with open(os.path.join(HERE, "..", "Makefile")) as f:
        make = f.read()
    assert f"--preset $(or $(PRESET),{thesis_time.REPRODUCE_PRESET})" in make
    t = report.thesis_timing()
    import glob

    if glob.glob(os.path.join(HERE, "..", "reproduction", thesis_time.REPRODUCE_PRESET, "seed*", "run.json")):
        assert t["preset"] == thesis_time.REPRODUCE_PRESET and t["float64"]["preset"] == thesis_time.FLOAT64_PRESET


def test_the_readme_speed_paragraph_is_the_one_the_committed_results_give(report):
    """README.md quotes only figures that `make bench` wrote: regenerate with `python benchmarks/report.py`."""
    import sys

    sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))
    import summary

    with open(os.path.join(HERE, "..", "benchmarks", "results.json")) as f:
        runs = [r for r in json.load(f)["runs"] if r.get("complete") and r["mode"] == "full"]
    with open(os.path.join(HERE, "..", "README.md")) as f:
        readme = f.read()
    block = readme.split(summary.BEGIN, 1)[1].split(summary.END, 1)[0].strip()
    assert block == summary.paragraph(runs[-1])


def test_fit_as_users_call_it_is_its_own_table_and_target(report):
    """The cases of issue 27 (validation=0.0, the README's call) never stand in for the table's cases."""
    cases = [{"lib": lib, "task": "fit", "dim": 50, "width": w, "dtype": "float64", "batch": b, "rate": rate, **extra}
             for lib, scale in (("minflow", 1.0), ("torch", 1.25))
             for w, b, rate, extra in [(256, 1024, 10.0 * scale, {}), (256, 1024, 9.0 * scale, {"validation": "0.0"}),
                                       (64, 256, 30.0 * scale, {"validation": "default"})]]
    run = report.Run({"info": {}, "cases": cases})
    assert run.shapes("fit") == [(50, 256, 1024)] and run.rate("minflow", "fit", 50, 256, "float64", 1024) == 10.0
    assert run.as_called() == [(50, 256, 1024, "0.0"), (50, 64, 256, "default")]
    table = report.as_called_lines(run)
    assert sum(line.startswith("| 50 |") for line in table) == 2 and all("0.80 |" in line for line in table[4:6])
    target = [row for row in report._speed_targets(run) if "validation=0.0" in row]
    assert len(target) == 1 and "0.80x" in target[0] and "missed" in target[0]


def test_the_timed_quick_start_is_the_readmes():
    """make bench times benchmarks/quickstart.py as the README's quick start: it must be that block, verbatim."""
    spec = importlib.util.spec_from_file_location("bench_main", os.path.join(HERE, "..", "benchmarks", "bench.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.quickstart_in_sync(), "copy README.md's quick start into benchmarks/quickstart.py"
