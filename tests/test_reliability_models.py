"""Stored models are checked against the run's settings before they are reused (issue 24): a model
trained with other epochs, another seed or another architecture is named and retrained."""
import json
import os
import shutil

import pytest
from conftest import SMALL_RUN

from minflow.thesis.pipeline import preset, read_table, run
from minflow.thesis.pipeline.store import ResultFileWarning

SMALL = SMALL_RUN


def _strip(table):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in table]


def _config(**changes):
    base = dict(SMALL)
    for key, value in changes.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return preset("tiny", **base)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "run"
    return out, _strip(read_table(run(_config(), out, progress=False)))


@pytest.mark.parametrize("other, named", [
    (dict(training={"epochs": 3}), "training.epochs: 3 before, 2 now"),
    (dict(seed=1), "seed: 1 before, 0 now"),
    (dict(training={"lr": 3e-3}), "training.lr"),
    (dict(model={"hidden": (8, 8)}), "another architecture"),
    (dict(dtype="float32"), "another architecture"),
])
def test_a_model_of_other_settings_is_named_and_retrained(clean, tmp_path, other, named):
    out, table = clean
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    shutil.copytree(out, mine)
    run(_config(**other), theirs, progress=False)
    for ext in (".npz", ".json"):
        shutil.copy(theirs / "models" / f"D4{ext}", mine / "models" / f"D4{ext}")
    with pytest.warns(ResultFileWarning, match=f"models.D4.(json|npz): a model .*{named}"):
        got = _strip(read_table(run(_config(), mine, progress=False)))
    assert got == table  # retrained and re-evaluated: the table is this run's own


def test_an_older_record_without_settings_is_checked_by_its_history(clean, tmp_path):
    out, table = clean
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    shutil.copytree(out, mine)
    run(_config(training={"epochs": 3}), theirs, progress=False)
    record = json.load(open(theirs / "models" / "D4.json"))
    del record["settings"]  # as written before issue 24
    json.dump(record, open(mine / "models" / "D4.json", "w"))
    shutil.copy(theirs / "models" / "D4.npz", mine / "models" / "D4.npz")
    with pytest.warns(ResultFileWarning, match="D4.json: a model trained with other settings .*training.epochs: 3"):
        assert _strip(read_table(run(_config(), mine, progress=False))) == table


def test_a_model_of_the_same_settings_is_reused_silently(clean, tmp_path, recwarn):
    out, table = clean
    mine = tmp_path / "mine"
    shutil.copytree(out, mine)
    record = json.load(open(mine / "models" / "D4.json"))
    del record["settings"]  # an older record of the very same settings is adopted too
    json.dump(record, open(mine / "models" / "D4.json", "w"))
    before = os.path.getmtime(mine / "models" / "D4.npz")
    assert _strip(read_table(run(_config(), mine, progress=False))) == table
    assert os.path.getmtime(mine / "models" / "D4.npz") == before
    assert not [w for w in recwarn if issubclass(w.category, ResultFileWarning)]
