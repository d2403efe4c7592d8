"""The dependency rule of ARCHITECTURE.md, checked on the source with `ast`: dependencies point inwards.

- `domain` imports nothing of ours;
- `application` imports only `domain` (and itself);
- `infrastructure` and `reporting` never import `interfaces`;
- nothing imports `interfaces` except `interfaces` itself (tests, which drive the app, aside)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAYERS = ("domain", "application", "infrastructure", "reporting", "interfaces")
OURS = frozenset(LAYERS)
ALLOWED = {
    "domain": {"domain"},
    "application": {"application", "domain"},
    "infrastructure": {"infrastructure", "application", "domain"},
    "reporting": {"reporting", "infrastructure", "application", "domain"},
    "interfaces": set(LAYERS),
    "alembic": {"infrastructure", "domain"},
}


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import in `source`, at any depth (functions included)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the importing package
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # `from interfaces import http` imports interfaces.http
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names if alias.name != "*"]
    return found


def sources(top: str) -> list[Path]:
    return sorted(path for path in (ROOT / top).rglob("*.py") if "__pycache__" not in path.parts)


def module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def violations(top: str, allowed: set[str]) -> list[str]:
    out = []
    for path in sources(top):
        module, is_package = module_name(path)
        for line, name in imported_modules(path.read_text(), module, is_package):
            root = name.split(".")[0]
            if root in OURS and root not in allowed:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return out


@pytest.mark.parametrize("layer", ["domain", "application", "infrastructure", "reporting", "alembic"])
def test_dependencies_point_inwards(layer):
    assert violations(layer, ALLOWED[layer]) == []


def test_nothing_outside_interfaces_imports_interfaces():
    offenders = []
    for path in sorted(ROOT.glob("**/*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in ("interfaces", "tests", ".venv", "build") or relative.parts[0].startswith("."):
            continue
        module, is_package = module_name(path)
        offenders += [
            f"{relative}:{line} imports {name}"
            for line, name in imported_modules(path.read_text(), module, is_package)
            if name.split(".")[0] == "interfaces"
        ]
    assert offenders == []


def test_the_layers_exist_and_the_scanner_sees_their_imports():
    for layer in ("domain", "application", "infrastructure", "interfaces"):
        assert sources(layer), layer
    # the outer layers do use the inner ones, so an empty scan would be a broken scanner
    seen = {
        name.split(".")[0]
        for path in sources("interfaces")
        for _, name in imported_modules(path.read_text(), *module_name(path))
    }
    assert {"domain", "infrastructure", "interfaces"} <= seen


def test_the_scanner_catches_every_form_of_import():
    source = """
import interfaces.http.app
from interfaces.http import deps
from . import sibling
from ..ports import Port
def late():
    from infrastructure.settings import Settings
"""
    found = {name for _, name in imported_modules(source, "application.sub.module", False)}
    assert {
        "interfaces.http.app",
        "interfaces.http",
        "interfaces.http.deps",
        "application.sub.sibling",
        "application.ports",
        "application.ports.Port",
        "infrastructure.settings",
    } <= found


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_third_party_import_of_the_service_is_a_runtime_dependency():
    """`pip install .` (the README's run command) installs no test extras: whatever the service's
    packages import must come with a declared dependency (directly or as one of its requirements)."""
    declared = {
        _requirement_name(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    installed: set[str] = set()
    todo = [
        *declared,
        "websockets",
        "httptools",
        "uvloop",
        "watchfiles",
        "python-dotenv",
        "pyyaml",
    ]  # uvicorn[standard]
    while todo:  # what `pip install .` brings: the declared dependencies and, transitively, theirs
        name = todo.pop()
        if name in installed:
            continue
        installed.add(name)
        try:
            todo += [_requirement_name(r) for r in (metadata.requires(name) or []) if "extra ==" not in r]
        except metadata.PackageNotFoundError:
            pass
    providers = metadata.packages_distributions()
    missing = []
    for top in ("domain", "application", "infrastructure", "reporting", "interfaces"):
        for path in sources(top):
            for line, name in imported_modules(path.read_text(), *module_name(path)):
                root = name.split(".")[0]
                if root in OURS or root in sys.stdlib_module_names or root == "__future__" or root not in providers:
                    continue
                if not {_requirement_name(d) for d in providers[root]} & installed:
                    missing.append(f"{path.relative_to(ROOT)}:{line} imports {root} ({providers[root]})")
    assert missing == []
