"""The version is written once, as minflow.__version__; pyproject.toml reads it (issue 26)."""
import re
import tomllib
from pathlib import Path

import minflow

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_defined_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "minflow.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", minflow.__version__)
    written = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "minflow").rglob("*.py"))
               if re.search(r"^\s*__version__\s*=", p.read_text(), re.M)]
    assert written == ["minflow/__init__.py"]
