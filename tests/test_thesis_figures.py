"""Readable thesis figures (issue 16): the KDE x-range comes from quantiles, not min-max, and says in
the caption what it leaves out; every PNG of a tiny reproduction is saved at >= 150 dpi, big enough
to read, with a label on every axis (in nats where it is a log-density or an entropy) and its legend
outside the data."""
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minflow.thesis.documents import figures

from minflow.thesis.pipeline import run_files, preset, run  # noqa: E402
from minflow.thesis.documents.report import finish_run  # noqa: E402
from minflow.thesis.plotting import QUANTILES, clipped_counts, kde_range, plot_kde_panel, range_note  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lessons"))
from _lesson import png_size  # noqa: E402

MIN_DPI, MIN_FONT = 150, 8
NATS_WORDS = ("log-likelihood", "entropy", "NLL", "KL")  # an axis of these is in nats


def _spike_with_outliers():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.uniform(-12, -8, 1995), np.full(5, -20000.0)])


def test_kde_range_ignores_far_outliers_and_counts_them():
    values = _spike_with_outliers()
    lo, hi = kde_range(values)
    assert -20 < lo < -10 < hi < 0, (lo, hi)         # min-max would start at about -22000
    central = np.quantile(values, QUANTILES)
    assert hi - lo == pytest.approx(1.1 * (central[1] - central[0]))
    assert clipped_counts({"a": values}, lo, hi) == {"a": {"below": 5, "above": 0, "n": 2000}}


def test_kde_range_falls_back_to_min_max_when_the_centre_is_flat():
    values = np.r_[np.zeros(1000), 1.0]
    assert kde_range(values) == pytest.approx((-0.05, 1.05))


def test_panel_reports_its_range_and_the_caption_names_the_clipped_tail():
    fig, ax = plt.subplots()
    panel = plot_kde_panel(ax, {"log p_theta over Q(q_out)": _spike_with_outliers(),
                                "log p over Q(p)": np.random.default_rng(1).uniform(-10, -6, 2000)}, title="D=10")
    assert ax.get_xlim() == pytest.approx(panel["xlim"]) and panel["xlim"][0] > -30
    assert panel["clipped"]["log p_theta over Q(q_out)"]["below"] == 5
    note = range_note([panel])
    assert "0.5-99.5 % quantiles" in note and "'log p_theta over Q(q_out)' (D=10): 5 below (of 2,000)" in note
    assert "no point falls outside" in range_note([{**panel, "clipped": {}}])
    assert "over the 9 panels: 45 below (of 18,000)" in range_note([panel] * 9)
    plt.close(fig)


# --- every figure of a tiny reproduction ---------------------------------------------------------
def _axes_record(fig):
    """What the test checks of a figure before it is saved: size, labels, legends, x-limits."""
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]
    legends = list(fig.legends) + [ax.get_legend() for ax in axes if ax.get_legend()]
    return {"inches": tuple(fig.get_size_inches()), "rows": axes[0].get_subplotspec().get_gridspec().nrows,
            "axes_legends": sum(ax.get_legend() is not None for ax in axes),
            "labels": [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) for ax in axes],
            "xlims": {ax.get_title(): ax.get_xlim() for ax in axes},
            "legend_fonts": [t.get_fontsize() for leg in legends for t in leg.get_texts()]}


@pytest.fixture(scope="module")
def tiny_figures(tmp_path_factory):
    """The tiny preset run and its figures (finish_run), with a record of each figure as it is saved."""
    out = tmp_path_factory.mktemp("tiny_figures")
    run(preset("tiny"), out, workers=1, progress=False)
    records, save = {}, figures.save_figure

    def recording_save(fig, out_dir, name, caption):
        records[name] = _axes_record(fig)
        return save(fig, out_dir, name, caption)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(figures, "save_figure", recording_save)
        finish_run(out, figures=True)
    return out, records


def test_every_figure_is_big_enough_at_150_dpi(tiny_figures):
    out, records = tiny_figures
    pngs = sorted(p for p in os.listdir(out / "figures") if p.endswith(".png"))
    assert {p[:-4] for p in pngs} == set(records) and len(pngs) == 13 + 1 + 3 * 2
    for png in pngs:
        size, (w, h) = png_size(out / "figures" / png), records[png[:-4]]["inches"]
        assert size["dpi"] >= MIN_DPI, f"{png}: {size}"
        assert size["width_px"] >= round(w * MIN_DPI) - 1 and size["height_px"] >= round(h * MIN_DPI) - 1, (png, size)
        assert size["width_px"] >= 900 and size["height_px"] >= 500, f"{png}: {size}"
        rows = records[png[:-4]]["rows"]
        assert h / rows >= 2.8, f"{png}: {h:.1f} in for {rows} rows of panels"


def test_every_axis_is_labelled_in_nats_where_it_is_a_log_density(tiny_figures):
    _, records = tiny_figures
    for name, rec in records.items():
        for title, xlabel, ylabel in rec["labels"]:
            assert xlabel.strip() and ylabel.strip(), f"{name}, panel {title!r}: x {xlabel!r}, y {ylabel!r}"
            for label in (xlabel, ylabel):
                if any(w in label for w in NATS_WORDS):
                    assert "(nats)" in label, f"{name}, panel {title!r}: {label!r} has no unit"
    assert records["learning_curves"]["labels"][0][2] == "mean NLL (nats)"


def test_legends_are_outside_the_data_and_readable(tiny_figures):
    _, records = tiny_figures
    for name, rec in records.items():
        assert rec["axes_legends"] == 0, f"{name}: a legend inside a panel"
        assert all(size >= MIN_FONT for size in rec["legend_fonts"]), f"{name}: {rec['legend_fonts']}"
        assert rec["legend_fonts"] or name == "fig13_tnr", f"{name}: no legend"


def test_kde_x_range_is_the_central_values_not_the_outliers(tiny_figures):
    out, records = tiny_figures
    kept, config = run_files.load_kept(os.path.join(out, "kept.npz")), preset("tiny")
    for d in config.dims:
        test, ref = kept[run_files.kept_key(d, "outlier", 1.0, 0.0)], kept[run_files.kept_key(d, "reference")]
        pooled = np.concatenate([test["logp"], test["logp_theta"], ref["logp"], ref["logp_theta"]])
        lo, hi = records["fig11_outlier_kde"]["xlims"][f"D={d}, s=1, t=0"]
        assert (lo, hi) == pytest.approx(kde_range(pooled))
        a, b = np.quantile(pooled, QUANTILES)
        central = pooled[(pooled >= a) & (pooled <= b)]
        assert hi - lo < 20 * central.std(), f"D={d}: x-range {lo:.0f}..{hi:.0f}"
    for name in records:
        if "kde" in name or "variants" in name or name.startswith("appendix"):
            caption = (out / "figures" / f"{name}.txt").read_text()
            assert "quantiles of its pooled values" in caption, name
