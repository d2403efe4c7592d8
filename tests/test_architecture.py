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


# -- issue 13: the rules of the layout -----------------------------------------------------------

SERVICE = ("domain", "application", "infrastructure", "reporting", "interfaces")


def test_domain_imports_nothing_from_application_or_infrastructure():
    assert [v for v in violations("domain", {"domain"}) if " imports application" in v or " imports infra" in v] == []


# Wall-clock reads: whoever needs "now" is given a `domain.clock.Clock` (the system clock is wired by
# infrastructure/bootstrap.py). Issue 13: the two services being split still default to the wall clock
# themselves; this list may only shrink (a stale entry fails below).
WALL_CLOCK_ALLOWED = {
    "application/bookings.py",  # the facade's default clock when none is passed (tests, demo)
    "application/money/context.py",  # the same default of the money use cases
}
# The ObjectId's leading four bytes are its creation second, as MongoDB's are: id entropy (like
# os.urandom beside it), not a business rule about time. Exempt in this one function only.
WALL_CLOCK_EXEMPT_FUNCTIONS = {("domain/ids.py", "new_object_id")}
WALL_CLOCK_CALLS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}


def wall_clock_calls(source: str) -> list[tuple[int, str, str | None]]:
    """(line, call, enclosing function) of each wall-clock read: `time.time()`, `datetime.now()`,
    `datetime.datetime.utcnow()`, `date.today()`, and `time()` / `time_ns()` imported from `time`."""
    tree = ast.parse(source)
    from_time = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "time"
        for alias in node.names
        if alias.name in ("time", "time_ns")
    }
    found: list[tuple[int, str, str | None]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Call):
                call = child.func
                if isinstance(call, ast.Attribute):
                    owner = call.value
                    owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
                    if (owner_name, call.attr) in WALL_CLOCK_CALLS:
                        found.append((child.lineno, f"{owner_name}.{call.attr}()", function))
                elif isinstance(call, ast.Name) and call.id in from_time:
                    found.append((child.lineno, f"{call.id}()", function))
            visit(child, inner)

    visit(tree, None)
    return found


def test_no_wall_clock_in_domain_or_application():
    offenders, still_needed = [], set()
    for top in ("domain", "application"):
        for path in sources(top):
            relative = path.relative_to(ROOT).as_posix()
            for line, call, function in wall_clock_calls(path.read_text()):
                if (relative, function) in WALL_CLOCK_EXEMPT_FUNCTIONS:
                    continue
                if relative in WALL_CLOCK_ALLOWED:
                    still_needed.add(relative)
                    continue
                offenders.append(f"{relative}:{line} {call}")
    assert offenders == []
    assert still_needed == WALL_CLOCK_ALLOWED, "remove the entries that no longer read the wall clock"


def test_the_wall_clock_scanner_sees_every_spelling():
    source = """
import time, datetime as dt
from datetime import date, datetime
from time import time as now_seconds
def f():
    return time.time(), datetime.now(), dt.datetime.utcnow(), date.today(), now_seconds(), time.sleep(1)
"""
    calls = [call for _, call, _ in wall_clock_calls(source)]
    assert calls == ["time.time()", "datetime.now()", "datetime.utcnow()", "date.today()", "now_seconds()"]
    assert {function for _, _, function in wall_clock_calls(source)} == {"f"}


HTTP_MODULES = ("fastapi", "starlette", "http", "werkzeug", "aiohttp")


def test_no_http_status_in_domain_or_application():
    """Errors are kinds; interfaces/http/errors.py alone maps them to codes."""
    offenders = []
    for top in ("domain", "application"):
        for path in sources(top):
            relative = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text())
            for line, name in imported_modules(path.read_text(), *module_name(path)):
                if name.split(".")[0] in HTTP_MODULES or name.endswith(("HTTPException", "HTTPStatus")):
                    offenders.append(f"{relative}:{line} imports {name}")
            for node in ast.walk(tree):
                targets: list[ast.expr] = []
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, ast.AnnAssign) and node.value is not None:
                    targets, value = [node.target], node.value
                else:
                    continue
                named_status = any(
                    (isinstance(t, ast.Name) and t.id in ("status", "status_code", "http_status"))
                    or (isinstance(t, ast.Attribute) and t.attr in ("status", "status_code", "http_status"))
                    for t in targets
                )
                is_code = isinstance(value, ast.Constant) and type(value.value) is int and 100 <= value.value <= 599
                if named_status and is_code:
                    offenders.append(f"{relative}:{node.lineno} sets an HTTP status")
    assert offenders == []


def _error_kinds() -> list[type]:
    import importlib

    from domain.errors import DomainError

    for top in ("domain", "application"):
        for path in sources(top):
            importlib.import_module(module_name(path)[0])
    kinds, pending = [], [DomainError]
    while pending:
        kind = pending.pop()
        kinds.append(kind)
        pending += kind.__subclasses__()
    return kinds


def test_every_error_kind_has_a_status_and_carries_none():
    from domain.errors import DomainError
    from interfaces.http.errors import STATUS_OF_ERROR

    for kind in _error_kinds():
        if not kind.__module__.startswith(("domain.", "application.")):
            continue  # a test's own subclass
        for attribute in ("status", "status_code", "http_status"):
            assert not isinstance(getattr(kind, attribute, None), int), f"{kind.__qualname__}.{attribute}"
        # every kind but the base is listed, or is a subclass of a listed kind other than the base
        nearest = next(k for k in kind.__mro__ if k in STATUS_OF_ERROR)
        assert nearest is not DomainError or kind is DomainError, f"{kind.__qualname__} has no status of its own"
        assert 400 <= STATUS_OF_ERROR[nearest] <= 599


def test_the_status_table_keeps_the_contract_codes():
    from application.marketplace import KeyTaken
    from application.ports import ChangeNotApplied
    from domain.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound, TooManyRequests, Unavailable
    from domain.money import AmountRefused
    from domain.video import NotConfigured, UpstreamFailed
    from interfaces.http.errors import status_of

    assert [
        status_of(e)
        for e in (
            Invalid("x"),
            AmountRefused("amount", "x", "greater_than"),
            NotAuthenticated("x"),
            Forbidden("x"),
            NotFound("x"),
            Conflict("x"),
            KeyTaken("email"),
            TooManyRequests("x"),
            ChangeNotApplied(1, "x"),
            UpstreamFailed("x"),
            Unavailable("x"),
            NotConfigured("x"),
        )
    ] == [400, 400, 401, 403, 404, 409, 409, 429, 500, 502, 503, 503]


MAX_LINES = 400
# Issue 13: the modules over the limit today. The list may only shrink: an entry that is no longer
# over the limit fails the test, so it is removed when its module is split.
OVERSIZED: set[str] = set()


def test_no_module_over_the_size_limit():
    """Generated files (alembic/versions) are outside the service's packages and not counted."""
    over = {
        path.relative_to(ROOT).as_posix()
        for top in SERVICE
        for path in sources(top)
        if len(path.read_text().splitlines()) > MAX_LINES
    }
    assert over - OVERSIZED == set(), "split the module (STYLE.md: a file over ~400 lines is usually two)"
    assert OVERSIZED - over == set(), "no longer over the limit: remove it from OVERSIZED"


def test_the_module_map_is_drawn_from_the_code():
    from tests import module_map

    listed = {line.split("`")[1] for line in module_map.documented().splitlines() if line.startswith("- `")}
    assert listed == {path.as_posix() for path in module_map.modules()}, "run `python -m tests.module_map --write`"
    assert module_map.documented() == module_map.render(), "run `python -m tests.module_map --write`"
