"""Progress of the long commands (`consult import`, `rebuild`, `report export`, `privacy
encrypt-existing`) on stderr, with their rate: a redrawn tqdm bar on a terminal; elsewhere (a log
file, a pipe, a CI job) whole lines, one every `every` seconds and one at the end, that read well
in a log instead of carriage returns."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

LINE_INTERVAL = 10.0  # seconds between two progress lines when stderr is not a terminal


class ProgressLines:
    """`desc: 120,000 of 1,222,017 events (9.8%), 14,102 events/s, 8.5 s`, every `every` seconds."""

    def __init__(
        self,
        desc: str,
        unit: str,
        total: int | None,
        out: TextIO,
        every: float = LINE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.desc, self.unit, self.total, self.out, self.every, self.clock = desc, unit, total, out, every, clock
        self.count = 0
        self.started = self.last = clock()

    def update(self, n: int) -> None:
        self.count += n
        if self.clock() - self.last >= self.every:
            self.write()

    def write(self) -> None:
        self.last = now = self.clock()
        elapsed = now - self.started
        done = f"{self.count:,}" if self.total is None else f"{self.count:,} of {self.total:,}"
        share = f" ({100 * self.count / self.total:.1f}%)" if self.total else ""
        rate = f"{self.count / elapsed:,.0f}" if elapsed > 0 else "-"
        print(f"{self.desc}: {done} {self.unit}s{share}, {rate} {self.unit}s/s, {elapsed:.1f} s", file=self.out)
        self.out.flush()


@contextmanager
def progress(
    desc: str, unit: str, total: int | None = None, out: TextIO | None = None
) -> Iterator[Callable[[int], None]]:
    """Yields the callback the long operation calls with each step's count."""
    stream = out if out is not None else sys.stderr
    if stream.isatty():
        from tqdm import tqdm

        with tqdm(total=total, unit=unit, desc=desc, file=stream, mininterval=0.5, unit_scale=True) as bar:
            yield bar.update
        return
    lines = ProgressLines(desc, unit, total, stream)
    yield lines.update
    lines.write()
