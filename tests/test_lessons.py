"""Smoke test of `make lessons`: every lesson runs headless with --tiny settings, exits 0 and writes
the figures (each with a caption) and the results.json it promises; bad options fail clearly."""
import json
import os
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
    "02_affine_coupling": ["jacobian", "determinant_cost"],
    "03_training": ["learning_curve", "samples_vs_data", "density_contours"],
    "04_information": ["entropy", "cross_entropy_grid", "model_inequality"],
    "05_baseline": ["learning_curves", "fig01_baseline_kde", "baseline_gap"],
    "06_generalisation": ["fig02_cross_entropy", "fig03_kde_s", "fig04_kde_t", "fig05_kde_combined", "fig06_kl",
                          "gap_grid"],
    "07_perturbed": ["fig07_perturbed_kde", "perturbed_separability", "fig08_perturbed_cross_entropy",
                     "fig09_perturbed_kl", "fig10_perturbed_variants"],
    "08_outliers": ["fig11_outlier_kde", "fig12_outlier_variants", "outlier_means"],
    "09_ood_detection": ["fig13_tnr", "ood_scores", "auroc_scores"],
    "10_mapping_2d": ["mapping_shifted_mvn", "mapping_two_moons", "mapping_ring8"],
    "11_extensions": ["variants_fit", "variants_terms"],
    "12_inside_the_model": ["layer_scales_shifts", "layer_perturbation_separation"],
}
EXTRA_FILES = {"10_mapping_2d": ["consistency.json", "consistency.txt"]}
# The engine each lesson that builds or trains a flow prints in its settings (field -> value): lessons
# 4-9 and 12 train through minflow.thesis.experiments.train_model, i.e. with the default engine.
ENGINES = {name: {"train_engine": minflow.engine.DEFAULT} for name in (
    "04_information", "05_baseline", "06_generalisation", "07_perturbed", "08_outliers", "09_ood_detection",
    "12_inside_the_model")}
ENGINES["12_inside_the_model"]["engine"] = "reference"
ENGINES.update({"03_training": {"engine": "reference"}, "10_mapping_2d": {"engine": "primitives"},
                "11_extensions": {"engine": "primitives"}})
# The core model's fields, inherited by lessons 4-9 and 12 from lessons/_thesis.py: options like any other.
SHARED_FIELDS = ("seed", "n_layers", "hidden", "epochs", "epoch_size", "lr", "batch_size", "n_test")


def _run(name, *args, env_extra=None, timeout=120):
    env = {**os.environ, "MPLBACKEND": "Agg", **(env_extra or {})}
    return subprocess.run([sys.executable, str(LESSONS / f"{name}.py"), *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)


def test_every_lesson_file_is_listed():
    found = sorted(p.stem for p in LESSONS.glob("[0-9][0-9]_*.py"))
    assert found == sorted(FIGURES), f"lessons on disk {found} differ from the smoke test's list"


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Run all lessons once, in order, with tiny settings (they share one model cache)."""
    root = tmp_path_factory.mktemp("lessons")
    runs = {}
    for name in sorted(FIGURES):
        runs[name] = (_run(name, "--tiny", "--out", str(root / name)), root / name)
        if runs[name][0].returncode != 0:  # later lessons would only repeat the failure
            break
    return runs


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
    if "train_engine" in ENGINES.get(name, {}):
        for field in SHARED_FIELDS:  # inherited fields are printed and recorded too
            assert f"    {field:<16} = " in header and field in summary["config"]
    if name == "10_mapping_2d":  # the consistency table holds to machine precision even untrained
        report = json.loads((out / "consistency.json").read_text())
        for rows in report.values():
            for section in rows.values():
                for key, stats in section.items():
                    if "difference" in key:
                        assert stats["max|.|"] < 1e-10


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
