"""The catch-up's pipeline (reporting/read_ahead.py): batches read and checked ahead in two threads reach the
caller in order, a stage's error reaches the caller in place of its batch, and however the caller stops, no
thread of the pipeline outlives it; the store applies the batches as a serial read would, and keeps the cyclic
collector paused over the whole catch-up (reporting/batch.py `paused_gc`)."""

from __future__ import annotations

import dataclasses
import gc
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from infrastructure.settings import Settings
from reporting.batch import paused_gc
from reporting.read_ahead import batches
from tests.test_reporting_direct import _store, _tables, scripted


@pytest.fixture
def backend() -> None:
    """The scripted history is the same on either backend: played once, on SQLite."""
    return None


@dataclasses.dataclass(frozen=True)
class Note:
    id: int
    topic: str = "elsewhere"


def _pipeline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name in ("reporting-read", "reporting-check")]


def _log(length: int, fail_at: int | None = None, pause: float = 0.0) -> Any:
    log = [Note(position) for position in range(1, length + 1)]
    reads: list[int] = []

    def read(start: int, limit: int) -> list[Note]:
        reads.append(start)
        time.sleep(pause)
        if start == fail_at:
            raise ConnectionError(f"lost at {start}")
        return log[start - 1 : start - 1 + limit]

    return read, reads


@pytest.mark.parametrize("length", [0, 3, 10, 23, 30])
def test_the_batches_are_the_serial_reads_in_order_up_to_the_first_short_one(length: int) -> None:
    read, reads = _log(length)
    got = [[n.id for n in batch] for batch in batches(read, None, 1, 10)]
    serial = [list(range(start, min(start + 10, length + 1))) for start in range(1, length + 2, 10)]
    assert got == serial
    assert reads == list(range(1, length + 2, 10))  # nothing read past the log's end
    assert not _pipeline_threads()


def test_a_read_error_reaches_the_caller_after_the_batches_before_it() -> None:
    read, _ = _log(100, fail_at=31)
    got: list[list[int]] = []
    with pytest.raises(ConnectionError, match="lost at 31"):
        for batch in batches(read, None, 1, 10):
            got.append([n.id for n in batch])
    assert [b[0] for b in got] == [1, 11, 21]
    assert not _pipeline_threads()


def test_a_caller_that_stops_early_stops_both_threads_even_when_they_wait_to_hand_over() -> None:
    read, reads = _log(10_000)
    with closing(batches(read, None, 1, 10)) as read_batches:
        for batch in read_batches:
            if batch[0].id == 11:
                time.sleep(0.2)  # the stages fill their hand-overs and block
                break
    assert not _pipeline_threads()
    assert len(reads) <= 6  # the first batch, the caller's, and at most one batch per hand-over and stage


def test_an_error_of_the_caller_leaves_no_thread_behind() -> None:
    read, _ = _log(10_000, pause=0.01)
    with pytest.raises(RuntimeError), closing(batches(read, None, 1, 10)) as read_batches:
        for batch in read_batches:
            if batch[0].id == 21:
                raise RuntimeError("applying failed")
    assert not _pipeline_threads()


def test_the_collector_is_paused_in_the_block_collects_on_tick_and_comes_back() -> None:
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(count)
    try:
        assert gc.isenabled()
        with paused_gc(every=3600) as tick:
            assert not gc.isenabled()
            tick()
            assert collections == []
        with paused_gc(every=0) as tick:
            tick()
            assert collections == [2] and not gc.isenabled()
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(count)
        gc.enable()


def test_a_store_whose_read_fails_keeps_the_batches_before_and_resumes_to_the_same_tables(
    settings: Settings, tmp_path: Path
) -> None:
    notifications, mapper = scripted(settings)
    whole = _store(tmp_path / "whole.duckdb", notifications, mapper, 9, True)
    cut = _store(tmp_path / "cut.duckdb", notifications, mapper, 9, True)
    fail_at = 9 * 5 + 1
    read = cut._read
    failing = {"armed": True}
    collector_on: list[bool] = []

    def flaky(start: int, limit: int) -> list[Any]:
        collector_on.append(gc.isenabled())
        if start == fail_at and failing.pop("armed", False):
            raise ConnectionError("the log's connection dropped")
        return read(start, limit)

    cut._read = flaky
    try:
        assert whole.catch_up() == len(notifications)
        with pytest.raises(ConnectionError):
            cut.catch_up()
        assert cut.position == fail_at - 1  # every batch before the failed read, and nothing after
        assert cut.catch_up() == len(notifications)
        assert cut.direct is not None and cut.direct.prepared_taken > 0  # checked ahead, in the checking thread
        assert collector_on and not any(collector_on)  # paused from the first read to the last
        assert gc.isenabled()
        tables, expected = _tables(cut), _tables(whole)
        assert set(tables.pop("journal")) == set(expected.pop("journal"))  # the same batches
        assert tables == expected
    finally:
        whole.close()
        cut.close()
    assert not _pipeline_threads()
