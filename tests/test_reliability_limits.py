"""Bounded resources and named causes (issue 24): a zip bomb in a checkpoint, deeply nested JSON,
parameters handed to ``Flow``, a full disk."""
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import SMALL_RUN

import minflow
from minflow.thesis.pipeline import run_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOMB_BYTES = 1 << 30  # 1 GiB of zeros, compressed to ~1 MiB


def _bomb(path):
    """A valid checkpoint plus an extra compressed array of BOMB_BYTES zeros."""
    minflow.save(minflow.RealNVP(4, 2, (8,), rng=np.random.default_rng(0)), path)
    n = BOMB_BYTES // 8
    header = {"descr": "<f8", "fortran_order": False, "shape": (n,)}
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z, \
            z.open("extra.npy", "w", force_zip64=True) as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        block = bytes(64 << 20)
        for _ in range(BOMB_BYTES // len(block)):
            fh.write(block)
    return path


LOAD_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (768 << 20, 768 << 20))  # the bomb cannot be inflated here
import minflow
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    minflow.load(sys.argv[1])
except ValueError as err:
    print(err)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)  # MiB grown by the load
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resource limits as on Linux")
def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    path = _bomb(str(tmp_path / "bomb.npz"))
    assert os.path.getsize(path) < 8 << 20
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MINFLOW_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", LOAD_CHILD, path], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    message, grown_mib = done.stdout.strip().splitlines()
    assert "bomb.npz" in message and "'extra'" in message and "inflates" in message, message
    assert int(grown_mib) < 64, grown_mib  # the 1 GiB array was never inflated (the import alone is ~400 MiB)


def test_an_array_header_that_claims_more_than_the_file_holds(tmp_path):
    path = str(tmp_path / "m.npz")
    minflow.save(minflow.RealNVP(4, 2, (8,), rng=np.random.default_rng(0)), path)
    with zipfile.ZipFile(path, "a") as z, z.open("extra.npy", "w") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with pytest.raises(ValueError, match="m.npz.*'extra'.*declares float64.*holds 0 bytes"):
        minflow.load(path)


def test_an_extra_array_is_named_before_its_data_is_read(tmp_path):
    path = str(tmp_path / "m.npz")
    minflow.save(minflow.RealNVP(4, 2, (8,), rng=np.random.default_rng(0)), path)
    with zipfile.ZipFile(path, "a") as z, z.open("extra.npy", "w") as fh:
        np.lib.format.write_array(fh, np.zeros(3))
    with pytest.raises(ValueError, match=r"not expected \['extra'\]"):
        minflow.load(path)


# --- deeply nested JSON ---------------------------------------------------------------------------------
NESTED = "[" * 200_000 + "]" * 200_000
SMALL = SMALL_RUN


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from minflow.thesis.pipeline import preset, run
    out = tmp_path_factory.mktemp("limits") / "run"
    run(preset("tiny", **SMALL), out, progress=False)
    return out


def test_nested_json_is_a_named_error(tmp_path):
    (tmp_path / "x.json").write_text(NESTED)
    with pytest.raises(run_files.ResultFileError, match="x.json: cannot be read as JSON .nested too deeply"):
        run_files.read_json(str(tmp_path / "x.json"))


@pytest.mark.parametrize("name, command", [("config.json", "reproduce"), ("run.json", "claims")])
def test_a_nested_record_is_one_line_naming_it(finished, tmp_path, name, command):
    out = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished), str(out)], check=True)
    (out / name).write_text(NESTED)
    args = {"reproduce": ["reproduce", "--preset", "tiny", "--dims", "4", "--out", str(out), "--quiet",
                          "--no-figures", "--report", ""], "claims": ["claims", str(out)]}[command]
    done = subprocess.run([sys.executable, "-m", "minflow", *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert name in done.stderr and "nested too deeply" in done.stderr


def test_a_nested_cell_file_is_recomputed(finished, tmp_path):
    from minflow.thesis.pipeline import preset, read_table, run
    from minflow.thesis.pipeline.store import ResultFileWarning
    out = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished), str(out)], check=True)
    cell = out / "cells" / "D4" / "outlier_s1_t0.json"
    cell.write_text(NESTED)
    with pytest.warns(ResultFileWarning, match="outlier_s1_t0.json: cannot be read as JSON .nested too deeply"):
        table = read_table(run(preset("tiny", **SMALL), out, progress=False))
    assert open(out / "table.csv", "rb").read() == open(finished / "table.csv", "rb").read() and len(table) == 3
    json.load(open(cell))  # rewritten whole


# --- parameters handed to Flow ----------------------------------------------------------------------------
def _layers_and_params():
    flow = minflow.RealNVP(4, 2, (8,), rng=np.random.default_rng(0))
    return flow.layers, [[(w.copy(), b.copy()) for w, b in p] for p in flow.params]


def test_flow_params_of_the_wrong_shape_are_named():
    layers, params = _layers_and_params()
    params[1][0] = (params[1][0][0][:, :3], params[1][0][1])
    with pytest.raises(ValueError, match=r"params\[1\]\[0\]\[0\]: expected a float array of shape \(2, 8\), got "
                                         r"ndarray float64\(2, 3\)"):
        minflow.Flow(layers, params=params)


def test_flow_params_with_a_nan_are_named_not_blamed_on_x():
    layers, params = _layers_and_params()
    params[0][1][0][3, 1] = np.nan
    with pytest.raises(ValueError, match=r"params\[0\]\[1\]\[0\]: contains NaN or infinite values"):
        minflow.Flow(layers, params=params)


def test_flow_params_of_another_structure_are_named():
    layers, params = _layers_and_params()
    with pytest.raises(ValueError, match=r"params\[0\]: expected the 4 arrays"):
        minflow.Flow(layers, params=[params[0][:1], params[1]])
    with pytest.raises(TypeError, match="params: expected a list"):
        minflow.Flow(layers, params=3)


def test_a_bomb_in_a_cell_file_is_refused_unread_and_recomputed(finished, tmp_path):
    from minflow.thesis.pipeline import preset, run
    from minflow.thesis.pipeline.store import ResultFileWarning
    out = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished), str(out)], check=True)
    cell = out / "cells" / "D4" / "perturbed_s1_t0.npz"
    with zipfile.ZipFile(cell, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z, \
            z.open("extra.npy", "w", force_zip64=True) as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (32 << 20,)})
        for _ in range(4):
            fh.write(bytes(64 << 20))
    with pytest.warns(ResultFileWarning, match="perturbed_s1_t0.npz: .*'extra': inflates"):
        run(preset("tiny", **SMALL), out, progress=False)
    assert open(out / "table.csv", "rb").read() == open(finished / "table.csv", "rb").read()
