"""The lessons as notebooks (`make notebooks`): no stray echoes, figures inline, every cell re-runnable.

Needs the optional extra `pip install -e .[notebooks]` (jupytext, nbclient, ipykernel); skipped without it."""
import ast
import os
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
SCRIPTS = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
# calls that return None: allowed as the last line of a cell (anything else would be echoed)
SILENT = {"print", "record", "write_json", "write_text", "claim", "finish", "thesis_claims", "versus_thesis", "savefig", "adopt_figure", "display", "say"}  # each returns None: nothing echoed


def _code_cells(path):
    return [c for c in jupytext.read(path).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_no_cell_echoes_a_value(path):
    """A cell whose last statement is an expression shows its value in Jupyter (a PosixPath, a list of dicts)."""
    for k, cell in enumerate(_code_cells(path)):
        body = ast.parse(cell.source).body
        if body and isinstance(body[-1], ast.Expr):
            value = body[-1].value
            func = getattr(value, "func", None)
            name = getattr(func, "attr", getattr(func, "id", None))
            assert isinstance(value, ast.Call) and name in SILENT, \
                f"{path.name}, code cell {k}: its last line `{ast.unparse(value)[:60]}` would be echoed"



@pytest.mark.parametrize("stem", ["02_affine_coupling", "06_generalisation"])
def test_notebook_runs_shows_figures_and_reruns(tmp_path, monkeypatch, stem):
    """Executed as a notebook: figures inline (one PNG output per figure), no execute_result echo, no
    error; then every cell re-run in reverse order after the last one still runs."""
    monkeypatch.setenv("MINFLOW_LESSON_ARGS", "--tiny")
    monkeypatch.setenv("MINFLOW_LESSONS_OUT", str(tmp_path / "out"))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = jupytext.read(LESSONS / f"{stem}.py")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(LESSONS)}})
    with client.setup_kernel():
        for k, cell in enumerate(nb.cells):
            client.execute_cell(cell, k)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "execute_result"], "a cell echoes a value"
        assert not [o for o in outputs if o.output_type == "error"]
        pngs = sum("image/png" in o.get("data", {}) for o in outputs)
        out = tmp_path / "out" / f"{stem}--tiny"  # exploring settings get a folder of their own
        assert out.is_dir() and not (tmp_path / "out" / f"{out.name}.partial").exists()
        assert pngs == len(list(out.glob("*.png"))) > 0, "every figure is shown inline"
        # re-run every cell but the first (the Lesson itself), last to first: no FileNotFoundError
        code = [k for k, c in enumerate(nb.cells) if c.cell_type == "code"]
        for k in reversed(code[1:]):
            nb.cells[k].outputs = []
            client.execute_cell(nb.cells[k], k)
            assert not [o for o in nb.cells[k].outputs if o.output_type == "error"], nb.cells[k].source[:200]
