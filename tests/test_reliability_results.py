"""Results checked where they are read (issue 24): ``claims``, ``figures`` and the report refuse an edited
table.csv by name; two runs of the same settings write the same table.csv byte for byte."""
import csv
import io as stdio
import json
import os
import shutil

import pytest

from minflow.thesis.cli import main
from minflow.thesis.pipeline import preset, read_table, run
from minflow.thesis.pipeline.cells import TABLE_COLUMNS
from minflow.thesis.pipeline.run_files import ResultFileError
from minflow.thesis.documents.report import load_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = dict(dims=(4,), S=(1.0,), T=(0.0, 0.5), n_test=500, n_reference=500, kde_keep=50,
             training={"epochs": 2, "epoch_size": 512, "validation": 256})
COMMITTED = os.path.join(ROOT, "reproduction", "quick", "seed0")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "run"
    run(preset("tiny", **SMALL), out, progress=False)
    return out


@pytest.fixture
def copy(finished, tmp_path):
    shutil.copytree(finished, tmp_path / "run")
    return tmp_path / "run"


def _edit(path, row, column, value):
    rows = list(csv.DictReader(open(path, newline="")))
    rows[row][column] = value
    out = stdio.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    open(path, "w", newline="").write(out.getvalue())


EDITS = [(dict(column="gap", value="nan"), r"non-finite \['gap'\]"),
         (dict(column="family", value="outlier"), "row 1 is D=4 'outlier'"),
         (dict(column="gap", value="0.123"), "not the table its run.json recorded")]


@pytest.mark.parametrize("edit, named", EDITS)
def test_claims_and_figures_refuse_an_edited_table_by_name(copy, capsys, edit, named):
    _edit(copy / "table.csv", 0, **edit)
    for cmd in (["claims", str(copy)], ["figures", str(copy)]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert f"{copy / 'table.csv'}: " in err and named.replace("\\", "") in err.replace("\\", ""), err
    assert not (copy / "figures").exists()


def test_an_edited_number_is_caught_by_its_cell_without_the_digest(copy):
    _edit(copy / "table.csv", 1, "Hs_qptheta", "1.5")
    record = json.load(open(copy / "run.json"))
    del record["table_sha256"]  # as a run.json written before issue 24
    json.dump(record, open(copy / "run.json", "w"))
    with pytest.raises(ResultFileError, match=r"table.csv: the row D=4 generalisation s=1 t=0.5 differs from its cell "
                                              r"file .*in \['Hs_qptheta'\]"):
        load_run(str(copy))


def test_a_missing_row_is_refused(copy):
    lines = open(copy / "table.csv").read().splitlines(keepends=True)
    open(copy / "table.csv", "w").write("".join(lines[:-1]))
    with pytest.raises(ResultFileError, match="table.csv: 5 rows, but the run's grid .* has 6 test sets"):
        load_run(str(copy))


def test_a_resume_rebuilds_an_edited_table_from_the_cells(copy, finished):
    _edit(copy / "table.csv", 0, "gap", "nan")
    run(preset("tiny", **SMALL), copy, progress=False)
    assert open(copy / "table.csv", "rb").read() == open(finished / "table.csv", "rb").read()
    assert main(["claims", str(copy)]) == 0


def test_a_committed_table_without_cells_is_checked_too(tmp_path):
    out = tmp_path / "seed0"
    shutil.copytree(COMMITTED, out)
    assert len(load_run(str(out))["table"]) == 360  # an older table (with its seconds column) is read
    _edit(out / "table.csv", 7, "gap", "nan")
    with pytest.raises(ResultFileError, match=r"table.csv: row 8 .* non-finite \['gap'\]"):
        load_run(str(out))


def test_two_runs_of_the_same_settings_write_the_same_table(finished, tmp_path):
    again = tmp_path / "again"
    run(preset("tiny", **SMALL), again, progress=False)
    assert open(again / "table.csv", "rb").read() == open(finished / "table.csv", "rb").read()
    assert list(read_table(again / "table.csv")[0]) == list(TABLE_COLUMNS)
    timing = list(csv.DictReader(open(again / "cell_seconds.csv")))
    assert list(timing[0]) == ["D", "family", "s", "t", "seconds"] and len(timing) == 6
    assert all(float(r["seconds"]) > 0 for r in timing)
