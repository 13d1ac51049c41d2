"""The ablation runner (the thesis's future work: adding components one at a time) on the tiny preset."""
import os

import pytest

from minflow.thesis.documents import ablations
from minflow.thesis.documents.ablations import VARIANTS, markdown, run_ablations
from minflow.thesis.pipeline.cells import build_model
from minflow.thesis.pipeline.config import preset


def test_every_variant_builds_the_model_it_names():
    import numpy as np
    names = {}
    for name, _, fields in VARIANTS:
        flow = build_model(6, preset("tiny", model=dict(fields)), np.random.default_rng(0))
        names[name] = [type(layer).__name__ for layer in flow.layers]
    assert "ActNorm" in names["actnorm"] and "LULinear" in names["lu"]
    assert "RandomPermutation" in names["random-permutations"] and "AdditiveCoupling" in names["additive"]
    assert names["core"] == ["AffineCoupling"] * 4 and len(names["depth-x2"]) == 16   # tiny: 4 couplings; 16 asked
    assert build_model(6, preset("tiny", model={"hidden": (256, 256)}), np.random.default_rng(0)).layers[0].hidden == (256, 256)


def test_tiny_ablations_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the core variant looks for reproduction/<base>/seed<k>/ to reuse: none here
    small = tuple((n, w, {**f, "n_layers": 2} if "n_layers" not in f else {"n_layers": 3}) for n, w, f in VARIANTS[:3])
    monkeypatch.setattr(ablations, "VARIANTS", small)
    out = run_ablations(str(tmp_path / "reproduction" / "ablations"), seeds=(0, 1), base="tiny", progress=False)
    assert sorted(out) == ["actnorm", "core", "lu"] and all(len(v) == 2 for v in out.values())
    assert os.path.isfile(tmp_path / "reproduction" / "ablations" / "lu" / "seed1" / "claims.json")
    lines = markdown(str(tmp_path / "reproduction"), base="tiny")
    text = "\n".join(lines)
    assert "| C2 | 2 of 2 | 2 of 2 | 2 of 2 |" in text      # H*(q,p) vs H(q,p): the estimator, always holds
    assert "nan" not in text and "| lu |" in text and "seeds 0, 1:" in text
    assert "TNR(p_theta) / TNR(p)" in text


def test_the_table_counts_only_seeds_every_variant_finished(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small = tuple((n, w, {**f, "n_layers": 2}) for n, w, f in VARIANTS[:2])
    monkeypatch.setattr(ablations, "VARIANTS", small)
    root = tmp_path / "reproduction"
    run_ablations(str(root / "ablations"), seeds=(0, 1), base="tiny", progress=False)
    os.remove(root / "ablations" / "actnorm" / "seed1" / "table.csv")     # seed 1 of actnorm still running
    text = "\n".join(markdown(str(root), base="tiny"))
    assert "seeds 0:" in text and "| C2 | 1 of 1 | 1 of 1 |" in text
    for seed in ("seed0", "seed1"):
        os.remove(root / "ablations" / "core" / seed / "table.csv")      # a variant with no finished seed
    assert markdown(str(root), base="tiny") == []


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(ValueError, match="variants: unknown"):
        run_ablations(str(tmp_path), seeds=(0,), base="tiny", variants=["wings"], progress=False)
