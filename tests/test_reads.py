"""Read plans (`infrastructure.reads`): the slot query over its read models, the blocking driver and,
on PostgreSQL, the event-loop driver giving the same answers, and the event-loop connections
(psycopg_pool) lent, replaced and reclaimed as a pool must."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import sqlalchemy as sa
from psycopg_pool import AsyncConnectionPool

from application.bookings import Caller
from infrastructure.bootstrap import Container, build
from infrastructure.directory import status_plan
from infrastructure.reads import APPLICATION_NAME, AsyncReads
from infrastructure.tables import consultant_settings, slot_bookings
from tests.conftest import bearer, create_admin, make_settings, ok, postgres_database, refused, signup
from tests.conftest import signed_up as account

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2030, 1, 1, 3, 0, tzinfo=UTC)
MONDAY, TUESDAY = date(2030, 1, 14), date(2030, 1, 15)


@pytest.fixture
def postgres_container(tmp_path: Any) -> Iterator[Container]:
    with postgres_database() as url:
        built = build(make_settings(tmp_path, url), run_projections=True)
        yield built
        built.close()


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=IST)


def around_midnight(container: Container, consultant: str, buffer: int = 45) -> None:
    """Hour-long slots at 20:30 and 22:30 on Mondays, at 00:00 and 01:00 on Tuesdays."""

    def windows(*starts: str) -> dict[str, Any]:
        return {"enabled": True, "slots": [{"start": s, "end": f"{int(s[:2]) + 1:02d}{s[2:]}"} for s in starts]}

    container.settings_service.update_availability(
        consultant,
        {
            "workingHours": {"monday": windows("20:30", "22:30"), "tuesday": windows("00:00", "01:00")},
            "sessionSettings": {"defaultDuration": 60, "bufferTime": buffer},
            "advanceBooking": {"maxDaysInAdvance": 60, "minHoursInAdvance": 0},
        },
    )


def store_buffer(container: Container, consultant: str, minutes: int) -> None:
    """A buffer written into the read model as it is, beyond the range the settings commands accept
    (documents stored before the validation, or imported)."""
    with container.engine.begin() as conn:
        document = json.loads(
            conn.execute(
                sa.select(consultant_settings.c.document).where(consultant_settings.c.consultant_id == consultant)
            ).scalar_one()
        )
        document["availability"]["sessionSettings"]["bufferTime"] = minutes
        conn.execute(
            consultant_settings.update()
            .where(consultant_settings.c.consultant_id == consultant)
            .values(document=json.dumps(document))
        )


def book(container: Container, consultant: str, client: str, start: datetime, hours: int = 1) -> None:
    with container.engine.begin() as conn:
        conn.execute(
            slot_bookings.insert().values(
                appointment_id=f"{int(start.timestamp()):x}".rjust(24, "a"),
                consultant_id=consultant,
                client_id=client,
                start_at=start,
                end_at=start + timedelta(hours=hours),
                is_hold=False,
                expires_at=None,
            )
        )


def slots(container: Container, consultant: str, day: date, caller: str, role: str = "Client") -> list[str] | None:
    return container.slots.open_slots(consultant, day, caller, role, now=NOW)


def test_a_booking_closes_the_slots_within_the_buffer_across_midnight(container: Container) -> None:
    consultant, client = account(container, "Consultant"), account(container, "Client")
    around_midnight(container, consultant, buffer=45)
    assert slots(container, consultant, TUESDAY, client) == ["00:00 - 01:00", "01:00 - 02:00"]
    book(container, consultant, client, at(MONDAY, "20:30"))  # ends 21:30: 150 minutes before midnight
    assert slots(container, consultant, TUESDAY, client) == ["00:00 - 01:00", "01:00 - 02:00"]
    assert slots(container, consultant, MONDAY, client) == ["22:30 - 23:30"]
    store_buffer(container, consultant, 180)  # beyond MAX_BUFFER (120): read with the exact reach
    assert slots(container, consultant, TUESDAY, client) == ["01:00 - 02:00"]
    store_buffer(container, consultant, 120)
    assert slots(container, consultant, TUESDAY, client) == ["00:00 - 01:00", "01:00 - 02:00"]
    store_buffer(container, consultant, 45)
    book(container, consultant, client, at(MONDAY, "22:30"))  # ends 23:30, 30 minutes before midnight
    assert slots(container, consultant, TUESDAY, client) == ["01:00 - 02:00"]
    assert slots(container, "0" * 24, TUESDAY, client) is None


def run_on_loop(reads: AsyncReads, *plans: Any) -> list[Any]:
    async def main() -> list[Any]:
        await reads.open()
        try:
            return [await reads.run(plan) for plan in plans]
        finally:
            await reads.close()

    return asyncio.run(main())


@pytest.mark.postgres
def test_the_event_loop_driver_answers_as_the_blocking_one(postgres_container: Container) -> None:
    container = postgres_container
    consultant, closed, other = (account(container, "Consultant") for _ in range(3))
    client, linked, holder = (account(container, "Client") for _ in range(3))
    around_midnight(container, consultant, buffer=15)
    around_midnight(container, closed, buffer=0)
    now = datetime.now(UTC)
    today = now.astimezone(IST).date()
    day = today + timedelta(days=14 - today.weekday())  # a Monday ahead
    container.bookings.hold(Caller(holder, "Client"), consultant, holder, at(day, "20:30"), at(day, "21:30"))
    container.bookings.hold(Caller(linked, "Client"), closed, linked, at(day, "22:30"), at(day, "23:30"))
    container.settings_service.update_availability(closed, {"acceptingNewClients": False})
    container.people.set_consultant_status(other, "block")
    questions = [
        (who, day + timedelta(days=shift), caller, role)
        for who in (consultant, closed, other, "f" * 24)
        for shift in (0, 1)
        for caller, role in ((client, "Client"), (linked, "Client"), (holder, "Client"), (consultant, "Consultant"))
    ]
    blocking = [container.slots.open_slots(*question, now=now) for question in questions]
    assert container.reads is not None
    on_loop = run_on_loop(
        AsyncReads(container.reads.conninfo, 2),
        *(container.slots.open_slots_plan(*question, now=now) for question in questions),
    )
    assert on_loop == blocking
    assert sum(1 for answer in blocking if answer) >= 8 and blocking.count(None) == 8 and [] in blocking
    assert blocking[questions.index((consultant, day, holder, "Client"))][0] == "20:30 - 21:30"  # its own hold
    statuses = run_on_loop(AsyncReads(container.reads.conninfo, 1), status_plan(other), status_plan("f" * 24))
    assert statuses == [container.directory.status_of(other), None] and statuses[0] == ("consultant", "Blocked")


class Sleep:
    """A plan of one statement that keeps its connection for `seconds`."""

    def __init__(self, seconds: float):
        self.statement = sa.select(sa.func.pg_sleep(sa.bindparam("seconds")))
        self.seconds = seconds

    def plan(self) -> Any:
        rows = yield self.statement, {"seconds": self.seconds}
        return len(rows)


def backends(url: str, state: str | None = None) -> int:
    """How many event-loop reads' connections to the database of `url` PostgreSQL serves (in `state`,
    if given; other databases' servers use the same application name)."""
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s AND state = coalesce(%s, state)",
            (APPLICATION_NAME, state),
        ).fetchone()
    assert row is not None
    return int(row[0])


async def no_backends_left(url: str) -> bool:
    """A closed connection's backend exits shortly after: wait for it (at most 5 s)."""
    for _ in range(50):
        if backends(url) == 0:
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.mark.postgres
def test_the_pool_lends_one_plan_at_a_time_replaces_broken_connections_and_closes_at_shutdown() -> None:
    with postgres_database() as url:

        async def main() -> None:
            reads = AsyncReads(url, 2)
            await reads.open()
            try:
                await exercise(reads)
            finally:  # a failed check leaves no pool behind to hang the loop's shutdown
                await reads.close()

        async def exercise(reads: AsyncReads) -> None:
            pool = reads._pool
            assert isinstance(pool, AsyncConnectionPool)
            assert backends(url) == 2  # opened with the app, not on first use
            started = asyncio.get_running_loop().time()
            assert await asyncio.gather(*(reads.run(Sleep(0.2).plan()) for _ in range(4))) == [1] * 4
            assert asyncio.get_running_loop().time() - started >= 0.4  # two at a time
            assert pool.get_stats().get("requests_queued", 0) == 0  # the others waited outside the pool
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = %s",
                    (APPLICATION_NAME,),
                )
            assert await no_backends_left(url)  # a terminated backend exits shortly after the call
            for _ in range(2):  # each lent connection turns out broken once, and is dropped
                with pytest.raises(psycopg.OperationalError):
                    await reads.run(Sleep(0).plan())
            assert await asyncio.gather(*(reads.run(Sleep(0).plan()) for _ in range(5))) == [1] * 5
            assert pool.get_stats()["returns_bad"] == 2
            assert pool.get_stats()["pool_size"] == 2 and backends(url) == 2  # both replaced
            # plans cancelled mid-statement (two) and while waiting (one) leave no connection busy or
            # lost: psycopg cancels the statement and the connection comes back idle, or the pool
            # closes it and opens another
            busy = [asyncio.ensure_future(reads.run(Sleep(5).plan())) for _ in range(3)]
            await asyncio.sleep(0.2)
            assert backends(url, "active") == 2 and reads._places is not None and reads._places.locked()
            for task in busy:
                task.cancel()
            await asyncio.gather(*busy, return_exceptions=True)
            assert all(task.cancelled() for task in busy)
            started = asyncio.get_running_loop().time()
            assert await asyncio.gather(*(reads.run(Sleep(0).plan()) for _ in range(3))) == [1] * 3
            assert asyncio.get_running_loop().time() - started < 2
            assert pool.get_stats()["pool_size"] == 2 and backends(url, "idle") == 2
            # at shutdown the idle connections close at once, a lent one when its plan is done
            lent = asyncio.ensure_future(reads.run(Sleep(0.3).plan()))
            await asyncio.sleep(0.1)
            await reads.close()
            assert not reads.serves_this_loop()
            assert await lent == 1
            assert await no_backends_left(url)

        asyncio.run(main())


@pytest.mark.postgres
def test_the_server_reads_on_its_event_loop_and_sees_each_status_change_at_once(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from interfaces.http.app import create_app

    with postgres_database() as url, TestClient(create_app(make_settings(tmp_path, url))) as api:
        admin = create_admin(api)
        consultant = signup(api, "Consultant")["user"]["id"]
        ok(api.post(f"/api/v1/consultants/{consultant}/approve", headers=bearer(admin)), 200, "Consultant approved")
        client = signup(api, "Client")
        path = f"/api/v1/appointments/available-slots?consultant={consultant}&date={TUESDAY.isoformat()}"
        assert api.get(path, headers=bearer(client["token"])).status_code == 200
        with psycopg.connect(url, autocommit=True) as pg:
            served = pg.execute(  # a connection of the pool ran more than its set-up statement
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = %s AND query <> %s",
                (APPLICATION_NAME, "SET TIME ZONE 'UTC'"),
            ).fetchone()
        assert served is not None and served[0] >= 1  # the request was read on the event loop
        for status, message in (
            ("Blocked", "Your account has been blocked by the administrator."),
            ("Inactive", "Account is inactive. Please contact administrator."),
            ("Active", None),
        ):
            changed = api.patch(
                f"/api/v1/clients/{client['user']['id']}", json={"status": status}, headers=bearer(admin)
            )
            assert changed.status_code == 200, changed.text
            answer = api.get(path, headers=bearer(client["token"]))
            if message is None:
                assert answer.status_code == 200
            else:
                refused(answer, 403, message)
