"""The change-of-variables consistency report (as in the 2-D distribution-mapping demo).

Data -> latent, for data x:
    log p_X(x) from ``flow.log_prob``  vs  log p_Z(f(x)) + log|det J_f(x)|,
    where the log-det is taken from an independent route: the brute-force
    Jacobian (autograd + slogdet) when D is small, else minus the inverse pass's log-det.
Latent -> data, for fresh z ~ p_Z and x = f^{-1}(z):
    log p_X(x) from ``flow.log_prob``  vs  log p_Z(z) - log|det J_{f^{-1}}(z)|,
    log p_Z(z) directly               vs  log p_X(x) + log|det J_{f^{-1}}(z)|,
    since J_f(x) is the matrix inverse of J_{f^{-1}}(z) when x = f^{-1}(z).
Every difference should be at machine precision (~1e-12 in float64, ~1e-5 in float32).
"""
import numpy as np
import autograd.numpy as anp
from autograd import grad

from .backend import to_numpy
from .flow import Flow, forward_pass
from .prior import standard_normal_log_prob
from .validation import check_int, check_rng

STATS = ("mean", "std", "min", "max", "max|.|")


def _stats(v):
    v = np.asarray(to_numpy(v), dtype=np.float64)
    return dict(zip(STATS, (v.mean(), v.std(), v.min(), v.max(), np.abs(v).max())))


def _brute_log_det(flow, x):
    """log|det J_f(x_n)| for every row n from autograd's full Jacobian and slogdet: (N,).

    The rows are mapped independently, so column j of every row's Jacobian (dz_j / dx_n) is the
    gradient of sum_n z_nj with respect to the batch: D backward passes instead of N Jacobians.
    """
    x = np.asarray(x, dtype=np.float64)

    def column_sum(j):
        return lambda v: anp.sum(forward_pass(flow.layers, flow.params, v)[0][:, j])
    J = np.stack([grad(column_sum(j))(x) for j in range(flow.dim)], axis=1)   # (N, D out, D in)
    return np.linalg.slogdet(J)[1]


def consistency_report(flow, x, rng, n_latent=None, brute_force_max_dim=10):
    """Compare the two sides of eq. 2 in both directions. Returns a dict of rows -> stats dicts.

    x: (N, D) data; rng: numpy Generator for the latent draws; n_latent: number of z (default N).
    """
    if not isinstance(flow, Flow):
        raise TypeError(f"flow: expected a minflow Flow, got {type(flow).__name__}")
    rng = check_rng(rng)
    brute_force_max_dim = check_int(brute_force_max_dim, "brute_force_max_dim", minimum=0)
    z, _ = flow.forward(x)
    direct = flow.log_prob(x)
    if flow.dim <= brute_force_max_dim and len(x) <= 2000:
        log_det = _brute_log_det(flow, flow._check(x, "x"))
    else:
        log_det = -flow.inverse(z)[1]
    via = standard_normal_log_prob(z) + log_det
    n_latent = len(direct) if n_latent is None else check_int(n_latent, "n_latent", minimum=1)
    z_new = rng.standard_normal((n_latent, flow.dim)).astype(flow.dtype)
    x_new, log_det_inv = flow.inverse(z_new)
    px_direct = flow.log_prob(x_new)
    px_via = standard_normal_log_prob(z_new) - log_det_inv
    pz_direct = standard_normal_log_prob(z_new)
    pz_via = px_direct + log_det_inv
    return {
        "data -> latent": {"log_px_direct": _stats(direct), "log_pz+log|detJ|": _stats(via),
                           "difference": _stats(direct - via)},
        "latent -> data": {"log_px_direct": _stats(px_direct), "log_pz-log|detJ|": _stats(px_via),
                           "difference": _stats(px_direct - px_via),
                           "log_pz_direct": _stats(pz_direct), "log_pz_via_x": _stats(pz_via),
                           "pz difference": _stats(pz_direct - pz_via)},
    }


def format_consistency_report(report):
    """The report as aligned text, one line per quantity."""
    lines = []
    for section, rows in report.items():
        lines.append(section)
        for name, st in rows.items():
            cells = " ".join(f"{k}={v: .6g}" for k, v in st.items())
            lines.append(f"  {name:<18} {cells}")
    return "\n".join(lines)
