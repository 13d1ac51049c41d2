"""The settings of one reproduction run, and the named presets.

Everything that changes a number in the results lives in ``ExperimentConfig``; the
run writes ``config.to_dict()`` next to its results and refuses to resume a run that
was started with other settings (see ``runner.run``).

    cfg = preset("quick")                                   # the committed run
    cfg = preset("quick", dims=(10, 20), n_test=5000)      # overrides, checked
    cfg = preset("tiny", model={"n_layers": 2}, training={"epochs": 3})
"""
import dataclasses
import json
import numbers
from dataclasses import dataclass, field

from ...spec import RealNVPSpec
from ...validation import check_int
from ..gaussians import FAMILIES, S_DEFAULT, T_DEFAULT


# The model of a run is the model room's own specification (minflow/spec.py): every field, every default
# and every check are RealNVP's. Depth, width, activation and the scale bound are unspecified in the
# thesis (our choice: the spec's defaults); the other fields are the thesis's future work (ablations.py).
ModelConfig = RealNVPSpec


@dataclass(frozen=True)
class TrainingConfig:
    """Maximum likelihood with Adam on fresh samples of p every epoch (eq. 15).

    ``epoch_size`` fresh points per epoch; ``validation`` points drawn once.
    ``fixed_train``: instead, one fixed training set of this many points, reused every epoch
    and also used for model selection (no early stopping): the over-fitting regime of the
    capacity study."""

    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    epoch_size: int = 16384
    validation: int = 4096
    schedule: str = "cosine"
    fixed_train: int = None


@dataclass(frozen=True)
class ExperimentConfig:
    """One reproduction: the grid (dims x families x S x T), the model, its training and the test size.

    n_test: points per test set Q_N(q) (thesis: 1,000,000, section 4).
    n_reference: points of the in-distribution set Q(p) that fixes the OOD bounds and
        the baseline of section 4 (None: the same as n_test).
    kde_keep: how many log-density values per test set are kept for the KDE figures.
    seed: seeds the distributions (``ThesisDistributions(D, seed)``) and every random draw.
    dtype: the model's dtype in training (and in scoring, unless ``eval_dtype`` says otherwise).
    eval_dtype: the dtype the trained flow scores the test sets in (None: ``dtype``). "float32" with
        dtype "float64" trains exactly the float64 model and runs only log p_theta in float32: each
        point's log-density in float32, every sum over the 10^6 points in float64 (``cells._score``);
        the true log p stays float64 on the float64 points.
    """

    dims: tuple = (10, 20, 50, 100)
    S: tuple = S_DEFAULT
    T: tuple = (*T_DEFAULT, 1.0)   # eq. 19's T plus t = 1, the hard cases of section 6.2.2
    families: tuple = FAMILIES
    n_test: int = 1_000_000
    n_reference: int = None
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    seed: int = 0
    dtype: str = "float64"
    eval_dtype: str = None
    kde_keep: int = 2000
    tpr: float = 0.975
    chunk_size: int = 65536

    def __post_init__(self):
        for name in ("dims", "S", "T", "families"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise TypeError(f"{name}: expected a sequence, got {type(value).__name__} {value!r}")
            value = tuple(value)
            if not value:
                raise ValueError(f"{name}: the grid is empty; give at least one value")
            if len(set(value)) != len(value):
                raise ValueError(f"{name}: repeated values in {value}")
            object.__setattr__(self, name, value)
        for d in self.dims:
            check_int(d, "dims", 2)
        for name in ("S", "T"):
            for v in getattr(self, name):
                if isinstance(v, bool) or not isinstance(v, numbers.Real):
                    raise TypeError(f"{name}: expected numbers, got {v!r}")
        if any(s <= 0 for s in self.S):
            raise ValueError(f"S: scales must be > 0, got {self.S}")
        for f in self.families:
            if f not in FAMILIES:
                raise ValueError(f"families: unknown family {f!r}; expected some of {FAMILIES}")
        check_int(self.n_test, "n_test", 2)
        if self.n_reference is not None:
            check_int(self.n_reference, "n_reference", 2)
        check_int(self.seed, "seed", 0)
        check_int(self.kde_keep, "kde_keep", 2)
        check_int(self.chunk_size, "chunk_size", 1)
        for name in ("dtype", "eval_dtype"):
            value = getattr(self, name)
            if value not in ("float32", "float64") and not (name == "eval_dtype" and value is None):
                raise ValueError(f"{name}: expected 'float32' or 'float64', got {value!r}")
        if not 0 < self.tpr < 1:
            raise ValueError(f"tpr: expected a rate in (0, 1), got {self.tpr}")
        object.__setattr__(self, "model", _spec(self.model))
        if isinstance(self.training, dict):
            object.__setattr__(self, "training", TrainingConfig(**self.training))
        check_int(self.training.epochs, "training.epochs", 1)
        check_int(self.training.epoch_size, "training.epoch_size", self.training.batch_size)
        if self.training.fixed_train is not None:
            check_int(self.training.fixed_train, "training.fixed_train", self.training.batch_size)

    @property
    def n_ref(self):
        """Size of Q(p), the in-distribution reference set."""
        return self.n_reference if self.n_reference is not None else self.n_test

    @property
    def score_dtype(self):
        """The dtype the flow scores test points in: ``eval_dtype``, else ``dtype``."""
        return self.eval_dtype or self.dtype

    @property
    def n_cells(self):
        return len(self.dims) * len(self.families) * len(self.S) * len(self.T)

    def cells(self):
        """Every (D, family, s, t) of the grid, largest D first (they take longest)."""
        return [(d, f, s, t) for d in sorted(self.dims, reverse=True) for f in self.families
                for s in self.S for t in self.T]

    def to_dict(self):
        """JSON-ready; ``from_dict(to_dict())`` rebuilds an equal config."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        d["model"] = _spec(d.get("model", {}))
        d["training"] = TrainingConfig(**d.get("training", {}))
        return cls(**d)


def _spec(model):
    """A RealNVPSpec from a spec or a dict of its fields; its errors named as settings of the run (model.X)."""
    try:
        return RealNVPSpec.from_dict(model, "model") if isinstance(model, dict) else RealNVPSpec(**model.to_dict())
    except AttributeError:
        raise TypeError(f"model: expected a RealNVPSpec or a dict of its fields, got {type(model).__name__}") from None
    except (TypeError, ValueError) as e:
        message = str(e)
        raise type(e)(message if message.startswith("model") else f"model.{message}") from None


PRESETS = {
    # The thesis's scale: N = 1,000,000 test points per set (section 4), longer training.
    "thesis": ExperimentConfig(n_test=1_000_000, kde_keep=5000,
                               training=TrainingConfig(epochs=200, epoch_size=32768, validation=16384)),
    # The thesis preset with log p_theta in float32 (the thesis's flows were float32 PyTorch models):
    # the same float64 training and the same draws, each point's model log-density in float32, the sums in
    # float64. `make reproduce` uses it: REPRODUCTION.md's "Float32 evaluation" table shows it deciding as
    # the float64 preset does, cell by cell, on the same trained models.
    "thesis32": ExperimentConfig(n_test=1_000_000, kde_keep=5000, eval_dtype="float32",
                                 training=TrainingConfig(epochs=200, epoch_size=32768, validation=16384)),
    # The committed run: the full grid (4 D x 3 families x 30 (s, t) = 360 test sets) with
    # short training and N = 20,000, so that `make reproduce-quick` takes minutes on 2 cores.
    "quick": ExperimentConfig(n_test=20_000, kde_keep=2000,
                              training=TrainingConfig(epochs=25, epoch_size=16384, validation=4096)),
    # The thesis's future work, second item: higher dimensions, with the quick preset's model, training and
    # test-set size (N = 20,000, reduced from the thesis's 1,000,000); D = 10-100 are the quick seeds.
    "high": ExperimentConfig(dims=(200, 500), n_test=20_000, kde_keep=2000,
                             training=TrainingConfig(epochs=25, epoch_size=16384, validation=4096)),
    # For tests and smoke runs: seconds.
    "tiny": ExperimentConfig(dims=(4, 6), S=(0.5, 1.0), T=(0.0, 0.5), n_test=2000, kde_keep=200,
                             model=ModelConfig(n_layers=4, hidden=(16, 16)),
                             training=TrainingConfig(epochs=4, batch_size=128, epoch_size=2048, validation=512)),
}


def preset(name, **overrides):
    """A named preset with some fields replaced: ``preset("quick", n_test=5000)``.

    ``model=`` and ``training=`` take a dict of the fields to change."""
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; expected one of {sorted(PRESETS)}")
    base = PRESETS[name]
    fields = {f.name for f in dataclasses.fields(ExperimentConfig)}
    for key in overrides:
        if key not in fields:
            raise ValueError(f"{key}: not a setting of ExperimentConfig; expected one of {sorted(fields)}")
    if isinstance(overrides.get("model"), dict):
        overrides["model"] = _spec({**base.model.to_dict(), **overrides["model"]})
    if isinstance(overrides.get("training"), dict):
        overrides["training"] = dataclasses.replace(base.training, **overrides["training"])
    return dataclasses.replace(base, **overrides)
