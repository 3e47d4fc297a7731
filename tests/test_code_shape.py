"""The size rules of the code base, checked on every run: modules under 400 lines and functions under 80
lines in ``libs``, ``services`` and ``deploy`` (tests excepted), so a reader can hold each one in mind."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _sources() -> list[Path]:
    roots = [p for pattern in ("libs/*/src", "services/*/src", "deploy/*/src") for p in ROOT.glob(pattern)]
    return sorted(f for root in roots for f in root.rglob("*.py"))


def test_the_sources_are_found() -> None:
    names = {f.name for f in _sources()}
    assert {"eventstore.py", "decider.py", "bootstrap.py"} <= names


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(f.relative_to(ROOT)): n for f in _sources() if (n := len(f.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_is_over_80_lines() -> None:
    long = {}
    for f in _sources():
        for node in ast.walk(ast.parse(f.read_text(), filename=str(f))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{f.relative_to(ROOT)}:{node.lineno} {node.name}"] = n
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
