"""The sandbox stands in for TGA, so it must not reuse the services it is tested against: no module of the
package (or of its tests) imports a service package, and the package does not depend on one."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
SERVICE_PACKAGES = frozenset(
    {
        "skillstream_tga_ingest",
        "skillstream_media_downloader",
        "skillstream_orchestrator",
        "skillstream_gateway",
        "skillstream_administrate_sync",
        "skillstream_training",
    }
)


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, module)`` of every ``import``/``from … import`` and every ``importlib.import_module("…")`` or
    ``__import__("…")`` with a literal name (an import by string escapes a plain ``import`` check)."""
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


def _service_imports(folder: Path) -> list[str]:
    offending = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in _imported(tree):
            if module.split(".", 1)[0] in SERVICE_PACKAGES:
                offending.append(f"{path.relative_to(PACKAGE_ROOT)}:{line} imports {module}")
    return offending


def test_the_checker_sees_every_import_form() -> None:
    source = "import a.b\nfrom c.d import e\nimport importlib\nimportlib.import_module('f.g')\n__import__('h')\n"
    assert [module for _, module in _imported(ast.parse(source))] == ["a.b", "c.d", "importlib", "f.g", "h"]


def test_no_source_module_imports_a_service_package() -> None:
    modules = list((PACKAGE_ROOT / "src").rglob("*.py"))
    assert len(modules) > 10  # the package is really there
    assert _service_imports(PACKAGE_ROOT / "src") == []


def test_no_test_module_imports_a_service_package() -> None:
    assert _service_imports(PACKAGE_ROOT / "tests") == []


def test_the_package_does_not_depend_on_a_service() -> None:
    project = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    distributions = {
        dependency.split(">")[0].split("=")[0].split("[")[0].strip() for dependency in project["dependencies"]
    }
    assert "lxml" in {d.lower() for d in distributions}
    assert {d.replace("-", "_") for d in distributions} & SERVICE_PACKAGES == set()
