"""The layering: the core runs without Flask or a database, and gantong has no import cycle."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import grimp
import pytest

import gantong.core

# Pure: no app, no database; run once, on the SQLite pass.
pytestmark = pytest.mark.nodb

CORE = pathlib.Path(gantong.core.__file__).parent


def test_every_core_module_imports_without_flask_or_sqlalchemy():
    modules = sorted(
        f"gantong.core.{path.stem}" for path in CORE.glob("*.py") if path.stem != "__init__"
    )
    assert {
        "gantong.core.rules",
        "gantong.core.tokens",
        "gantong.core.identity",
        "gantong.core.divisions",
        "gantong.core.charts",
        "gantong.core.qr",
    } <= set(modules)
    # A meta-path finder that refuses the web and database packages: importing any of them fails.
    script = f"""
import importlib, importlib.abc, sys
BLOCKED = ("flask", "flask_sqlalchemy", "sqlalchemy")
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked: " + name)
        return None
sys.meta_path.insert(0, Refuse())
for name in {modules!r}:
    importlib.import_module(name)
try:
    import flask  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("flask was importable: the block does not work")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED or
                (m.startswith("gantong") and not m.startswith("gantong.core") and m != "gantong"))
print("loaded:", loaded)
assert not loaded, loaded
# Each module does its work too: a colour, a token, a QR.
from gantong.core import divisions, qr
assert divisions.display_name("360102", "zh")
assert qr.svg("HC1:TEST").startswith("<svg")
"""
    # `import gantong.core` runs gantong/__init__.py (the app factory imports Flask there), so
    # the subprocess loads the core package from its folder alone, as its own top-level package.
    prelude = f"""
import importlib.util, sys, types
package = types.ModuleType("gantong"); package.__path__ = [{str(CORE.parent)!r}]
sys.modules["gantong"] = package
"""
    result = subprocess.run(
        [sys.executable, "-c", prelude + script], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "loaded: []" in result.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_no_import_cycle_among_gantong_modules():
    graph = grimp.build_graph("gantong", cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert _cycles(graph) == [["a.x", "a.y"]]
