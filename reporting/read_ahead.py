"""The batches of a catch-up, read and checked ahead of the batch being applied, in a pipeline of three
stages: a reading thread (the notification log, psycopg), a checking thread (reporting/direct.py `prepare`:
DuckDB parses and extracts the states that can go the direct way) and the caller, which applies them.

One thread doing both the read and the check was the critical path of a long catch-up (measured on 1 M
events: 8.5 s reading plus 15 s checking, against 19.5 s applying, the applying thread idle 5.8 s waiting),
while most of the check runs in DuckDB without the interpreter lock. With a thread per stage the read of
batch N+2, the check of N+1 and the application of N overlap. Each hand-over holds at most one batch, so at
most five batches are alive at once, and the checking thread works on at most one batch beyond the one
waiting for the caller: `Direct`'s three scratch slots are never reused while a batch still reads its own.

Only a full first batch starts the threads (a catch-up that finds the log's end in one read, the steady
state, runs none). A stage's error reaches the caller in place of the batch; closing the iterator (the end
of the log, or an error of the caller's) stops both threads before it returns."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Any

from reporting.direct import Direct
from reporting.projection import TOPICS

Read = Callable[[int, int], list[Any]]
_END = object()  # after the short batch that ended the log


def batches(read: Read, direct: Direct | None, start: int, limit: int) -> Generator[list[Any], None, None]:
    """The log's batches of `limit` notifications from `start` up to and including the first short one."""
    first = read(start, limit)
    yield first
    if len(first) < limit:
        return
    pipeline = _Pipeline(read, direct, first[-1].id + 1, limit)
    try:
        yield from pipeline
    finally:
        pipeline.close()


class _Pipeline:
    def __init__(self, read: Read, direct: Direct | None, start: int, limit: int):
        self._read, self._direct, self._limit = read, direct, limit
        self._read_out: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._checked_out: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._reading, args=(start,), name="reporting-read", daemon=True),
            threading.Thread(target=self._checking, name="reporting-check", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def __iter__(self) -> Iterator[list[Any]]:
        while True:
            item = self._checked_out.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            while thread.is_alive():  # (a stage blocked on a full hand-over: take it, so that it sees the stop)
                for handed in (self._read_out, self._checked_out):
                    try:
                        handed.get_nowait()
                    except queue.Empty:
                        pass
                thread.join(0.01)

    def _put(self, handed: queue.Queue[Any], item: Any) -> bool:
        """Hand `item` on; False if the pipeline was stopped meanwhile."""
        while not self._stop.is_set():
            try:
                handed.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _reading(self, start: int) -> None:
        try:
            while not self._stop.is_set():
                notifications = self._read(start, self._limit)
                if not self._put(self._read_out, notifications) or len(notifications) < self._limit:
                    break
                start = notifications[-1].id + 1
        except BaseException as error:  # the caller raises it in its own thread
            self._put(self._read_out, error)
        self._put(self._read_out, _END)

    def _checking(self) -> None:
        direct = self._direct
        while not self._stop.is_set():
            try:
                item = self._read_out.get(timeout=0.05)
            except queue.Empty:
                continue
            if direct is not None and isinstance(item, list):
                direct.prepare([n for n in item if n.topic in TOPICS])
            if not self._put(self._checked_out, item) or item is _END or isinstance(item, BaseException):
                return
