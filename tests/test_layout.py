"""The rooms of the package and the doors between them (docs/ARCHITECTURE.md), enforced.

Every import in ``minflow/`` is read with ``ast`` (also imports inside functions). Rules:
* the model (every module outside speed/, thesis/, classroom/) imports none of those rooms;
  only the package face (``minflow/__init__.py``, ``minflow/__main__.py``) wires them together;
* the speed room imports only the model (and itself); the thesis room only the model and
  itself; the classroom the model, the thesis room and itself. The thesis room and the classroom
  are users of the library and may also import the package face (``minflow``); the model and the
  speed room may not;
* no import cycle anywhere in the package.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "minflow"
ROOMS = ("speed", "thesis", "classroom")
FACE = {"minflow", "minflow.__main__"}
MAY_IMPORT = {"model": {"model"}, "speed": {"model", "speed"}, "thesis": {"model", "thesis"},
              "classroom": {"model", "thesis", "classroom"}}


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else "model"


def is_package(module):
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()


def resolve(module, level, target):
    """The absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if level == 0:
        return target
    base = module.split(".") if is_package(module) else module.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports_of(path):
    """The minflow modules that the file at ``path`` imports, each once."""
    module, found = module_name(path), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = resolve(module, node.level, node.module)
            for alias in node.names:  # ``from . import x`` imports the module x when there is one
                sub = f"{base}.{alias.name}"
                found.add(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists() or is_package(sub)
                          else base)
    return {m for m in found if m == "minflow" or m.startswith("minflow.")} - {module}


@pytest.fixture(scope="module")
def graph():
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def test_the_rooms_are_all_there(graph):
    assert {room(m) for m in graph} == {"model", *ROOMS}
    assert "minflow.flow" in graph and "minflow.speed.kernels" in graph


def test_each_room_imports_only_what_it_may(graph):
    bad = [f"{m} -> {t}" for m, targets in sorted(graph.items()) if m not in FACE
           for t in sorted(targets) if t not in FACE and room(t) not in MAY_IMPORT[room(m)]]
    bad += [f"{m} -> {t} (the package face)" for m, targets in sorted(graph.items())
            if m not in FACE and room(m) in ("model", "speed") for t in targets if t == "minflow"]
    assert not bad, "imports that cross a room's wall the wrong way:\n  " + "\n  ".join(bad)


def find_cycles(graph):
    """Every back edge of a depth-first walk, as "a -> b -> a"; the package face is left out (it
    imports every room, and no other module may import it: test above)."""
    graph = {m: ts - FACE for m, ts in graph.items() if m not in FACE}
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == "open":
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return cycles


def test_no_import_cycles(graph):
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n  " + "\n  ".join(cycles)


def test_the_rules_can_fail(tmp_path):
    """A model module that imports the speed room, and a cycle, are caught by the same code."""
    bad = {"minflow.flow": {"minflow.speed.kernels"}, "minflow.speed.kernels": {"minflow.flow"}}
    wrong = [f"{m} -> {t}" for m, ts in bad.items() for t in ts if room(t) not in MAY_IMPORT[room(m)]]
    assert wrong == ["minflow.flow -> minflow.speed.kernels"]
    assert find_cycles(bad) == ["minflow.flow -> minflow.speed.kernels -> minflow.flow"]
    assert resolve("minflow.thesis.pipeline.cells", 3, "flow") == "minflow.flow"
    assert resolve("minflow.speed", 1, "kernels") == "minflow.speed.kernels"


# The thesis room in three floors (docs/ARCHITECTURE.md): the science at the ground (gaussians,
# information, ood, plotting, checks), then pipeline/ (runs and stores cells), verdicts/ (rules and the
# words of claims), documents/ (figures, reports, studies). A floor imports only the floors below it;
# cli (the command line) sits on top of all of them.
FLOORS = ("science", "pipeline", "verdicts", "documents", "cli")


def floor(module):
    parts = module.split(".")
    if parts[:2] != ["minflow", "thesis"] or len(parts) == 2:
        return None
    return parts[2] if parts[2] in FLOORS else "science"


def wrong_floor_imports(graph):
    return [f"{m} -> {t}" for m, targets in sorted(graph.items()) if floor(m)
            for t in sorted(targets) if floor(t) and FLOORS.index(floor(t)) > FLOORS.index(floor(m))]


def test_the_thesis_floors_are_all_there(graph):
    assert {floor(m) for m in graph} - {None} == set(FLOORS)
    assert not (PACKAGE / "thesis" / "experiments").exists(), "the flat experiments/ folder is gone"


def test_each_thesis_floor_imports_only_the_floors_below(graph):
    bad = wrong_floor_imports(graph)
    assert not bad, "imports that go up a floor of the thesis room:\n  " + "\n  ".join(bad)


def test_the_floor_rule_can_fail():
    bad = {"minflow.thesis.pipeline.runner": {"minflow.thesis.verdicts.claims"},
           "minflow.thesis.verdicts.claims": {"minflow.thesis.pipeline.lookup"},
           "minflow.thesis.ood": {"minflow.thesis.documents.figures"}}
    assert wrong_floor_imports(bad) == ["minflow.thesis.ood -> minflow.thesis.documents.figures",
                                        "minflow.thesis.pipeline.runner -> minflow.thesis.verdicts.claims"]


# Lessons use the thesis room's public face only (docs/ARCHITECTURE.md, "The thesis room's public face"):
# ``minflow``, a science module (``minflow.thesis.ood``, ...) and the names in ``__all__`` of
# ``minflow.thesis.pipeline``, ``.verdicts`` and ``.documents`` -- never a floor's own modules
# (``minflow.thesis.pipeline.cells``, ``from minflow.thesis.verdicts import multiseed``). Read with ``ast``:
# every import of every lessons/*.py, and every ``minflow.thesis.<...>`` written out as attributes.
LESSONS = PACKAGE.parent / "lessons"
THESIS = PACKAGE / "thesis"
PUBLIC_FLOORS = ("pipeline", "verdicts", "documents")
SCIENCE = tuple(sorted(p.stem for p in THESIS.glob("*.py") if p.stem not in ("__init__", *FLOORS)))


def public_names(floor_name):
    """The ``__all__`` of ``minflow/thesis/<floor_name>/__init__.py``, read with ``ast`` (nothing imported)."""
    tree = ast.parse((THESIS / floor_name / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def _bound_names(path):
    """The names a module's top level binds (imports, definitions, assignments)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _thesis_name_breaks(parts, public):
    """Why ``minflow.thesis.<parts>`` is not public ("" when it is)."""
    dotted = ".".join(["minflow", "thesis", *parts])
    if not parts:
        return f"{dotted}: the whole room; import a science module or a floor's public names"
    if parts[0] in SCIENCE:
        return ""
    if parts[0] in PUBLIC_FLOORS:
        if len(parts) == 1:
            return f"{dotted}: the floor as a module; import its public names (its __all__) instead"
        if parts[1] not in public[parts[0]]:
            return f"{dotted}: {parts[1]} is not in the __all__ of minflow.thesis.{parts[0]}"
        return ""
    return f"{dotted}: not a science module ({', '.join(SCIENCE)}) nor a public floor"


def lesson_import_breaks(source, public=None):
    """Every import (and ``minflow.thesis....`` attribute chain) in ``source`` that leaves the thesis room's
    public face, as "line N: <what> (<why>)"."""
    public = public or {f: public_names(f) for f in PUBLIC_FLOORS}
    tree, found = ast.parse(source), []

    def check(node, what, full):
        parts = full.split(".")
        if parts[:2] == ["minflow", "thesis"]:
            why = _thesis_name_breaks(parts[2:], public)
            if why:
                found.append(f"line {node.lineno}: {what} ({why})")

    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                check(node, f"import {a.name}", a.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for a in node.names:
                check(node, f"from {node.module} import {a.name}", f"{node.module}.{a.name}")
        elif isinstance(node, ast.Attribute) and id(node) not in inner:
            chain, n = [], node
            while isinstance(n, ast.Attribute):
                chain.append(n.attr)
                n = n.value
            if isinstance(n, ast.Name) and n.id == "minflow":
                full = ".".join(["minflow", *reversed(chain)])
                check(node, full, full)
    return sorted(set(found), key=lambda s: (int(s.split(":")[0].split()[1]), s))


def test_the_public_names_exist():
    for f in PUBLIC_FLOORS:
        names = public_names(f)
        assert names, f"minflow.thesis.{f} has no __all__"
        missing = names - _bound_names(THESIS / f / "__init__.py")
        assert not missing, f"minflow.thesis.{f}.__all__ names what its __init__ does not bind: {sorted(missing)}"


def test_lessons_use_the_thesis_rooms_public_face_only():
    lessons = sorted(LESSONS.glob("*.py"))
    assert len(lessons) >= 13
    public = {f: public_names(f) for f in PUBLIC_FLOORS}
    bad = [f"lessons/{p.name} {b}" for p in lessons for b in lesson_import_breaks(p.read_text(), public)]
    assert not bad, "lessons reaching past the thesis room's public face:\n  " + "\n  ".join(bad)


def test_the_lesson_rule_can_fail():
    public = {"pipeline": {"preset", "kept_key"}, "verdicts": {"check_claims", "fmt"}, "documents": {"fig_1"}}
    source = "\n".join([
        "import minflow",
        "from minflow.thesis import ood",
        "from minflow.thesis.gaussians import ThesisDistributions",
        "from minflow.thesis.pipeline import preset, kept_key",
        "from minflow.thesis.documents import fig_1",
        "x = minflow.thesis.ood.auroc",
        "from minflow.thesis.pipeline.cells import keep_values",      # line 7: a floor's own module
        "from minflow.thesis.verdicts import multiseed",              # line 8: a module, not in __all__
        "import minflow.thesis.documents.regimes_run as rr",          # line 9
        "from minflow.thesis import pipeline",                        # line 10: the floor as a module
        "y = minflow.thesis.verdicts.claims.BARS",                    # line 11: reached through attributes
        "from minflow import thesis",                                 # line 12: the whole room
    ])
    breaks = lesson_import_breaks(source, public)
    assert [b.split(":")[0] for b in breaks] == [f"line {k}" for k in (7, 8, 9, 10, 11, 12)], breaks
    assert "cells is not in the __all__ of minflow.thesis.pipeline" in breaks[0]
    assert "the floor as a module" in breaks[3]
