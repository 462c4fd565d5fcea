"""One owner for every transaction: gantong/unit_of_work.py commits (the request's edge, a
command's end); no other module of gantong commits, rolls back, or handles SQLite's write lock."""

from __future__ import annotations

import ast
import pathlib

import pytest

import gantong

pytestmark = pytest.mark.nodb

PACKAGE = pathlib.Path(gantong.__file__).parent
OWNER = PACKAGE / "unit_of_work.py"
ENDS_A_TRANSACTION = {"commit", "rollback"}
LOCK_HANDLING = {"writing", "reads_first", "commit_keeping_loaded", "begin_statement"}


def _modules() -> list[pathlib.Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if path != OWNER)


def _offences(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                f"imports {alias.name}"
                for alias in node.names
                if alias.name == "gantong.transactions"
            ]
        elif isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            if node.module == "gantong.transactions" or (
                node.module == "gantong" and "transactions" in names
            ):
                found.append("imports gantong.transactions")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ENDS_A_TRANSACTION | LOCK_HANDLING:
                found.append(f"calls .{node.func.attr}()")
        elif isinstance(node, ast.Attribute) and node.attr in LOCK_HANDLING:
            found.append(f"uses .{node.attr}")
    return [f"{path}:{offence}" for offence in found]


def test_the_old_write_lock_module_is_gone():
    assert not (PACKAGE / "transactions.py").exists()


def test_no_module_but_the_unit_of_work_commits_rolls_back_or_takes_the_write_lock():
    offences = [offence for path in _modules() for offence in _offences(path)]
    assert offences == []


@pytest.mark.parametrize(
    "source",
    [
        "from gantong import transactions\n",
        "import gantong.transactions\n",
        "from gantong.extensions import db\ndb.session.commit()\n",
        "def undo(session):\n    session.rollback()\n",
        "def lock():\n    transactions.writing(keep_loaded=True)\n",
    ],
)
def test_the_check_finds_each_kind_of_offence(tmp_path, source):
    module = tmp_path / "gantong" / "holders" / "offending.py"
    module.parent.mkdir(parents=True)
    module.write_text(source, encoding="utf-8")
    assert _offences(module) != []


def test_a_service_takes_no_commit_flag():
    flags = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                arguments = node.args.args + node.args.kwonlyargs
                flags += [
                    f"{path.name}:{node.name}" for argument in arguments if argument.arg == "commit"
                ]
    assert flags == []
