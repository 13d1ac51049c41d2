"""The thesis room's first floor: what runs and stores the cells of a reproduction (sections 4-8).

    config       ExperimentConfig, the presets (what changes a number lives here)
    cells        train the model of one D; evaluate one test set Q_N(q) (the columns of table.csv)
    runner       run(config, out_dir): every cell, resumable, on local or Dask workers
    store        the run folder's cells, checked against the run's settings
    run_files    the run folder's files (table.csv, kept.npz, JSON), written atomically
    lookup       rows of a table by (D, family, s, t)
    workers, timing, ownership, model_files, verify: the parts the runner needs

It imports the model room and the thesis's science (gaussians, information, ood), never the verdicts
or the documents above it. ``__all__`` is its public face: what the lessons may use (docs/ARCHITECTURE.md).

    from minflow.thesis.pipeline import preset, run, read_table
    path = run(preset("quick"), "reproduction/quick/seed0", workers=2)
"""
from .cells import COLUMNS, evaluate_cell, evaluate_reference, keep_values, rng_for, train_model
from .config import PRESETS, ExperimentConfig, ModelConfig, TrainingConfig, preset
from .run_files import kept_key, load_kept, read_json, read_table
from .runner import run

__all__ = ["ExperimentConfig", "ModelConfig", "TrainingConfig", "PRESETS", "preset", "train_model",
           "evaluate_cell", "evaluate_reference", "keep_values", "rng_for", "run", "read_table", "read_json",
           "load_kept", "kept_key", "COLUMNS"]
