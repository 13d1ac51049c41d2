"""No module of minflow assigns another module's names, and importing one registers nothing (issue 26).

Read with ``ast``, like tests/test_layout.py: an assignment ``module.name = ...`` (or ``setattr(module,
...)``, ``del module.name``) to a module the file imported is refused anywhere in the file; a call
at the top level of a module (run at import) only where listed below, with its reason; a decorator
whose name says it registers is refused. Which code runs is handed over as values instead
(``engine.install`` in the package face; the grader's stand-ins through ``minflow/replaceable.py``).
"""
import ast
import importlib.util
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "minflow"

TOP_LEVEL_CALLS = {  # (file, the call's function) -> why it may run at import
    ("__init__.py", "engine.install"): "the package face hands the engines to engine.py, once (ARCHITECTURE.md)",
    ("speed/primitives.py", "defvjp_argnums"): "autograd's VJP of this module's own primitive",
}
ASSIGNS = {  # (file, "module.name") -> why it may assign another module's name
    ("thesis/cli.py", "warnings.showwarning"): "the documented hook, inside warnings.catch_warnings(), which restores it",
}


def _is_module(package, name):
    """Whether ``from package import name`` binds a module, told by the files (nothing is imported)."""
    if package == "minflow" or package.startswith("minflow."):
        folder = PACKAGE.joinpath(*package.split(".")[1:])
    else:
        top, *rest = package.split(".")
        try:
            spec = importlib.util.find_spec(top)  # a top-level name: found without importing it
        except (ImportError, ValueError):
            return False
        if spec is None or not spec.submodule_search_locations:
            return False
        folder = Path(list(spec.submodule_search_locations)[0]).joinpath(*rest)
    return (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file() or any(
        folder.glob(f"{name}.*.so"))


def _module_names(tree, rel):
    """The names a file binds to modules: ``import a.b as c``, ``from . import engine``, ..."""
    package = ".".join(("minflow", *Path(rel).parent.parts))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            for a in node.names:
                if _is_module(base, a.name):
                    names.add(a.asname or a.name)
    return names


def _problems(rel, source):
    tree = ast.parse(source)
    modules, found = _module_names(tree, rel), []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "setattr" and node.args:
            targets = [ast.Attribute(value=node.args[0], attr="?")]
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in modules:
                name = f"{t.value.id}.{t.attr}"
                if (rel, name) not in ASSIGNS:
                    found.append(f"{rel}:{node.lineno}: assigns {name}, a name of another module")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for d in node.decorator_list:
                if "regist" in ast.unparse(d).lower():
                    found.append(f"{rel}:{d.lineno}: @{ast.unparse(d)} registers at import")
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            fn = ast.unparse(node.value.func)
            if (rel, fn) not in TOP_LEVEL_CALLS:
                found.append(f"{rel}:{node.lineno}: calls {fn}(...) at import")
    return found


def test_no_module_assigns_another_modules_names_or_registers_at_import():
    found = [p for path in sorted(PACKAGE.rglob("*.py"))
             for p in _problems(path.relative_to(PACKAGE).as_posix(), path.read_text())]
    assert not found, "\n".join(found)


def test_the_rule_catches_a_patch_and_a_registration():
    patch = "from ..bijectors import coupling\n\ndef f():\n    coupling.mlp = None\n"
    register = "from .. import engine\nengine.install({}, default='x')\n"
    decorator = "from ..engine import register\n\n@register('fast')\ndef f():\n    pass\n"
    assert _problems("thesis/x.py", patch) == ["thesis/x.py:4: assigns coupling.mlp, a name of another module"]
    assert _problems("thesis/x.py", register) == ["thesis/x.py:2: calls engine.install(...) at import"]
    assert _problems("thesis/x.py", decorator) == ["thesis/x.py:3: @register('fast') registers at import"]
