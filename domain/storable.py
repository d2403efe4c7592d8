"""What an event may carry: the last guard before the event store (CONTRACT.md "Robustness").

The HTTP layer validates every field first, with field-specific limits and messages; this guard
catches whatever a command would still record that a read model cannot hold: a NUL byte (PostgreSQL
text refuses it), a string longer than any read model stores, a number that is not finite or not
exact in a 64-bit column. A command that meets one refuses with 400 and records nothing."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from domain.errors import Invalid

MAX_STORED_TEXT = 20_000  # characters in one string of an event (the longest HTTP field is shorter)
MAX_STORED_INT = 2**63 - 1  # BIGINT columns
MAX_STORED_FLOAT = 2.0**53  # beyond it a float is not an exact integer in JSON clients
MAX_DEPTH = 12
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp"})


def problems(value: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    """`(field path, message)` for each part of `value` that an event must not carry."""
    if depth > MAX_DEPTH:
        yield path, "is nested too deeply"
    elif isinstance(value, str):
        if "\x00" in value:
            yield path, "must not contain NUL characters"
        elif len(value) > MAX_STORED_TEXT:
            yield path, f"must be at most {MAX_STORED_TEXT} characters"
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > MAX_STORED_INT:
            yield path, "is out of range"
    elif isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_STORED_FLOAT:
            yield path, "is out of range"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from problems(key, path, depth + 1)
            yield from problems(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from problems(item, path, depth + 1)


def event_problems(event: Any) -> list[tuple[str, str]]:
    """An attribute holding a dict (`fields`, `changes`, `profile`) holds what the request sent:
    its keys are reported as they were sent (`title`, not `fields.title`)."""
    found: list[tuple[str, str]] = []
    for name, value in vars(event).items():
        if name not in ENVELOPE:
            found.extend(problems(value, "" if isinstance(value, dict) else name, 1))
    return found


def check_events(events: Iterable[Any]) -> None:
    """Raise `Invalid` (400, the contract's envelope) when any event carries an unstorable value."""
    found: list[dict[str, str]] = []
    for event in events:
        for field, message in event_problems(event):
            entry = {"field": field, "message": f'"{field or "value"}" {message}'}
            if entry not in found:
                found.append(entry)
    if found:
        raise Invalid("Validation failed", found)
