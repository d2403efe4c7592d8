"""The module map of `docs/ARCHITECTURE.md`, drawn from the code: one line per module of the service's
packages, its path and the first sentence of its docstring. `python -m tests.module_map` prints it;
`python -m tests.module_map --write` replaces the map in the document. `tests/test_architecture.py`
fails when the document's map differs from the code's, so the map cannot drift."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "application", "infrastructure", "reporting", "interfaces")  # inside out
DOCUMENT = ROOT / "docs" / "ARCHITECTURE.md"
LIMIT = 160
START, END = "<!-- module-map:start (python -m tests.module_map --write) -->", "<!-- module-map:end -->"


def modules() -> list[Path]:
    return [
        path.relative_to(ROOT)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    ]


def summary(path: Path) -> str:
    """The first sentence of the module's docstring (a package without one says so)."""
    doc = ast.get_docstring(ast.parse((ROOT / path).read_text())) or ""
    paragraph = " ".join(doc.split("\n\n", 1)[0].split())
    if not paragraph:
        return "(package)" if path.name == "__init__.py" else "(no docstring)"
    sentence = re.split(r"(?<=[.!?])\s", paragraph, maxsplit=1)[0]
    return sentence if len(sentence) <= LIMIT else sentence[: LIMIT - 1].rstrip() + "…"


def render() -> str:
    lines = []
    package = None
    for path in modules():
        if path.parts[0] != package:
            package = path.parts[0]
            lines += ["", f"### `{package}/`", ""]
        lines.append(f"- `{path.as_posix()}`: {summary(path)}")
    return "\n".join(lines).strip("\n")


def documented() -> str:
    text = DOCUMENT.read_text()
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def write() -> None:
    text = DOCUMENT.read_text()
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    DOCUMENT.write_text(f"{before}{START}\n{render()}\n{END}{after}")


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write()
    else:
        print(render())
