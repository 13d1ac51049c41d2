"""Readable figures: every figure a lesson draws is saved at >= 150 dpi, big enough to read, with a label
on every axis; the thesis room's figures (adopted by lessons 5-9) are checked for dpi and size here,
and for labels, legends and KDE ranges in tests/test_thesis_figures.py.

Reads the --tiny runs of tests/test_lessons.py (run once per session)."""
import json

import pytest

from test_lessons import FIGURES, run_all_tiny

MIN_DPI = 150


def _checks(name):
    runs = run_all_tiny()
    assert name in runs and runs[name][0].returncode == 0, f"{name} did not run"
    out = runs[name][1]
    return json.loads((out / "results.json").read_text())["figure_checks"]


def _png_dpi(path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lessons"))
    from _lesson import png_size  # noqa: E402

    return png_size(path)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_lesson_figures_are_readable(name):
    checks = _checks(name)
    assert set(checks) == {f"{f}.png" for f in FIGURES[name]}
    out = run_all_tiny()[name][1]
    for fig, c in checks.items():
        if c["drawn_by"] != "lesson":
            continue
        size = _png_dpi(out / fig)  # read back from the file, not from what the lesson says it wrote
        assert size["dpi"] >= MIN_DPI, f"{name}/{fig}: {size['dpi']} dpi"
        assert size["width_px"] >= 600 and size["height_px"] >= 400, f"{name}/{fig}: {size}"
        assert c["unlabelled_axes"] == [], f"{name}/{fig}: axes without a label: {c['unlabelled_axes']}"


THESIS_FIGURES = [(n, f) for n in sorted(FIGURES) for f in FIGURES[n] if f.startswith("fig") or f == "learning_curves"]


@pytest.mark.parametrize("name,fig", THESIS_FIGURES)
def test_thesis_room_figures_are_readable(name, fig):
    # drawn by minflow/thesis/documents/figures.py; tests/test_thesis_figures.py checks their labels,
    # legends and KDE ranges on a tiny reproduction
    out = run_all_tiny()[name][1]
    size = _png_dpi(out / f"{fig}.png")
    assert size["dpi"] >= MIN_DPI, f"{name}/{fig}: {size}"
    assert size["width_px"] >= 600 and size["height_px"] >= 400, f"{name}/{fig}: {size}"
