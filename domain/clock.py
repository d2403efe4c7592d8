"""The one source of "now". Domain and application code never read the wall clock themselves: they are
given a `Clock` (the composition root passes `infrastructure.clock.system_clock`; tests and the demo
seeder pass fixed or shifted clocks), so every rule about time can be tested at any instant."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...
