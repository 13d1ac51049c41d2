"""One function per thesis figure: ``fig_N(table, kept, out_dir) -> path`` of a PNG.

Each PNG gets a caption file beside it (same name, ``.txt``) that names the thesis figure
it reproduces. ``table`` is the tidy table (list of row dicts), ``kept`` the subsampled
log-densities ({kept_key: {"logp", "logp_theta"}}). Where the grid lacks the thesis's D
(a reduced preset), the nearest available D is drawn and the caption says so. A KDE figure's
caption also says how its x-range was chosen and which points fall outside it (``range_note``).
"""
import os

import numpy as np

from .figure_tools import (FONT, available, figure_grid, figure_legend, heatmap, kde_panels, kde_row, kde_series,
                           n_caption, pick_dim, save_figure)
from ..pipeline.run_files import kept_key
from ..pipeline.lookup import dims, rows
from ..pipeline.workers import useful_workers

# (s, t) of the variant panels of figures 10 and 12: s and t changed separately, then together
VARIANTS = ((1.0, 0.0), (0.5, 0.0), (1.75, 0.0), (1.0, 0.25), (1.0, 0.5), (0.75, 0.25), (0.5, 0.5), (1.25, 0.75))


# --- figures 1-13 --------------------------------------------------------------
def fig_1(table, kept, out_dir):
    """Baseline (section 4): KDEs of log p and log p_theta over Q(p), one panel per D."""
    ds = dims(table)
    refs = [kept[kept_key(d, "reference")] for d in ds]
    series = [{"log p over Q(p)": r["logp"], "log p_theta over Q(p)": r["logp_theta"]} for r in refs]
    fig, note = kde_panels(*figure_grid(1, len(ds)), series, [f"D={d}" for d in ds])
    return save_figure(fig, out_dir, "fig01_baseline_kde", f"""Reproduces thesis Figure 1 (section 4): KDE of the true log p(x)
and the model's log p_theta(x) over the training distribution Q(p), one panel per D. {n_caption(table)}. {note}""")


def _curves(table, family, d, t, keys):
    rs = sorted(rows(table, D=d, family=family, t=t), key=lambda r: r["s"])
    return [r["s"] for r in rs], {label: [fn(r) for r in rs] for label, fn in keys.items()}


def _curve_grid(table, family, keys, name, caption, ylabel):
    ds, ts = dims(table), sorted({r["t"] for r in table})
    fig, axes = figure_grid(len(ds), len(ts), 3.2, 3.0)
    for i, d in enumerate(ds):
        for j, t in enumerate(ts):
            ax = axes[i, j]
            s, ys = _curves(table, family, d, t, keys)
            for (label, y), style in zip(ys.items(), ("k-", "o", "s--", "^:", "x-.")):
                ax.plot(s, y, style, label=label, markersize=5, fillstyle="none")
            ax.set_title(f"D={d}, t={t:g}", fontsize=FONT + 1)
            ax.tick_params(labelsize=FONT)
            ax.set_xlabel("s (scale)", fontsize=FONT)
            ax.set_ylabel(ylabel, fontsize=FONT)
    figure_legend(fig, axes[0, 0])
    return save_figure(fig, os.path.dirname(name), os.path.basename(name), caption)


def fig_2(table, kept, out_dir):
    """Cross-entropy vs s, a column per t, a row per D (sections 3.2.1, 5.2)."""
    keys = {"H(q,p) analytic": lambda r: r["H_qp"], "H*(q,p)": lambda r: r["Hs_qp"],
            "H*(q,p_theta)": lambda r: r["Hs_qptheta"], "H(q)": lambda r: r["H_q"]}
    return _curve_grid(table, "generalisation", keys, os.path.join(out_dir, "fig02_cross_entropy"),
                       f"""Reproduces thesis Figure 2 (sections 3.2.1 and 5.2): cross-entropy as a function of s for the
generalisation family q(s,t) = N(mu_p + t, s^2 Sigma_p); a column per t, a row per D. Analytic H(q,p), its sample
estimate H*(q,p), the model's H*(q,p_theta) and the entropy H(q), in nats. {n_caption(table)}.""", "cross-entropy (nats)")


def _kde_fig(table, kept, out_dir, family, want_d, pairs, name, caption):
    d, note = pick_dim(table, want_d)
    avail = set(available(table, family, d))
    pairs = [p for p in pairs if p in avail] or sorted(avail)[:4]
    fig, x_note = kde_row(kept, d, family, pairs, title_fmt="D={D}, s={s:g}, t={t:g}")
    return save_figure(fig, out_dir, name, caption + note + f". {n_caption(table)}. {x_note}")


def fig_3(table, kept, out_dir):
    s_vals = sorted({r["s"] for r in table})
    return _kde_fig(table, kept, out_dir, "generalisation", 20, [(s, 0.0) for s in s_vals], "fig03_kde_s",
                    "Reproduces thesis Figure 3 (section 5.2.1): KDEs of log p and log p_theta over Q(q) (t=0, s varied) "
                    "and over Q(p)")


def fig_4(table, kept, out_dir):
    t_vals = sorted({r["t"] for r in table})
    return _kde_fig(table, kept, out_dir, "generalisation", 20, [(1.0, t) for t in t_vals], "fig04_kde_t",
                    "Reproduces thesis Figure 4 (section 5.2.2): KDEs of log p and log p_theta over Q(q) (s=1, t varied) "
                    "and over Q(p)")


def fig_5(table, kept, out_dir):
    return _kde_fig(table, kept, out_dir, "generalisation", 20, [(0.75, 0.25), (0.5, 0.25), (0.75, 0.5), (1.25, 0.25)],
                    "fig05_kde_combined", "Reproduces thesis Figure 5 (section 5.2.3): KDEs for combined changes of s and t; "
                    "the first panel, s=0.75, t=0.25, is the thesis's case")


def fig_6(table, kept, out_dir):
    keys = {"KL(q||p) analytic": lambda r: r["KL_qp"], "D*(q||p)": lambda r: r["KLs_qp"],
            "D*(q||p_theta)": lambda r: r["Ds_qptheta"]}
    return _curve_grid(table, "generalisation", keys, os.path.join(out_dir, "fig06_kl"),
                       f"""Reproduces thesis Figure 6 (sections 3.2.2 and 5.2): KL-divergence vs s for q(s,t), a column per t,
a row per D: analytic KL(q||p) (Proposition 1), its estimate D*(q||p) = H*(q,p) - H(q), and the model's
D*(q||p_theta) = H*(q,p_theta) - H(q). {n_caption(table)}.""", "KL divergence (nats)")


def _kde_row_per_dim(table, kept, out_dir, family, name, caption):
    """One KDE panel per D for the family's s=1, t=0 set against Q(p)."""
    ds = dims(table)
    fig, note = kde_panels(*figure_grid(1, len(ds)), [kde_series(kept, d, family, 1.0, 0.0) for d in ds],
                           [f"D={d}, s=1, t=0" for d in ds])
    return save_figure(fig, out_dir, name, f"{caption} {note}")


def fig_7(table, kept, out_dir):
    return _kde_row_per_dim(table, kept, out_dir, "perturbed", "fig07_perturbed_kde", f"""Reproduces thesis Figure 7 (section 6.2.1): KDEs of log p and
log p_theta over the perturbed set Q(q_delta) (s=1, t=0) and over the training set Q(p), one panel per D. {n_caption(table)}.""")


def fig_8(table, kept, out_dir):
    keys = {"H(q_delta,p) analytic": lambda r: r["H_qp"], "H*(q_delta,p)": lambda r: r["Hs_qp"],
            "H*(q_delta,p_theta)": lambda r: r["Hs_qptheta"],
            "H*(q,p_theta) unperturbed": lambda r: _plain(table, r, "Hs_qptheta")}
    return _curve_grid(table, "perturbed", keys, os.path.join(out_dir, "fig08_perturbed_cross_entropy"),
                       f"""Reproduces thesis Figure 8 (section 6.2.2): cross-entropy vs s for the perturbed family
q_delta(s,t) = N(mu_p + t + beta u, s^2 Sigma_p + alpha I), with the model's estimate on the unperturbed q(s,t) for
comparison; a column per t, a row per D. {n_caption(table)}.""", "cross-entropy (nats)")


def _plain(table, r, key):
    q = rows(table, D=r["D"], family="generalisation", s=r["s"], t=r["t"])
    return q[0][key] if q else np.nan


def fig_9(table, kept, out_dir):
    keys = {"KL(q_delta||p) analytic": lambda r: r["KL_qp"], "D*(q_delta||p_theta)": lambda r: r["Ds_qptheta"],
            "KL(q||p) unperturbed": lambda r: _plain(table, r, "KL_qp"),
            "D*(q||p_theta) unperturbed": lambda r: _plain(table, r, "Ds_qptheta")}
    return _curve_grid(table, "perturbed", keys, os.path.join(out_dir, "fig09_perturbed_kl"),
                       f"""Reproduces thesis Figure 9 (section 6.2.2): KL-divergence vs s for the perturbed family and its
unperturbed counterpart: analytic KL and the model's D* = H*(., p_theta) - H(.); a column per t, a row per D.
{n_caption(table)}.""", "KL divergence (nats)")


def fig_10(table, kept, out_dir):
    return _kde_fig(table, kept, out_dir, "perturbed", 50, VARIANTS, "fig10_perturbed_variants",
                    "Reproduces thesis Figure 10 (section 7 / 8.2.2): KDEs of log p and log p_theta over Q(q_delta) with s and t "
                    "changed separately or together, and over Q(p)")


def fig_11(table, kept, out_dir):
    return _kde_row_per_dim(table, kept, out_dir, "outlier", "fig11_outlier_kde", f"""Reproduces thesis Figure 11 (section 7.1): KDEs of log p and
log p_theta over the outlier set Q(q_out) (s=1, t=0) and over the training set Q(p), one panel per D. {n_caption(table)}.""")


def fig_12(table, kept, out_dir):
    return _kde_fig(table, kept, out_dir, "outlier", 50, VARIANTS, "fig12_outlier_variants",
                    "Reproduces thesis Figure 12 (section 7.1.1): KDEs of log p and log p_theta over Q(q_out) with s and t "
                    "changed separately or together, and over Q(p)")


def fig_13(table, kept, out_dir):
    d, note = pick_dim(table, 50)
    fig, axes = figure_grid(1, 4, 3.6, 3.4, legend=False)
    panels = [("outlier", "tnr_ptheta", "(a) log p_theta on Q(q_out)"), ("perturbed", "tnr_ptheta", "(b) log p_theta on Q(q_delta)"),
              ("perturbed", "tnr_p", "(c) log p on Q(q_delta)"), ("outlier", "tnr_p", "(d) log p on Q(q_out)\n(thesis: text only)")]
    for ax, (fam, key, title) in zip(axes.flat, panels):
        im = heatmap(ax, table, d, fam, key, f"TNR, D={d}: {title}")
    fig.colorbar(im, ax=axes[0, :].tolist(), label="TNR (fraction of the test set)", shrink=0.9)
    return save_figure(fig, out_dir, "fig13_tnr", f"""Reproduces thesis Figure 13 (section 8): true negative rate at TPR = 0.975
(two-sided bounds L < U fixed on Q(p)) for D={d}{note}: (a) model on outliers, (b) model on perturbed sets, (c) true density
on perturbed sets; panel (d), the true density on outliers, is reported only in the thesis's text (mean 0.98). {n_caption(table)}.""")


# --- appendices A-C: a KDE grid per D and family ----------------------------
APPENDIX = {"A": ("generalisation", 14, "q(s,t)"), "B": ("perturbed", 18, "q_delta(s,t)"), "C": ("outlier", 22, "q_out(s,t)")}


def appendix(letter, table, kept, out_dir, only=None):
    """Appendix A/B/C: one figure per D, a panel per (s, t) -> list of paths."""
    family, first, lab = APPENDIX[letter]
    thesis_dims = (10, 20, 50, 100)
    paths = []
    for d in only or dims(table):
        ss, ts = sorted({r["s"] for r in table}), sorted({r["t"] for r in table})
        grid = [(s, t) for s in ss for t in ts]
        series = [kde_series(kept, d, family, s, t) for s, t in grid]
        fig, note = kde_panels(*figure_grid(len(ss), len(ts), 3.2, 2.8), series, [f"s={s:g}, t={t:g}" for s, t in grid])
        num = f"Figure {first + thesis_dims.index(d)}" if d in thesis_dims else "Figures " + f"{first}-{first + 3}"
        paths.append(save_figure(fig, out_dir, f"appendix{letter}_D{d}", f"""Reproduces thesis appendix {letter}, {num}: D={d}, KDEs of
log p and log p_theta over Q({lab}) for every (s,t) of the grid, with the training set Q(p) in every panel. {n_caption(table)}. {note}"""))
    return paths


def learning_curves(histories, entropies, out_dir):
    """Training NLL per epoch for every D, with the floor H(p) (eq. 16-17) -> path."""
    ds = sorted(histories)
    fig, axes = figure_grid(1, len(ds), 3.2, 3.0)
    for ax, d in zip(axes.flat, ds):
        h = histories[d]["history"]
        ax.plot(h["train_nll"], label="train NLL")
        ax.plot(h["val_nll"], label="validation NLL")
        ax.axhline(entropies[d], color="k", ls=":", label="H(p), the floor")
        ax.set_title(f"D={d}", fontsize=FONT + 1)
        ax.set(xlabel="epoch", ylabel="mean NLL (nats)")
    figure_legend(fig, axes[0, 0])
    return save_figure(fig, out_dir, "learning_curves", """Learning curves of the core model (not a thesis figure; the thesis does
not show them): mean NLL per epoch on fresh samples of p and on a fixed validation set, against the entropy H(p).""")


FIGURES = [fig_1, fig_2, fig_3, fig_4, fig_5, fig_6, fig_7, fig_8, fig_9, fig_10, fig_11, fig_12, fig_13]


def _draw(tasks, table, kept, out_dir):
    paths = []
    for task in tasks:
        if task[0] == "fig":
            paths.append(FIGURES[task[1]](table, kept, out_dir))
        else:
            paths += appendix(task[1], table, kept, out_dir, only=[task[2]])
    return paths


def make_figures(table, kept, out_dir, appendices=True, workers=1):
    """Every figure -> list of PNG paths (figures 1-13, then appendices A-C), drawn by ``workers`` processes."""
    tasks = [("fig", i) for i in range(len(FIGURES))]
    if appendices:
        tasks += [("app", letter, d) for letter in APPENDIX for d in dims(table)]
    workers = min(useful_workers(workers), len(tasks))  # an int >= 1 (named), at most the cores and the figures
    if workers == 1:
        return _draw(tasks, table, kept, out_dir)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_draw, [tasks[k::workers] for k in range(workers)], *([x] * workers for x in (table, kept, out_dir))))
    return [p for part in parts for p in part]
