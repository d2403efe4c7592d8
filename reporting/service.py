"""The analytics queries with consistent reads on demand.

Each answer first reads the event log's current position, waits (bounded) until the reporting
store has processed it, then queries: an answer includes every command that returned before the
request was sent. Commands never wait for the reporting store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from reporting.overview import overview
from reporting.people_stats import client_detail, client_exists, client_stats, consultant_stats, linked
from reporting.periods import Period, parse_period
from reporting.store import ReportingStore


class NotLinked(Exception):
    """A consultant asked for the stats of a client it has no relationship with."""


class UnknownClient(Exception):
    pass


class Analytics:
    def __init__(
        self,
        store: ReportingStore,
        max_position: Callable[[], int],
        zone: ZoneInfo,
        timeout: float = 5.0,
        clock: Callable[[], datetime] | None = None,
    ):
        self.store = store
        self._max_position = max_position
        self.zone = zone
        self.timeout = timeout
        self.clock = clock or (lambda: datetime.now(UTC))

    def today(self) -> date:
        return self.clock().astimezone(self.zone).date()

    def period(self, view_type: str | None, year: str | None, month: str | None) -> Period:
        return parse_period(view_type, year, month, self.today())

    @contextmanager
    def consistent(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.store.wait_for(self._max_position() or 0, self.timeout)
        with self.store.reading() as con:
            yield con

    def _now(self) -> tuple[datetime, datetime]:
        now = self.clock()
        return now.astimezone(self.zone).replace(tzinfo=None), now.astimezone(UTC).replace(tzinfo=None)

    def overview(self, period: Period) -> dict[str, Any]:
        with self.consistent() as con:
            return overview(con, period, *self._now())

    def consultant(self, consultant_id: str, period: Period) -> dict[str, Any]:
        with self.consistent() as con:
            return consultant_stats(con, consultant_id, period, *self._now())

    def client(self, client_id: str, period: Period) -> dict[str, Any]:
        with self.consistent() as con:
            return client_stats(con, client_id, period, self._now()[0])

    def client_detail(self, client_id: str, consultant_id: str | None) -> dict[str, Any]:
        """`consultant_id` is the caller when a consultant asks (relationship required), else None."""
        with self.consistent() as con:
            if consultant_id is not None and not linked(con, client_id, consultant_id):
                raise NotLinked(client_id)
            if not client_exists(con, client_id):
                raise UnknownClient(client_id)
            return client_detail(con, client_id, consultant_id, self._now()[1])
