"""Foreground first (infrastructure/foreground.py): the HTTP requests in flight are counted, and the reporting
loop puts off the catch-up that falls due while they are, for a bounded time, and does it at once when the
process is quiet."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from infrastructure.foreground import Foreground, MakeWay
from infrastructure.settings import Settings
from interfaces.http.middleware import PushAfterResponse
from tests.test_reporting_direct import _store, scripted


@pytest.fixture
def backend() -> None:
    """The scripted history is the same on either backend: played once, on SQLite."""
    return None


def test_the_requests_in_flight_are_counted_until_they_answer_even_when_they_fail() -> None:
    foreground = Foreground()
    seen: list[int] = []
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(foreground.in_flight)
        if scope["path"] == "/fail":
            raise RuntimeError("the handler failed")
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    class Runner:
        def send(self, pushes: Any) -> None:
            pass

    wrapped = PushAfterResponse(app, runner=Runner(), foreground=foreground)  # type: ignore[arg-type]

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t") as client:
            pending = [asyncio.ensure_future(client.get("/slow")) for _ in range(3)]
            while len(seen) < 3:
                await asyncio.sleep(0.001)
            assert foreground.in_flight == 3 and foreground.busy()
            with pytest.raises(RuntimeError):
                await client.get("/fail")
            assert foreground.in_flight == 3
            release.set()
            assert [r.status_code for r in await asyncio.gather(*pending)] == [200, 200, 200]
        assert foreground.in_flight == 0 and not foreground.busy()

    asyncio.run(scenario())
    assert seen == [1, 2, 3, 4]


def test_due_work_waits_while_busy_at_most_the_wait_and_never_when_quiet() -> None:
    busy = [True]
    way = MakeWay(lambda: busy[0], wait=0.2)
    assert not way.put_off(False)  # nothing due: nothing to put off
    assert way.put_off(True)  # due while busy: waits
    time.sleep(0.25)
    assert not way.put_off(True)  # waited long enough: runs although busy
    assert way.put_off(True)  # the next due work waits again from now
    busy[0] = False
    assert not way.put_off(True)  # quiet: at once
    assert not MakeWay(None).put_off(True)  # a process that serves no requests never waits


def test_the_reporting_loop_makes_way_while_requests_are_in_flight(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notifications, mapper = scripted(settings)
    foreground = Foreground()
    stop = threading.Event()

    def caught_up_after(wait: float, quiet_after: float | None) -> float:
        """Seconds until a loop started with a request in flight has caught up (the request answered
        `quiet_after` seconds in, or never)."""
        monkeypatch.setattr("infrastructure.foreground.FOREGROUND_WAIT", wait)
        store = _store(tmp_path / f"store-{wait}.duckdb", notifications, mapper, len(notifications) + 1, True)
        foreground.in_flight = 1
        loop = threading.Thread(target=store.run_forever, args=(stop, 0.01), kwargs={"busy": foreground.busy})
        began = time.monotonic()
        loop.start()
        try:
            while store.position < len(notifications) and time.monotonic() - began < 60:
                if quiet_after is not None and time.monotonic() - began >= quiet_after:
                    foreground.in_flight = 0
                elif store.position:
                    assert time.monotonic() - began >= wait  # never before the wait, while busy
                time.sleep(0.01)
            assert store.position == len(notifications)
            return time.monotonic() - began
        finally:
            stop.set()
            loop.join(5)
            stop.clear()
            store.close()

    assert caught_up_after(wait=60, quiet_after=0.5) < 30  # at once when the request answered
    assert caught_up_after(wait=1.0, quiet_after=None) >= 1.0  # busy throughout: after the wait
