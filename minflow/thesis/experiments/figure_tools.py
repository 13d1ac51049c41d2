"""Drawing helpers shared by the figure functions: saving with a caption, grids of panels,
the four KDE curves of a panel, TNR heat maps."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..plotting import plot_kde_panel  # noqa: E402
from .io import kept_key  # noqa: E402
from .lookup import dims, rows  # noqa: E402

FAMILY_LABEL = {"generalisation": "q", "perturbed": "q_delta", "outlier": "q_out"}


def save_figure(fig, out_dir, name, caption):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name + ".png")
    fig.savefig(path, dpi=80)
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


def figure_grid(nr, nc, w=3.0, h=2.3):
    """A figure with nr x nc panels of w x h inches: (fig, axes), axes always 2-D."""
    fig, axes = plt.subplots(nr, nc, figsize=(w * nc, h * nr), squeeze=False)
    return fig, axes


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


def kde_row(kept, d, family, pairs, title_fmt="s={s:g}, t={t:g}", cols=4):
    pairs = [(s, t) for s, t in pairs if kept_key(d, family, s, t) in kept]
    if not pairs:
        raise ValueError(f"kept: no kept values for D={d}, family {family!r}")
    nr = int(np.ceil(len(pairs) / cols))
    fig, axes = figure_grid(nr, min(cols, len(pairs)), 3.4, 2.6)
    for ax, (s, t) in zip(axes.flat, pairs):
        plot_kde_panel(ax, kde_series(kept, d, family, s, t), title=title_fmt.format(s=s, t=t, D=d))
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


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
            ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7, color="w" if m[i, j] < 0.6 else "k")
    ax.set_xticks(range(len(ts)), [f"{t:g}" for t in ts])
    ax.set_yticks(range(len(ss)), [f"{s:g}" for s in ss])
    ax.set_xlabel("t")
    ax.set_ylabel("s")
    ax.set_title(title, fontsize=8)
    return im
