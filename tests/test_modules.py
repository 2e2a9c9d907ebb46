"""The package's shape: no import cycles, no module over 800 lines, no module using
another's private names, and the public functions egoexo_sql.build/demo without any
module's class replaced.

The import graph is read from the source with ast: an edge A -> B for every
``import B`` / ``from B import name`` in A, wherever it is: a function's deferred import
counts, and so does one under ``if TYPE_CHECKING:`` (a module that names another's class
in its types depends on it; a circle hidden that way is still a circle: type the
parameter with a Protocol instead, see egoexo_sql/catalog_protocol.py). ``from P import
x`` is an edge to the module ``P.x`` when there is one, else to ``P``; importing ``P.x``
runs ``P/__init__.py`` first, but that is Python's doing, not an edge.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
import types
from pathlib import Path

import egoexo_sql

PACKAGE = Path(egoexo_sql.__file__).resolve().parent
MAX_LINES = 800


def _modules() -> dict[str, tuple[Path | None, bool]]:
    """module name -> (source file, is a package); extension modules have no source."""
    mods: dict[str, tuple[Path | None, bool]] = {}
    for f in PACKAGE.rglob("*.py"):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts.pop()
        mods[".".join(parts)] = (f, is_pkg)
    for f in PACKAGE.rglob("*.c"):  # a native extension, compiled or not
        mods.setdefault(".".join(f.relative_to(PACKAGE.parent).with_suffix("").parts), (None, False))
    return mods


MODULES = _modules()


def _base(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_pkg else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _imports(module: str, source: str | None = None) -> list[tuple[ast.stmt, str, str | None, str | None]]:
    """(node, module imported from, name imported or None, bound as) of every import of
    ``module`` (its file, or ``source``), deferred and TYPE_CHECKING ones included."""
    f, is_pkg = MODULES[module]
    out: list[tuple[ast.stmt, str, str | None, str | None]] = []
    text = source if source is not None else f.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for a in node.names:
                out.append((node, a.name, None, a.asname))
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, is_pkg, node)
            for a in node.names:
                out.append((node, base, a.name, a.asname or a.name))
    return out


def import_graph(sources: dict[str, str] | None = None) -> dict[str, set[str]]:
    """module -> the package's modules it imports; ``sources`` replaces some modules'
    text (the checker's self-test)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, (f, _) in MODULES.items():
        if f is None:
            continue
        for _node, base, name, _as in _imports(m, (sources or {}).get(m)):
            if name is not None and f"{base}.{name}" in MODULES:
                graph[m].add(f"{base}.{name}")
            elif base in MODULES:
                graph[m].add(base)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _may_use_private_module(importer: str, private_module: str) -> bool:
    """A private module (``tables/_common.py``) is for the modules of its own package."""
    parent = private_module.rpartition(".")[0]
    return importer == parent or importer.startswith(parent + ".")


def private_uses() -> list[str]:
    """Where a module imports another module's private name, or reads one through a
    module it imported (``mod._name``)."""
    problems = []
    for m, (f, _) in sorted(MODULES.items()):
        if f is None:
            continue
        bound: dict[str, str] = {}  # local name -> the egoexo_sql module it is
        for node, base, name, asname in _imports(m):
            where = f"{f.relative_to(PACKAGE.parent)}:{node.lineno}"
            if name is None:  # import a.b.c [as x]
                private_parts = [p for p in base.split(".") if _private(p)]
                if base in MODULES and asname:
                    bound[asname] = base
                if private_parts and not _may_use_private_module(m, base):
                    problems.append(f"{where}: import {base}")
                continue
            target = f"{base}.{name}"
            if target in MODULES:  # a module
                bound[asname] = target
                if _private(name) and not _may_use_private_module(m, target):
                    problems.append(f"{where}: from {base} import {name}")
            elif _private(name):
                problems.append(f"{where}: from {base} import {name}")
            if (
                any(_private(p) for p in base.split("."))
                and base in MODULES
                and not _may_use_private_module(m, base)
            ):
                problems.append(f"{where}: from {base} import {name}")
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and _private(node.attr)
                and f"{bound[node.value.id]}.{node.attr}" not in MODULES
            ):
                problems.append(
                    f"{f.relative_to(PACKAGE.parent)}:{node.lineno}: "
                    f"{node.value.id}.{node.attr} ({bound[node.value.id]})"
                )
    return problems


# --------------------------------------------------------------------------- the tests
def test_the_checker_sees_imports_and_cycles():
    """The graph holds known edges (deferred, TYPE_CHECKING and ``from . import x``
    imports included), and the cycle finder finds a cycle when there is one, also one
    closed by a deferred import on one side and a TYPE_CHECKING import on the other."""
    g = import_graph()
    assert "egoexo_sql.builder.pipeline" in g["egoexo_sql"]  # deferred, inside build()
    assert "egoexo_sql.builder.scan" in g["egoexo_sql.builder.pipeline"]
    assert "egoexo_sql.builder.report" in g["egoexo_sql.builder.views"]  # TYPE_CHECKING only
    assert "egoexo_sql.sandbox" in g["egoexo_sql.catalog"]  # from . import sandbox as _sandbox
    assert "egoexo_sql._posecols" in g["egoexo_sql.tables.ego_pose"]  # the native extension
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    # the shape the catalog once had: a method's deferred import of a module whose
    # functions named the class under TYPE_CHECKING
    circle = {
        "egoexo_sql.catalog": "def takes(self):\n    from .select import takes\n",
        "egoexo_sql.select": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .catalog import Catalog\n",
    }
    assert ["egoexo_sql.catalog", "egoexo_sql.select"] in cycles(import_graph(circle))
    # and a package's module importing a sibling with ``from . import x``
    circle = {
        "egoexo_sql.demo.planted": "from . import transcript_files\n",
        "egoexo_sql.demo.transcript_files": "def f():\n    from . import planted\n",
    }
    assert ["egoexo_sql.demo.planted", "egoexo_sql.demo.transcript_files"] in cycles(import_graph(circle))


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_module_over_800_lines():
    long = {
        str(f.relative_to(PACKAGE.parent)): n
        for m, (f, _) in MODULES.items()
        if f is not None
        if (n := len(f.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them by concern): {long}"


def test_no_module_uses_another_modules_private_names():
    problems = private_uses()
    assert not problems, "private names used across modules:\n" + "\n".join(problems)


def test_build_and_demo_are_functions_and_every_module_is_a_plain_module():
    """egoexo_sql.build(...) and egoexo_sql.demo(...) are functions, also after every
    module of the package was imported; the subpackages of the same names stay
    importable; no module had its class replaced."""
    for info in pkgutil.walk_packages(egoexo_sql.__path__, "egoexo_sql."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    assert isinstance(egoexo_sql.build, types.FunctionType)
    assert isinstance(egoexo_sql.demo, types.FunctionType)
    from egoexo_sql.builder import build_catalog
    from egoexo_sql.demo import generate

    assert callable(build_catalog) and callable(generate)
    odd = [
        name
        for name, mod in sys.modules.items()
        if name.split(".")[0] == "egoexo_sql" and mod is not None and type(mod) is not types.ModuleType
    ]
    assert not odd, f"modules whose class is not ModuleType: {odd}"


def test_no_package_folder_has_a_name_linters_exclude():
    """ruff, black, the standard Python .gitignore and code-structure tools skip folders
    named build, dist, venv, ... by default: the package must hold none, or the code in
    it silently goes unchecked."""
    excluded = {
        "build",
        "dist",
        "_build",
        "venv",
        ".venv",
        "node_modules",
        "site-packages",
        "buck-out",
        "__pypackages__",
        ".eggs",
        ".tox",
        ".nox",
    }
    found = [
        str(d.relative_to(PACKAGE.parent)) for d in PACKAGE.rglob("*") if d.is_dir() and d.name in excluded
    ]
    assert not found, f"package folders that linters exclude by default: {found}"
