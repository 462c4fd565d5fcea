"""One style for the JavaScript in static/js: const/let and arrow callbacks, no `var` or
`function () {}` callbacks (named function declarations are fine)."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.nodb

JS = Path(__file__).resolve().parents[3] / "static" / "js"
VAR = re.compile(r"\bvar\s+[A-Za-z_$]")
ANONYMOUS_FUNCTION = re.compile(r"\bfunction\s*\(")


def style_problems(source):
    problems = []
    for number, line in enumerate(source.splitlines(), 1):
        if VAR.search(line):
            problems.append(f"{number}: `var` declaration: {line.strip()}")
        if ANONYMOUS_FUNCTION.search(line):
            problems.append(f"{number}: `function (` callback, use an arrow: {line.strip()}")
    return problems


def test_the_checks_catch_the_old_style():
    assert style_problems(
        "var a = 1;\nlist.forEach(function (x) {});\nx.then(async function(y) {});"
    ) == [
        "1: `var` declaration: var a = 1;",
        "2: `function (` callback, use an arrow: list.forEach(function (x) {});",
        "3: `function (` callback, use an arrow: x.then(async function(y) {});",
    ]
    assert (
        style_problems("const a = 1;\nfunction named(x) {}\nlist.forEach((x) => x);\n// a variable")
        == []
    )


@pytest.mark.parametrize("path", sorted(JS.rglob("*.js")), ids=lambda path: path.name)
def test_a_script_uses_const_let_and_arrows(path):
    assert style_problems(path.read_text(encoding="utf-8")) == []


def test_every_script_is_checked():
    assert {"clock.js", "queue.js", "scan.js", "sw.js", "print.js", "verifier.js"} <= {
        path.name for path in JS.rglob("*.js")
    }
