"""minflow: normalizing flows from scratch in NumPy.

Direction convention: ``forward`` maps data x to latent z, ``inverse`` maps z to x;
``log_prob`` is in nats.

    import numpy as np, minflow
    rng = np.random.default_rng(0)
    flow = minflow.RealNVP(dim=2, n_layers=6, hidden=(64, 64), rng=rng)
    history = minflow.fit(flow, data, rng=rng, epochs=50)
    flow.log_prob(x), flow.sample(1000, rng), flow.forward(x), flow.inverse(z)
    minflow.save(flow, "flow.npz"); flow = minflow.load("flow.npz")
"""
from . import bijectors, gaussians, information, ood
from .bijectors import (ActNorm, AdditiveCoupling, AffineCoupling, LULinear, Permutation, RandomPermutation,
                        Reverse)
from .checkpoint import load, save
from .diagnostics import consistency_report, format_report
from .flow import Flow, RealNVP
from .gaussians import Gaussian, ThesisDistributions
from .information import (Estimate, cross_entropy_estimate, cross_entropy_gaussian, evaluate_log_probs,
                          gap_estimate, gaussian_entropy, information_table, kl_estimate, kl_gaussian)
from .ood import TypicalityTest, auroc, fpr_at_tpr, tpr_bounds, true_negative_rate, true_positive_rate
from .prior import standard_normal_log_prob
from .train import History, fit

__version__ = "0.1.0"

__all__ = ["Flow", "RealNVP", "fit", "History", "save", "load", "consistency_report", "format_report",
           "bijectors", "AffineCoupling", "AdditiveCoupling", "Permutation", "Reverse", "RandomPermutation",
           "ActNorm", "LULinear", "standard_normal_log_prob", "__version__",
           "gaussians", "information", "ood", "Gaussian", "ThesisDistributions", "Estimate", "gaussian_entropy",
           "kl_gaussian", "cross_entropy_gaussian", "cross_entropy_estimate", "kl_estimate", "gap_estimate",
           "evaluate_log_probs", "information_table", "tpr_bounds", "true_positive_rate", "true_negative_rate",
           "auroc", "fpr_at_tpr", "TypicalityTest"]
