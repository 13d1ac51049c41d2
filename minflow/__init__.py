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
from . import bijectors
from .bijectors import (ActNorm, AdditiveCoupling, AffineCoupling, LULinear, Permutation, RandomPermutation,
                        Reverse)
from .checkpoint import load, save
from .diagnostics import consistency_report, format_report
from .flow import Flow, RealNVP
from .prior import standard_normal_log_prob
from .train import History, fit

__version__ = "0.1.0"

__all__ = ["Flow", "RealNVP", "fit", "History", "save", "load", "consistency_report", "format_report",
           "bijectors", "AffineCoupling", "AdditiveCoupling", "Permutation", "Reverse", "RandomPermutation",
           "ActNorm", "LULinear", "standard_normal_log_prob", "__version__"]
