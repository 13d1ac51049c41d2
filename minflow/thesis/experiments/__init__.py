"""Reproducing the thesis's experiments (sections 4-8, appendices A-C).

    from minflow.thesis.experiments import preset, run, read_table, load_kept, check_claims
    from minflow.thesis.experiments.figures import make_figures, fig_1   # (imports matplotlib)
    path = run(preset("quick"), "reproduction/quick/seed0", workers=2)   # train + evaluate, resumable
    table = read_table(path)                                        # list of row dicts, COLUMNS
    make_figures(table, load_kept("reproduction/quick/seed0/kept.npz"), "reproduction/quick/seed0/figures")
    results = check_claims(table)                                   # C1-C10 of thesis-experiments.md

The same from the shell: ``python -m minflow reproduce --preset quick --workers 2``
(then ``python -m minflow claims DIR``, ``python -m minflow capacity``).
"""
from .cells import COLUMNS, evaluate_cell, evaluate_reference, rng_for, train_model
from .claims import ClaimResult, check_claims
from .config import PRESETS, ExperimentConfig, ModelConfig, TrainingConfig, preset
from .io import load_kept, read_table
from .runner import run

__all__ = ["ExperimentConfig", "ModelConfig", "TrainingConfig", "PRESETS", "preset", "train_model",
           "evaluate_cell", "evaluate_reference", "rng_for", "run", "read_table", "load_kept", "COLUMNS",
           "check_claims", "ClaimResult"]
