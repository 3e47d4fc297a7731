"""Who may import whom, read from the source with ``ast`` (nothing is imported or run).

- A service (``services/*/src``) never imports the developer stack, the test support or another service:
  what it needs to run, or to offer an operator command, is in the runtime; other contexts are reached
  through the contracts.
- The runtime never imports the developer stack, the test support or a service.
- A sandbox upstream (``deploy/*/src``) never imports a service (it stands in for what services talk to)
  nor the developer stack, which depends on the gateway: a sandbox needs nothing but the runtime. Its tests
  do not import a service either, and its package does not depend on one, so a sandbox is never checked
  against the code it is meant to test.
- The contracts import nothing of the system but themselves.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEVSTACK = "skillstream_devstack"
TESTING = "skillstream_testing"


def _packages(pattern: str) -> dict[str, Path]:
    """Top-level package name → its folder, for every ``<pattern>/<package>/__init__.py``."""
    return {init.parent.name: init.parent for init in sorted(ROOT.glob(f"{pattern}/*/__init__.py"))}


SERVICES = _packages("services/*/src")
SANDBOXES = _packages("deploy/*/src")
RUNTIME = _packages("libs/runtime/src")
CONTRACTS = _packages("libs/contracts/src")


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, module)`` of every absolute ``import``/``from … import`` and every ``importlib.import_module``
    or ``__import__`` call with a literal name (importing by string must not slip past the check)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def offences(packages: dict[str, Path], forbidden: set[str], root: Path = ROOT) -> list[str]:
    """``path:line imports module`` (path relative to ``root``) for every module of ``packages`` importing a
    top-level name in ``forbidden``."""
    found: list[str] = []
    for folder in packages.values():
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, module in imported(tree):
                if module.split(".", 1)[0] in forbidden:
                    found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def test_the_checker_sees_every_import_form() -> None:
    source = "import a.b\nfrom c.d import e\nfrom . import f\nimportlib.import_module('g.h')\n__import__('i')\n"
    assert [module for _, module in imported(ast.parse(source))] == ["a.b", "c.d", "g.h", "i"]


def test_every_layer_is_found() -> None:
    assert {"skillstream_gateway", "skillstream_orchestrator", "skillstream_tga_ingest"} <= set(SERVICES)
    assert {"skillstream_tga_sandbox", "skillstream_media_sandbox"} <= set(SANDBOXES)
    assert set(RUNTIME) == {"skillstream_runtime"}
    assert set(CONTRACTS) == {"skillstream_contracts"}
    assert (ROOT / "libs" / "devstack" / "src" / DEVSTACK / "__init__.py").is_file()


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_imports_no_dev_tooling_and_no_other_service(service: str) -> None:
    assert offences({service: SERVICES[service]}, {DEVSTACK, TESTING, *SERVICES} - {service}) == []


def test_the_runtime_imports_no_dev_tooling_and_no_service() -> None:
    assert offences(RUNTIME, {DEVSTACK, TESTING, *SERVICES}) == []


@pytest.mark.parametrize("sandbox", sorted(SANDBOXES))
def test_a_sandbox_imports_no_service_and_no_dev_tooling(sandbox: str) -> None:
    assert offences({sandbox: SANDBOXES[sandbox]}, {*SERVICES, DEVSTACK, TESTING}) == []


@pytest.mark.parametrize("sandbox", sorted(SANDBOXES))
def test_a_sandbox_is_tested_and_packaged_without_a_service(sandbox: str) -> None:
    project_dir = SANDBOXES[sandbox].parents[1]
    assert offences({sandbox: project_dir / "tests"}, set(SERVICES)) == []
    project = tomllib.loads((project_dir / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    distributions = {re.split(r"[\s<>=!~\[;]", d, maxsplit=1)[0].replace("-", "_") for d in project["dependencies"]}
    assert "skillstream_runtime" in distributions  # the parse reads the real dependency list
    assert distributions & set(SERVICES) == set()


def test_the_contracts_import_nothing_of_the_system() -> None:
    assert offences(CONTRACTS, {"skillstream_runtime", DEVSTACK, TESTING, *SERVICES, *SANDBOXES}) == []


def test_the_checker_finds_an_offence(tmp_path: Path) -> None:
    package = tmp_path / "skillstream_example"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "bad.py").write_text("def f():\n    from skillstream_devstack.stack import run_stack\n")
    assert offences({"skillstream_example": package}, {DEVSTACK}, root=tmp_path) == [
        "skillstream_example/bad.py:2 imports skillstream_devstack.stack"
    ]
