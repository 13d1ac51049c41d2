"""KDEs of log-likelihood samples and the thesis's style of panel (section 3.2.3).

A panel overlays KDEs of log p(x) and log p_theta(x) over a test set Q(q) and over the training
set Q(p): where the model's curves for Q(q) and Q(p) overlap, likelihood bounds cannot tell them
apart. Nothing here opens a window: draw into an ``ax`` and save the figure (headless, Agg).
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


def kde_grid(*arrays, n_grid=512, pad=0.1):
    """A common evaluation grid spanning every array, padded by ``pad`` of the range: (n_grid,)."""
    lo = min(float(np.min(a)) for a in arrays)
    hi = max(float(np.max(a)) for a in arrays)
    width = hi - lo
    return np.linspace(lo - pad * width, hi + pad * width, check_int(n_grid, "n_grid", minimum=2))


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


def plot_kde_panel(ax, series, title=None, xlabel="log-likelihood (nats)", rng=None, max_points=20000):
    """Draw one KDE per entry of ``series`` (label -> values) on a shared grid into ``ax``.

    Labels like those of ``panel_series`` get the thesis style (``panel_style``). Adds axis
    labels, a legend and the title; returns ``ax``.
    """
    if not isinstance(series, dict) or not series:
        raise ValueError("series: expected a non-empty dict label -> values")
    arrays = {label: _check_values(v, f"series[{label!r}]") for label, v in series.items()}
    grid = kde_grid(*arrays.values())
    for label, values in arrays.items():
        _, density = kde(values, grid, max_points, rng)
        ax.plot(grid, density, label=label, **panel_style(label))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density (1/nat)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax
