"""Checkpoints: bit-identical log_prob after a round trip; missing and corrupt files give clear errors."""
import json
import zipfile

import numpy as np
import pytest
from conftest import randomize

import minflow


@pytest.mark.parametrize("kw", [{}, {"actnorm": True, "lu": True, "mask": "alternate"},
                                {"coupling": "additive", "permutation": "random"}, {"dtype": "float32"},
                                {"s_max": None}, {"s_max": None, "mask": "alternate", "dtype": "float32"}])
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


def test_an_unbounded_coupling_is_stored_as_null_and_loads_unbounded(tmp_path, rng):
    flow = minflow.RealNVP(4, 2, (8,), rng=rng, s_max=None)
    flow.params = randomize(flow.params, rng)
    path = minflow.save(flow, tmp_path / "flow")
    arrays, cfg = _arrays_and_config(path)
    assert [c["s_max"] for c in cfg["flow"]["layers"]] == [None, None]
    assert '"s_max": null' in json.dumps(cfg)
    again = minflow.load(path)
    assert [layer.s_max for layer in again.layers] == [None, None]
    x = rng.standard_normal((20, 4))
    np.testing.assert_array_equal(again.log_prob(x), flow.log_prob(x))


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no checkpoint"):
        minflow.load(tmp_path / "nope.npz")


def test_garbage_file(tmp_path):
    p = tmp_path / "bad.npz"
    p.write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="not a valid minflow checkpoint"):
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
    with pytest.raises(ValueError, match="missing.npz.*missing"):
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


# --- issue 11: nothing lost when a save fails; hostile files give a clear ValueError -------------
def _arrays_and_config(path):
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return arrays, json.loads(bytes(arrays["__config__"]).decode())


def _write(path, arrays, cfg):
    arrays = dict(arrays, __config__=np.frombuffer(json.dumps(cfg).encode(), dtype=np.uint8))
    np.savez(path, **arrays)
    return path


def test_a_failed_save_leaves_the_old_checkpoint_and_no_temp_file(tmp_path, rng):
    """Disk full, simulated by a file-size limit in a child process: the old file still loads."""
    import subprocess
    import sys
    import textwrap

    small = minflow.save(minflow.RealNVP(3, 1, (4,), rng=rng), tmp_path / "model.npz")
    before = open(small, "rb").read()
    code = textwrap.dedent(f"""
        import resource, signal, numpy as np, minflow
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before) + 2000}, {len(before) + 2000}))
        big = minflow.RealNVP(3, 6, (256, 256), rng=np.random.default_rng(0))
        try:
            minflow.save(big, {str(small)!r})
        except OSError as err:
            print("failed as expected:", err.errno)
        else:
            raise SystemExit("the save should have failed")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "failed as expected" in out.stdout, out.stderr
    assert open(small, "rb").read() == before
    minflow.load(small)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_save_refuses_a_broken_flow_and_odd_paths(tmp_path, rng):
    flow = minflow.RealNVP(3, 1, (4,), rng=rng)
    flow.params[0][0] = (flow.params[0][0][0] * np.nan, flow.params[0][0][1])
    with pytest.raises(ValueError, match="NaN"):
        minflow.save(flow, tmp_path / "nan.npz")
    good = minflow.RealNVP(3, 1, (4,), rng=rng)
    with pytest.raises(ValueError, match="directory"):
        minflow.save(good, tmp_path)
    with pytest.raises(ValueError, match="empty"):
        minflow.save(good, "")
    assert minflow.save(good, bytes(tmp_path / "b")) == str(tmp_path / "b.npz")
    with pytest.raises(TypeError, match="path"):
        minflow.save(good, 3)
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("edit, message", [
    (lambda c, a: c["flow"]["layers"].append({"type": "LULinear", "dim": 100000}), "larger than anything stored"),
    (lambda c, a: c["flow"]["layers"][0].update(hidden=[200000, 200000]), "larger than anything stored"),
    (lambda c, a: c["flow"]["layers"][0].update(flip="yes"), "flip"),
    (lambda c, a: c["flow"].update(needs_data_init="false"), "needs_data_init"),
    (lambda c, a: c["flow"].update(layers=[]), "no layers"),
    (lambda c, a: c["flow"]["layers"].__setitem__(0, 5), "layer config 0"),
    (lambda c, a: c["flow"]["layers"][0].update(hidden=[4, "x"]), "hidden"),
    (lambda c, a: c["flow"].update(dtype="complex128"), "float32 or float64|dtype"),
    (lambda c, a: c.update(format="other"), "not a minflow-checkpoint-1"),
    (lambda c, a: a.update({"p/0/0/0": a["p/0/0/0"] * np.nan}), "NaN"),
    (lambda c, a: a.update({"p/9/0/0": np.zeros(3)}), "not expected"),
])
def test_hostile_checkpoints_are_rejected_before_allocating(edit, message, tmp_path, rng):
    path = minflow.save(minflow.RealNVP(4, 2, (4,), rng=rng), tmp_path / "f.npz")
    arrays, cfg = _arrays_and_config(path)
    arrays.pop("__config__")
    edit(cfg, arrays)
    bad = _write(tmp_path / "bad.npz", arrays, cfg)
    with pytest.raises(ValueError, match=message) as err:
        minflow.load(bad)
    assert "bad.npz" in str(err.value)


@pytest.mark.parametrize("perm, sign, message", [([0, 0, 0, 0], None, "permutation"), ([0, 1, 2, 9], None, "permutation"),
                                                 (None, [0, 1, 1, 1], "sign"), (None, [1, 1, 1], "sign")])
def test_lu_checkpoint_with_a_singular_or_invalid_structure(perm, sign, message, tmp_path, rng):
    path = minflow.save(minflow.RealNVP(4, 1, (4,), rng=rng, lu=True), tmp_path / "f.npz")
    arrays, cfg = _arrays_and_config(path)
    arrays.pop("__config__")
    lu = next(c for c in cfg["flow"]["layers"] if c["type"] == "LULinear")
    lu.update({k: v for k, v in (("perm", perm), ("sign", sign)) if v is not None})
    with pytest.raises(ValueError, match=message):
        minflow.load(_write(tmp_path / "bad.npz", arrays, cfg))


def test_deeply_nested_json_and_a_directory_are_clear_errors(tmp_path, rng):
    path = minflow.save(minflow.RealNVP(4, 1, (4,), rng=rng), tmp_path / "f.npz")
    arrays, cfg = _arrays_and_config(path)
    arrays.pop("__config__")
    raw = "[" * 100000 + "]" * 100000
    np.savez(tmp_path / "deep.npz", **arrays, __config__=np.frombuffer(raw.encode(), dtype=np.uint8))
    with pytest.raises(ValueError, match="deep.npz"):
        minflow.load(tmp_path / "deep.npz")
    with pytest.raises(ValueError, match="no checkpoint file"):
        minflow.load(tmp_path)
