"""Checkpoints: bit-identical log_prob after a round trip; missing and corrupt files give clear errors."""
import json
import zipfile

import numpy as np
import pytest
from conftest import randomize

import minflow


@pytest.mark.parametrize("kw", [{}, {"actnorm": True, "lu": True, "mask": "alternate"},
                                {"coupling": "additive", "permutation": "random"}, {"dtype": "float32"}])
def test_round_trip_is_bit_identical(kw, tmp_path, rng):
    flow = minflow.RealNVP(5, 3, (16, 8), rng=rng, **kw)
    flow.params = randomize(flow.params, rng)
    path = minflow.save(flow, tmp_path / "flow")
    assert path.endswith(".npz")
    again = minflow.load(path)
    x = rng.standard_normal((50, 5))
    np.testing.assert_array_equal(again.log_prob(x), flow.log_prob(x))
    assert again.config() == flow.config()
    np.testing.assert_array_equal(again.sample(5, np.random.default_rng(1)), flow.sample(5, np.random.default_rng(1)))


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no checkpoint"):
        minflow.load(tmp_path / "nope.npz")


def test_garbage_file(tmp_path):
    p = tmp_path / "bad.npz"
    p.write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="not a readable minflow checkpoint"):
        minflow.load(p)


def test_truncated_file(tmp_path, rng):
    path = minflow.save(minflow.RealNVP(3, 2, (4,), rng=rng), tmp_path / "f.npz")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(ValueError, match="checkpoint"):
        minflow.load(path)


def test_missing_array_and_wrong_shape(tmp_path, rng):
    path = minflow.save(minflow.RealNVP(3, 2, (4,), rng=rng), tmp_path / "f.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    first = next(k for k in arrays if k.startswith("p/"))
    np.savez(tmp_path / "missing.npz", **{k: v for k, v in arrays.items() if k != first})
    with pytest.raises(ValueError, match="missing"):
        minflow.load(tmp_path / "missing.npz")
    arrays[first] = np.zeros((7, 7))
    np.savez(tmp_path / "shape.npz", **arrays)
    with pytest.raises(ValueError, match="expected"):
        minflow.load(tmp_path / "shape.npz")


def test_corrupt_config(tmp_path, rng):
    path = minflow.save(minflow.RealNVP(3, 2, (4,), rng=rng), tmp_path / "f.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    cfg = json.loads(bytes(arrays["__config__"]).decode())
    cfg["flow"]["layers"][0]["type"] = "Mystery"
    arrays["__config__"] = np.frombuffer(json.dumps(cfg).encode(), dtype=np.uint8)
    np.savez(tmp_path / "cfg.npz", **arrays)
    with pytest.raises(ValueError, match="layer config"):
        minflow.load(tmp_path / "cfg.npz")
    with zipfile.ZipFile(tmp_path / "plain.npz", "w") as z:
        z.writestr("a.npy", b"")
    with pytest.raises(ValueError):
        minflow.load(tmp_path / "plain.npz")


def test_save_checks_arguments(tmp_path, rng):
    with pytest.raises(TypeError, match="flow"):
        minflow.save("not a flow", tmp_path / "f.npz")
    with pytest.raises(ValueError, match="directory"):
        minflow.save(minflow.RealNVP(2, 1, (4,), rng=rng), tmp_path / "no" / "such" / "f.npz")
