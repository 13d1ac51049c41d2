"""RealNVPSpec: one record of the model's options, each default written once, held by every room."""
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import minflow
from minflow.spec import RealNVPSpec, make_spec

ROOT = Path(__file__).resolve().parent.parent


def test_realnvp_builds_from_its_spec_and_keeps_it():
    spec = dataclasses.replace(RealNVPSpec(), n_layers=3, hidden=(8,), permutation="reverse", s_max=None)
    a = minflow.RealNVP(5, spec=spec, rng=np.random.default_rng(1))
    b = minflow.RealNVP(5, 3, (8,), permutation="reverse", s_max=None, rng=np.random.default_rng(1))
    assert a.spec == b.spec == spec and a.config() == b.config()
    assert [type(layer).__name__ for layer in a.layers] == ["AffineCoupling", "Reverse"] * 2 + ["AffineCoupling"]


def test_arguments_replace_the_specs_fields():
    base = RealNVPSpec(hidden=(16, 16), activation="tanh")
    flow = minflow.RealNVP(4, n_layers=2, spec=base, rng=np.random.default_rng(0))
    assert flow.spec == dataclasses.replace(base, n_layers=2)


@pytest.mark.parametrize("options, error, name", [
    (dict(n_layers=0), ValueError, "n_layers"), (dict(hidden=(8, -1)), ValueError, "hidden"),
    (dict(activation="sigmoidal"), ValueError, "activation"), (dict(mask="checker"), ValueError, "mask"),
    (dict(coupling="spline"), ValueError, "coupling"), (dict(permutation="shuffle"), ValueError, "permutation"),
    (dict(actnorm="yes"), TypeError, "actnorm"), (dict(lu=1), TypeError, "lu"), (dict(s_max=0.0), ValueError, "s_max"),
])
def test_a_bad_field_is_named_once_when_the_spec_is_made(options, error, name):
    with pytest.raises(error, match=name):
        RealNVPSpec(**options)
    with pytest.raises(error, match=name):
        minflow.RealNVP(4, rng=np.random.default_rng(0), **options)


def test_an_unknown_option_is_named():
    with pytest.raises(TypeError, match="depth"):
        make_spec(depth=3)
    with pytest.raises(ValueError, match="depth"):
        RealNVPSpec.from_dict({"depth": 3})


def test_spec_round_trips_through_json_and_checkpoints(tmp_path):
    spec = RealNVPSpec(n_layers=2, hidden=(8,), s_max=None, mask="alternate")
    assert RealNVPSpec.from_dict(spec.to_dict()) == spec
    flow = minflow.RealNVP(5, spec=spec, rng=np.random.default_rng(0), engine="reference")
    loaded = minflow.load(minflow.save(flow, tmp_path / "f.npz"))
    assert loaded.spec == spec and loaded.engine == "reference"


def test_the_thesis_runs_hold_the_spec():
    from minflow.thesis.pipeline import preset
    from minflow.thesis.pipeline.config import ExperimentConfig

    cfg = preset("quick")
    assert cfg.model == RealNVPSpec()
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="model.n_layers"):
        preset("tiny", model=dict(RealNVPSpec().to_dict(), n_layers=0))


# The model's defaults, each written once in the source: a second literal copy of one would silently
# drift from the first. Found where a default is defined: a dataclass field or annotated name, a keyword
# default in a signature, or a module constant; examples in docstrings and calls are not defaults.
VALUES = {"s_max": r"2(?:\.0)?\b", "hidden": r"\(64,\s*64\)", "n_layers": r"8\b"}


def _definitions(field, line):
    value = VALUES[field]
    return (re.match(rf"\s*{field}\s*:[^=]*=\s*{value}", line)
            or re.search(rf"\bdef \w+\(.*\b{field}\s*=\s*{value}", line)
            or re.match(rf"\s*[A-Z_]*{field.upper()}\s*=\s*{value}", line))


@pytest.mark.parametrize("field", sorted(VALUES))
def test_each_model_default_is_written_once(field):
    files = [*(ROOT / "minflow").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py"), *(ROOT / "lessons").glob("*.py")]
    found = [f"{p.relative_to(ROOT)}:{k}" for p in files
             for k, line in enumerate(p.read_text().splitlines(), 1) if _definitions(field, line.split("#")[0])]
    assert len(found) == 1, f"the default of {field} is defined {len(found)} times: {found}"


def test_the_count_can_fail():
    assert _definitions("s_max", "S_MAX = 2.0  # the bound") and _definitions("s_max", "    s_max: float = 2.0")
    assert _definitions("hidden", "def f(dim, hidden=(64, 64)):") and not _definitions("hidden", "RealNVP(2, 6, (64, 64))")
