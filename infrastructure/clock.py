"""The wall clock, wired by `infrastructure.bootstrap` into whatever needs a `domain.clock.Clock`."""

from __future__ import annotations

from datetime import UTC, datetime


def system_clock() -> datetime:
    return datetime.now(UTC)
