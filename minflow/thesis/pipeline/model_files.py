"""The trained models of a run (models/D{D}.npz and .json), checked before a resume reuses them.

    check_model(out_dir, dim, config)   # else run_files.ResultFileError naming the file and what differs

A model is trusted only if its record is whole (dimension, parameter count, a finite learning
curve), its .npz loads (``minflow.load``: every array checked) and agrees with the record, and it
was trained with ``config``'s settings: the architecture and dtype of the model the run would build
(``cells.build_model`` from the same seed), and the seed and training settings of its record's
``settings`` (runs since issue 24) or, in an older record, those its history kept.
"""
import os
import tempfile

import numpy as np

from ...checkpoint import load, save
from . import cells as C, run_files
from .config import ExperimentConfig


HISTORY_KEYS = ("train_nll", "val_nll", "lr", "best_epoch", "best_val_nll")


def check_model(out_dir, dim, config=None):
    """models/D{dim}.json (the training record) and .npz (the flow) agree, are whole, and (with ``config``)
    were trained with its settings (``check_model_settings``); else ResultFileError naming the file."""
    path = run_files.model_path(out_dir, dim)
    record = run_files.read_json(path + ".json", dict)
    hist = record.get("history")
    curve = hist.get("train_nll") if isinstance(hist, dict) else None
    whole = (record.get("dim") == dim and isinstance(record.get("n_params"), int) and isinstance(record.get("seconds"), float)
             and all(k in hist for k in HISTORY_KEYS) and isinstance(curve, list) and curve
             and all(isinstance(v, (int, float)) and np.isfinite(v) for v in curve))
    if not whole:
        raise run_files.ResultFileError(f"{path}.json: not a whole training record of D={dim}")
    try:
        flow = load(path + ".npz")
    except ValueError as err:
        raise run_files.ResultFileError(str(err)) from None  # names the file
    if flow.dim != dim or flow.n_params != record["n_params"]:
        raise run_files.ResultFileError(f"{path}.npz: a flow of dimension {flow.dim} with {flow.n_params} parameters, "
                                 f"but its record {path}.json says D={dim} with {record['n_params']}")
    if config is not None:
        check_model_settings(path, record, flow, config)


def flow_bytes(flow):
    """The bytes of ``flow``'s checkpoint (``minflow.save``), written in a temporary folder of this process's
    own: how a trained model travels from a worker to the process that owns the run folder."""
    with tempfile.TemporaryDirectory(prefix="minflow-model-") as tmp:
        path = save(flow, os.path.join(tmp, "model.npz"))
        with open(path, "rb") as fh:
            return fh.read()


def flow_from_bytes(blob):
    """The flow of checkpoint bytes (``flow_bytes``, or a models/D{D}.npz read whole), every array checked
    by ``minflow.load``: how a worker gets the model without the run folder."""
    with tempfile.TemporaryDirectory(prefix="minflow-model-") as tmp:
        path = os.path.join(tmp, "model.npz")
        with open(path, "wb") as fh:
            fh.write(blob)
        return load(path)


def model_settings(config):
    """What a trained model depends on: the seed (its data and first weights), dtype, model and training."""
    cfg = config.to_dict()
    return {k: cfg[k] for k in ("seed", "dtype", "model", "training")}


def check_model_settings(path, record, flow, config):
    """The model at ``path`` (.json record, loaded ``flow``) was trained with ``config``'s settings;
    else ``ResultFileError`` naming the file and the first differences.

    The architecture (layers, widths, dtype, a random permutation's order) is compared with the model
    the run would build; the training settings with the record's ``settings`` (written since issue 24)
    or, in an older record, with those its history kept (epochs, batch, lr, schedule, sizes, dtype)."""
    built = C.build_model(flow.dim, config, C.rng_for(config.seed, "train", flow.dim))
    arch = lambda f: {k: f.config()[k] for k in ("dim", "dtype", "layers")}  # noqa: E731
    if arch(flow) != arch(built):
        raise run_files.ResultFileError(f"{path}.npz: a model of another architecture than this run's settings "
                                 f"(model: {config.to_dict()['model']}, dtype {config.dtype})")
    diff = _settings_diff(record, config)
    if diff:
        raise run_files.ResultFileError(f"{path}.json: a model trained with other settings than this run's "
                                 f"({'; '.join(diff[:4])})")


def _settings_diff(record, config):
    if "settings" in record:
        try:
            old = ExperimentConfig.from_dict({**config.to_dict(), **record["settings"]})
        except (TypeError, ValueError, KeyError, AttributeError):
            return ["its settings record is not readable"]
        return run_files.dict_diff(model_settings(old), model_settings(config))
    tr, kept = config.training, record["history"].get("settings")
    n_train = tr.epoch_size if tr.fixed_train is None else tr.fixed_train
    want = {"epochs": tr.epochs, "batch_size": tr.batch_size, "lr": tr.lr, "schedule": tr.schedule,
            "n_train": n_train, "n_val": tr.validation if tr.fixed_train is None else tr.fixed_train,
            "dtype": config.dtype}
    if not isinstance(kept, dict):
        return ["its history keeps no settings"]
    return [f"training.{k}: {kept.get(k, '<missing>')!r} before, {v!r} now" for k, v in want.items() if kept.get(k) != v]
