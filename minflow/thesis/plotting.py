"""KDEs of log-likelihood samples and the thesis's style of panel (section 3.2.3).

A panel overlays KDEs of log p(x) and log p_theta(x) over a test set Q(q) and over the training
set Q(p): where the model's curves for Q(q) and Q(p) overlap, likelihood bounds cannot tell them
apart. The x-range of a panel comes from quantiles of its pooled values (a few far outliers must
not squeeze the peaks into spikes), and the points it leaves out are counted for the caption
(``range_note``). Nothing here opens a window: draw into an ``ax`` and save the figure (headless, Agg).
"""
import numpy as np
from scipy.stats import gaussian_kde

from ..validation import check_int, check_rng


def panel_style(label):
    """The thesis's style from a curve's label: the model (``p_theta``) solid, the truth dashed;
    the training set ``Q(p)`` blue, a test set ``Q(...)`` red; other labels keep matplotlib's cycle."""
    style = {}
    if "log p" in label:
        style["linestyle"] = "-" if "theta" in label else "--"
    if "Q(p)" in label:
        style["color"] = "tab:blue"
    elif "Q(" in label:
        style["color"] = "tab:red"
    return style


def _subsample(values, max_points, rng):
    if values.size <= max_points:
        return values
    if rng is None:  # no hidden randomness: the points are i.i.d., so an even stride is a fair subsample
        return values[np.linspace(0, values.size - 1, max_points).astype(int)]
    return check_rng(rng).choice(values, size=max_points, replace=False)


def _check_values(values, name):
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size < 2 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: need at least 2 finite values for a KDE, got {arr.size} "
                         f"({int(np.sum(~np.isfinite(arr)))} non-finite)")
    if np.ptp(arr) == 0:
        raise ValueError(f"{name}: all values are equal; a KDE is undefined")
    return arr


QUANTILES = (0.005, 0.995)  # the x-range of a KDE panel: these quantiles of the pooled values ...
MARGIN = 0.05               # ... widened by this fraction of their spread on each side


def kde_range(*arrays, quantiles=QUANTILES, pad=MARGIN):
    """(lo, hi): the ``quantiles`` of all arrays pooled, widened by ``pad`` of their spread.

    Not min-max: log p over a heavy-tailed set (outliers) has a few points thousands of nats out, and
    a min-max axis squeezes every peak into a spike. Count what falls outside with ``clipped_counts``.
    """
    pooled = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])
    lo, hi = (float(v) for v in np.quantile(pooled, quantiles))
    if hi <= lo:  # the central values are all equal: fall back to the full range
        lo, hi = float(np.min(pooled)), float(np.max(pooled))
    width = hi - lo
    return lo - pad * width, hi + pad * width


def kde_grid(*arrays, n_grid=512, quantiles=QUANTILES, pad=MARGIN):
    """A common evaluation grid over ``kde_range(*arrays)``: (n_grid,)."""
    lo, hi = kde_range(*arrays, quantiles=quantiles, pad=pad)
    return np.linspace(lo, hi, check_int(n_grid, "n_grid", minimum=2))


def clipped_counts(series, lo, hi):
    """Points of each series outside [lo, hi]: label -> {"below", "above", "n"}."""
    return {label: {"below": int(np.sum(v < lo)), "above": int(np.sum(v > hi)), "n": int(np.size(v))}
            for label, v in series.items()}


def kde(values, grid=None, max_points=20000, rng=None):
    """Gaussian KDE (Scott's bandwidth) of 1-D ``values`` on ``grid``: -> (grid, density).

    At most ``max_points`` values enter the KDE (evaluation cost is points x grid); subsampling
    uses ``rng`` if given, else an even stride. The density is per unit of ``values`` (1/nat).
    """
    values = _check_values(values, "values")
    sub = _subsample(values, check_int(max_points, "max_points", minimum=2), rng)
    grid = kde_grid(values) if grid is None else np.asarray(grid, dtype=np.float64).reshape(-1)
    return grid, gaussian_kde(sub)(grid)


def panel_series(log_p_q, log_p_theta_q, log_p_p=None, log_p_theta_p=None):
    """The thesis's four curves as an ordered dict label -> values (the Q(p) pair optional)."""
    series = {"log p(x), Q(q)": log_p_q, "log p_theta(x), Q(q)": log_p_theta_q}
    if log_p_p is not None:
        series["log p(x), Q(p)"] = log_p_p
    if log_p_theta_p is not None:
        series["log p_theta(x), Q(p)"] = log_p_theta_p
    return series


def plot_kde_panel(ax, series, title=None, xlabel="log-likelihood (nats)", rng=None, max_points=20000,
                   legend=True):
    """Draw one KDE per entry of ``series`` (label -> values) on a shared grid into ``ax``.

    The grid spans ``kde_range`` of the pooled values (quantiles, not min-max); each KDE is fitted on
    all its values, and the points outside the range are counted, not drawn. Labels like those of
    ``panel_series`` get the thesis style (``panel_style``). Adds axis labels, the title and (if
    ``legend``) a legend. Returns {"title", "xlim": (lo, hi), "clipped": clipped_counts(...)}.
    """
    if not isinstance(series, dict) or not series:
        raise ValueError("series: expected a non-empty dict label -> values")
    arrays = {label: _check_values(v, f"series[{label!r}]") for label, v in series.items()}
    grid = kde_grid(*arrays.values())
    for label, values in arrays.items():
        _, density = kde(values, grid, max_points, rng)
        ax.plot(grid, density, label=label, **panel_style(label))
    ax.set_xlim(grid[0], grid[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density (1/nat)")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize=8)
    return {"title": title or "", "xlim": (float(grid[0]), float(grid[-1])),
            "clipped": clipped_counts(arrays, grid[0], grid[-1])}


def _clip_phrase(label, c, where=""):
    sides = " and ".join(f"{c[k]:,} {k}" for k in ("below", "above") if c[k])
    return f"'{label}'{where}: {sides} (of {c['n']:,})"


def range_note(panels, per_panel_max=8):
    """A caption sentence: how the x-range of the KDE panels was chosen and which points it leaves out.

    ``panels``: the dicts ``plot_kde_panel`` returns. Up to ``per_panel_max`` panels are named one by
    one; more (an appendix grid) are summed per series.
    """
    lo_q, hi_q = (100 * q for q in QUANTILES)
    head = (f"x-range of each panel: the {lo_q:g}-{hi_q:g} % quantiles of its pooled values, widened by "
            f"{100 * MARGIN:g} % on each side; ")
    if len(panels) <= per_panel_max:
        parts = [_clip_phrase(label, c, f" ({p['title']})" if p["title"] else "")
                 for p in panels for label, c in p["clipped"].items() if c["below"] or c["above"]]
    else:
        totals = {}
        for p in panels:
            for label, c in p["clipped"].items():
                t = totals.setdefault(label, {"below": 0, "above": 0, "n": 0})
                for k in t:
                    t[k] += c[k]
        parts = [_clip_phrase(label, c, f" over the {len(panels)} panels") for label, c in totals.items()
                 if c["below"] or c["above"]]
    if not parts:
        return head + "no point falls outside it."
    return head + "points outside it, not drawn: " + "; ".join(parts) + "."
