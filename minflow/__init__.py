"""minflow: normalizing flows from scratch in NumPy.

Direction convention: ``forward`` maps data x to latent z, ``inverse`` maps z to x;
``log_prob`` is in nats.

    import numpy as np, minflow
    rng = np.random.default_rng(0)
    flow = minflow.RealNVP(dim=2, n_layers=6, hidden=(64, 64), rng=rng)
    history = minflow.fit(flow, data, rng=rng, epochs=50)
    flow.log_prob(x), flow.sample(1000, rng), flow.forward(x), flow.inverse(z)
    minflow.save(flow, "flow.npz"); flow = minflow.load("flow.npz")

This file is the package face, the one place that wires the rooms together (docs/ARCHITECTURE.md):
the model (this folder), the speed room (``minflow.speed``, imported here so that its engines are
available), the thesis reproduction (``minflow.thesis``) and the classroom (``minflow.classroom``).
The thesis's names below are loaded on first use, so ``import minflow`` does not load them.
"""
import importlib

from . import bijectors, engine, speed, train
from .speed.parallel import available_cores, set_threads, threads
from .bijectors import (ActNorm, AdditiveCoupling, AffineCoupling, LULinear, Permutation, RandomPermutation,
                        Reverse)
from .checkpoint import load, save
from .diagnostics import consistency_report, format_consistency_report
from .flow import Flow, RealNVP
from .spec import RealNVPSpec
from .prior import standard_normal_log_prob
from .train import History, fit

__version__ = "0.2.0"

# Which code computes log_prob and the gradient: the one table of engines, handed to engine.py here and
# nowhere else (the model's own "reference" and the speed room's; the speed room names the default).
engine.install({"reference": train.REFERENCE, **speed.ENGINES}, default=speed.DEFAULT)

# name -> module of the thesis room that defines it (loaded lazily by __getattr__)
_THESIS = {
    "gaussians": "minflow.thesis.gaussians", "information": "minflow.thesis.information",
    "ood": "minflow.thesis.ood", "thesis": "minflow.thesis", "classroom": "minflow.classroom",
    **{name: "minflow.thesis.gaussians" for name in ("Gaussian", "ThesisDistributions")},
    **{name: "minflow.thesis.information" for name in (
        "Estimate", "cross_entropy_estimate", "cross_entropy_gaussian", "evaluate_log_probs", "gap_estimate",
        "gaussian_entropy", "information_table", "kl_estimate", "kl_gaussian")},
    **{name: "minflow.thesis.ood" for name in (
        "TypicalityTest", "auroc", "fpr_at_tpr", "tpr_bounds", "true_negative_rate", "true_positive_rate")},
}


def __getattr__(name):
    if name == "format_report":
        raise AttributeError("minflow.format_report was renamed minflow.format_consistency_report")
    if name not in _THESIS:
        raise AttributeError(f"module 'minflow' has no attribute {name!r}")
    module = importlib.import_module(_THESIS[name])
    return module if module.__name__.endswith("." + name) else getattr(module, name)


__all__ = ["Flow", "RealNVP", "RealNVPSpec", "fit", "History", "save", "load", "consistency_report", "format_consistency_report",
           "set_threads", "threads", "available_cores",
           "bijectors", "engine", "AffineCoupling", "AdditiveCoupling", "Permutation", "Reverse",
           "RandomPermutation", "ActNorm", "LULinear", "standard_normal_log_prob", "__version__", *_THESIS]
