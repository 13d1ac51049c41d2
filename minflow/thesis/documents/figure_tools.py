"""Drawing helpers shared by the figure functions: saving with a caption, grids of panels,
the four KDE curves of a panel, a legend outside the data, TNR heat maps.

Readable by construction: saved at ``FIGURE_DPI``, panels of at least 3 x 2.6 inches, legends and
tick labels at ``FONT`` points or more, one legend per figure below the panels (never over a curve).
"""
import os

import matplotlib.pyplot as plt
import numpy as np  # noqa: E402

from ..plotting import plot_kde_panel, range_note  # noqa: E402
from ..pipeline.run_files import kept_key  # noqa: E402
from ..pipeline.lookup import dims, rows  # noqa: E402

FAMILY_LABEL = {"generalisation": "q", "perturbed": "q_delta", "outlier": "q_out"}
FIGURE_DPI = 150  # tests/test_thesis_figures.py checks it in the PNG
FONT = 8          # legend and tick labels, points


def save_figure(fig, out_dir, name, caption):
    """Write ``fig`` as <name>.png at FIGURE_DPI and ``caption`` as <name>.txt; close it -> PNG path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name + ".png")
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    with open(os.path.join(out_dir, name + ".txt"), "w") as fh:
        fh.write(caption.strip() + "\n")
    return path


def pick_dim(table, want):
    """The thesis's D if the table has it, else the nearest one (and a note for the caption)."""
    ds = dims(table)
    d = min(ds, key=lambda x: (abs(x - want), x))
    return d, "" if d == want else f" (the thesis uses D={want}; this run has no D={want}, so D={d} is shown)"


def n_caption(table):
    return f"N = {table[0]['n_test']:,} test points per set"


def figure_grid(nr, nc, w=3.4, h=3.0, legend=True):
    """A figure with nr x nc panels of w x h inches (constrained layout; at least 4.8 in wide, for
    the legend), plus 0.6 in for a legend below them if ``legend``: (fig, axes), axes always 2-D."""
    size = (max(w * nc, 4.8), h * nr + (0.6 if legend else 0.0))
    fig, axes = plt.subplots(nr, nc, figsize=size, squeeze=False, layout="constrained")
    return fig, axes


def figure_legend(fig, ax):
    """One legend for the whole figure, below the panels (out of the data), from ``ax``'s curves."""
    handles, labels = ax.get_legend_handles_labels()
    per_row = max(1, int(fig.get_figwidth() // 2.7))  # an entry of ~25 characters needs ~2.7 in
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), per_row), fontsize=FONT + 1,
               frameon=False)


def kde_series(kept, d, family, s, t, with_reference=True):
    test = kept.get(kept_key(d, family, s, t))
    if test is None:
        return None
    lab = FAMILY_LABEL[family]
    series = {f"log p over Q({lab})": test["logp"], f"log p_theta over Q({lab})": test["logp_theta"]}
    if with_reference:
        ref = kept[kept_key(d, "reference")]
        series.update({"log p over Q(p)": ref["logp"], "log p_theta over Q(p)": ref["logp_theta"]})
    return series


def kde_panels(fig, axes, series_list, titles):
    """A KDE panel per series dict (no legend of its own), one legend below, unused axes hidden ->
    (fig, the caption sentence on the x-ranges: ``range_note``)."""
    panels = [plot_kde_panel(ax, series, title=title, legend=False)
              for ax, series, title in zip(axes.flat, series_list, titles)]
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    figure_legend(fig, axes.flat[0])
    return fig, range_note(panels)


def kde_row(kept, d, family, pairs, title_fmt="s={s:g}, t={t:g}", cols=4):
    """KDE panels for the family's (s, t) pairs at D=d, ``cols`` a row -> (fig, range note)."""
    pairs = [(s, t) for s, t in pairs if kept_key(d, family, s, t) in kept]
    if not pairs:
        raise ValueError(f"kept: no kept values for D={d}, family {family!r}")
    fig, axes = figure_grid(int(np.ceil(len(pairs) / cols)), min(cols, len(pairs)))
    return kde_panels(fig, axes, [kde_series(kept, d, family, s, t) for s, t in pairs],
                      [title_fmt.format(s=s, t=t, D=d) for s, t in pairs])


def available(table, family, d):
    return sorted({(r["s"], r["t"]) for r in rows(table, D=d, family=family)})


def heatmap(ax, table, d, family, key, title):
    ss, ts = sorted({r["s"] for r in table}), sorted({r["t"] for r in table})
    m = np.full((len(ss), len(ts)), np.nan)
    for r in rows(table, D=d, family=family):
        m[ss.index(r["s"]), ts.index(r["t"])] = r[key]
    im = ax.imshow(m, vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
    for i in range(len(ss)):
        for j in range(len(ts)):
            ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=FONT,
                    color="w" if m[i, j] < 0.6 else "k")
    ax.set_xticks(range(len(ts)), [f"{t:g}" for t in ts])
    ax.set_yticks(range(len(ss)), [f"{s:g}" for s in ss])
    ax.set_xlabel("t (mean shift)")
    ax.set_ylabel("s (scale)")
    ax.set_title(title, fontsize=9)
    return im
