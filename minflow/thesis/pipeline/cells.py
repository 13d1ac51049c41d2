"""The science of one run: train the core model on p, then evaluate one test set ("cell").

A cell is one test distribution q in {q(s, t), q_delta(s, t), q_out(s, t)} at one D.
For it we draw Q_N(q) and score every point with the true log p and the model's
log p_theta, then reduce the two arrays to the quantities of sections 3.2 and 8.1.
The in-distribution set Q(p) (``evaluate_reference``) fixes the OOD bounds L < U.
"""
import hashlib
import json
import time
import zlib
from collections import namedtuple

import numpy as np

from .. import information as info
from .. import ood
from ...flow import RealNVP
from ..gaussians import ThesisDistributions
from ...train import fit
from .timing import StageClock, TimedSampler

Reference = namedtuple("Reference", "logp logp_theta")
PreparedReference = namedtuple("PreparedReference", "logp logp_theta tpr sorted_p sorted_theta bounds_p bounds_theta")
PreparedReference.__doc__ = """Q(p)'s scores and what every cell of its D needs of them, computed once
(``prepare_reference``): both sorted ascending (for ``ood.auroc_sorted``) and the bounds (L, U) at ``tpr``."""

# The columns of the tidy table, in order (one row per test set).
COLUMNS = ("D", "family", "s", "t", "n_test",
           "H_q", "H_qp", "KL_qp",                         # analytic (Proposition 1, eq. 10)
           "Hs_qp", "Hs_qp_se", "KLs_qp",                  # sampled with the true p (checks eq. 14)
           "Hs_qptheta", "Hs_qptheta_se",                  # H*(q, p_theta), eq. 14
           "Ds_qptheta", "Ds_qptheta_se",                  # D*(q || p_theta), section 3.2.2
           "gap", "gap_se",                                # Delta_HC, section 5.2.1
           "mean_logp", "var_logp", "mean_logp_theta", "var_logp_theta",
           "tnr_p", "tnr_ptheta", "auroc_p", "auroc_ptheta",   # section 8.1, TPR fixed on Q(p)
           "ref_mean_logp", "ref_mean_logp_theta", "ref_var_logp", "ref_var_logp_theta",
           "train_kl", "seconds")
# table.csv's columns: the same without the cell's seconds (in cell_seconds.csv), so that two runs of
# the same settings write the same table.csv byte for byte
TABLE_COLUMNS = COLUMNS[:-1]
CELL_KEY = ("D", "family", "s", "t")


def rng_for(seed, *key):
    """An independent Generator for one named task, e.g. ``rng_for(0, "cell", 20, "outlier", 1.0, 0.5)``.

    Seeded by (seed, crc32 of the key), so a cell's draws do not depend on which other
    cells ran before it, in which process, or whether the run was resumed."""
    text = "/".join(str(k) for k in key)
    return np.random.default_rng([int(seed), zlib.crc32(text.encode())])


def distributions(dim, config):
    """The thesis's Gaussians for this D, from the run's seed."""
    return ThesisDistributions(dim, seed=config.seed)


def distribution_fingerprint(config):
    """{D: {"settings", "sha256"}}: the test distributions' parameters (at s=1, t=0) hashed, so that a
    resume notices when the Gaussians changed (new defaults or code), not only when the config did."""
    out = {}
    for d in sorted(config.dims):
        dists = distributions(d, config)
        h = hashlib.sha256()
        for family in ("generalisation", "perturbed", "outlier"):
            g = dists.family(family, 1.0, 0.0)
            h.update(np.round(g.mean, 8).tobytes() + np.round(g.cov, 8).tobytes())
        out[str(d)] = {"settings": json.loads(json.dumps(dists.settings(), default=float)), "sha256": h.hexdigest()[:16]}
    return out


def build_model(dim, config, rng):
    """The core RealNVP of section 2.1 (affine couplings, halves alternating), or an extension of it
    where ``config.model`` asks for one (ActNorm, LU, permutations, additive couplings)."""
    return RealNVP(dim, spec=config.model, rng=rng, dtype=config.dtype)


def train_model(dim, config, rng):
    """Train the core model on fresh samples of p every epoch -> (flow, history).

    Minimises -(1/N) sum log p_theta(x), x ~ p (eq. 15); the learning curve is in
    ``history.train_nll`` / ``history.val_nll`` (nats), the entropy H(p) is its floor."""
    dists = distributions(dim, config)
    flow = build_model(dim, config, rng)
    tr = config.training
    if tr.fixed_train is not None:  # one fixed sample, selected on itself: free to over-fit
        data = dists.p.sample(tr.fixed_train, rng)
        history = fit(flow, data, rng=rng, epochs=tr.epochs, batch_size=tr.batch_size, lr=tr.lr,
                      schedule=tr.schedule, validation=data)
    else:
        history = fit(flow, dists.p, rng=rng, epochs=tr.epochs, batch_size=tr.batch_size, lr=tr.lr,
                      schedule=tr.schedule, epoch_size=tr.epoch_size, validation=tr.validation)
    return flow, history


def _score(dist, n, rng, flow, dists, config, clock):
    """Draw n points of ``dist`` and score them by the true log p and the model's log p_theta.

    -> (logp, logp_theta), two (n,) float64 arrays; the sampling and both scorers are timed on ``clock``.
    The flow scores in ``config.score_dtype``: with eval_dtype "float32", a float32 copy of the trained flow
    reads the points rounded to float32 and returns each log-density in float32 (a sum of D/2 log-scales
    per coupling, exact to ~1e-5 nats at D = 100), while the draws, the true log p and every sum over the
    n points (``evaluate_log_probs`` fills a float64 array) stay float64."""
    chunk = config.chunk_size
    model = flow if np.dtype(flow.dtype) == np.dtype(config.score_dtype) else flow.astype(config.score_dtype)
    scorers = {"logp": clock.timed("logp", dists.p.log_prob),
               # the engine's own chunk (a few thousand rows, tuned in the speed room; 16,384 rows measured slower)
               "logp_theta": clock.timed("logp_theta", model.log_prob)}
    lp = info.evaluate_log_probs(TimedSampler(dist, clock), n, rng, scorers, chunk_size=chunk,
                                 dtype=np.dtype(config.dtype).type)
    return np.asarray(lp["logp"], float), np.asarray(lp["logp_theta"], float)


def evaluate_reference(flow, dists, config, rng, clock=None):
    """Q(p): n_ref points of the training distribution, scored by log p and log p_theta -> Reference."""
    return Reference(*_score(dists.p, config.n_ref, rng, flow, dists, config, clock or StageClock()))


def prepare_reference(reference, tpr):
    """A Reference with its sorted scores and bounds (``PreparedReference``); one already prepared at
    this ``tpr`` is returned as it is. The runner prepares Q(p) once per D, not once per cell."""
    if isinstance(reference, PreparedReference) and reference.tpr == tpr:
        return reference
    logp, logpt = np.asarray(reference.logp, float), np.asarray(reference.logp_theta, float)
    return PreparedReference(logp, logpt, tpr, np.sort(logp), np.sort(logpt),
                             ood.tpr_bounds(logp, tpr=tpr), ood.tpr_bounds(logpt, tpr=tpr))


def keep_values(arrays, k, rng):
    """The same random subsample of at most k points of every array (name -> (N,)), for the KDE figures."""
    n = len(next(iter(arrays.values())))
    idx = np.arange(n) if n <= k else np.sort(rng.choice(n, size=k, replace=False))
    return {name: np.asarray(a)[idx].copy() for name, a in arrays.items()}


def evaluate_cell(flow, dists, family, s, t, config, rng, reference=None, clock=None):
    """One test set: (row, kept).

    row: the table line (see ``COLUMNS``): analytic H(q), H(q, p), KL(q||p); the sampled
      H*(q, p), H*(q, p_theta) = -(1/N) sum log p_theta(x_i) (eq. 14), D*(q||p_theta) =
      H*(q, p_theta) - H(q) (section 3.2.2), Delta_HC = |H*(q,p) - H*(q,p_theta)| (5.2.1),
      with standard errors; TNR at TPR = config.tpr with bounds from Q(p) (8.1), AUROC.
    kept: {"logp": (k,), "logp_theta": (k,)} subsampled values for the KDE panels.
    reference: the scores of Q(p) (``evaluate_reference``, or ``prepare_reference`` of it, which
      saves sorting it again); drawn here when None.
    clock: a ``timing.StageClock`` that the stages of this cell are added to (None: not kept).
    """
    start = time.perf_counter()
    clock = clock or StageClock()
    if reference is None:
        reference = evaluate_reference(flow, dists, config, rng, clock)
    with clock("auroc_tnr"):
        ref = prepare_reference(reference, config.tpr)
    q = dists.family(family, s, t)
    logp, logpt = _score(q, config.n_test, rng, flow, dists, config, clock)
    if not (np.all(np.isfinite(logp)) and np.all(np.isfinite(logpt))):
        raise FloatingPointError(f"non-finite log-density in cell D={dists.p.dim} {family} s={s} t={t}")
    with clock("estimates"):
        row = {"D": int(dists.p.dim), "family": family, "s": float(s), "t": float(t), "n_test": int(config.n_test)}
        row.update(_estimates(q, dists.p, logp, logpt, ref))
    with clock("auroc_tnr"):
        row.update(_ood_columns(logp, logpt, ref))
    row = {k: row[k] for k in COLUMNS[:-1]}
    row["seconds"] = time.perf_counter() - start
    with clock("kde_keep"):
        keep_rng = rng_for(config.seed, "keep", dists.p.dim, family, s, t)
        kept = keep_values({"logp": logp, "logp_theta": logpt}, config.kde_keep, keep_rng)
    return row, kept


def measured_train_kl(logp_theta, p):
    """The model's fit, the column train_kl: H*(p, p_theta) - H(p) = -mean log p_theta(x) - H(p), x ~ p (nats)."""
    return -np.mean(logp_theta) - p.entropy()


def _estimates(q, p, logp, logpt, ref):
    """The information columns of a row (sections 3.2, 5.2.1) and Q(p)'s baseline (section 4)."""
    h_q = float(q.entropy())
    hs_p, hs_t = info.cross_entropy_estimate(logp), info.cross_entropy_estimate(logpt)
    d_t, gap = info.kl_estimate(logpt, h_q), info.gap_estimate(logp, logpt)
    return {
        "H_q": h_q, "H_qp": float(info.cross_entropy_gaussian(q, p)), "KL_qp": float(info.kl_gaussian(q, p)),
        "Hs_qp": float(hs_p.value), "Hs_qp_se": float(hs_p.stderr), "KLs_qp": float(hs_p.value) - h_q,
        "Hs_qptheta": float(hs_t.value), "Hs_qptheta_se": float(hs_t.stderr),
        "Ds_qptheta": float(d_t.value), "Ds_qptheta_se": float(d_t.stderr),
        "gap": float(gap.value), "gap_se": float(gap.stderr),
        "mean_logp": float(logp.mean()), "var_logp": float(logp.var(ddof=1)),
        "mean_logp_theta": float(logpt.mean()), "var_logp_theta": float(logpt.var(ddof=1)),
        "ref_mean_logp": float(ref.logp.mean()), "ref_mean_logp_theta": float(ref.logp_theta.mean()),
        "ref_var_logp": float(ref.logp.var(ddof=1)), "ref_var_logp_theta": float(ref.logp_theta.var(ddof=1)),
        "train_kl": float(measured_train_kl(ref.logp_theta, p)),
    }


def _ood_columns(logp, logpt, ref):
    """TNR at the bounds of Q(p) and AUROC against Q(p), for log p and log p_theta (section 8.1)."""
    return {"tnr_p": float(ood.true_negative_rate(logp, ref.bounds_p)),
            "tnr_ptheta": float(ood.true_negative_rate(logpt, ref.bounds_theta)),
            "auroc_p": ood.auroc_sorted(ref.sorted_p, logp), "auroc_ptheta": ood.auroc_sorted(ref.sorted_theta, logpt)}
