"""Consistency of the reporting store: after each command of a history (every save of the scripted
history, then booking commands, a rename and a re-categorisation over HTTP), the analytics answers
of the live store equal those of a store rebuilt from the events alone, with batches cut at other
places. And an answer includes every command that returned before the request."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from infrastructure.settings import Settings
from interfaces.http.app import create_app
from reporting import upcoming
from reporting.overview import recent_appointments
from reporting.service import Analytics
from reporting.store import ReportingStore
from tests import analytics_history as history
from tests.conftest import bearer, create_admin, rebuild
from tests.test_appointments import next_weekday, slot_body

API = "/api/v1"
PERIODS = [("monthly", "2025", "6"), ("yearly", "2025", None)]
WATCHED = ("A", "C", "k1")


def scripted_answers(settings: Settings) -> list[Any]:
    """Play the scripted history on a fresh store and return its analytics answers."""
    with history.played(settings) as (api, _):
        container = api.app.state.container
        container.analytics.clock = lambda: history.NOW
        return answers(container.analytics)


def answers(analytics: Analytics) -> list[Any]:
    out: list[Any] = []
    for view, year, month in PERIODS:
        period = analytics.period(view, year, month)
        out.append(analytics.overview(period))
        for person in history.CONSULTANTS:
            if person.id and person.key in WATCHED:
                out.append(analytics.consultant(person.id, period))
        for person in history.CLIENTS:
            if person.id and person.key in WATCHED:
                out.append(analytics.client(person.id, period))
    for person in history.CLIENTS:
        if person.id and person.key in WATCHED:
            out.append(analytics.client_detail(person.id, None))
    return out


# each rollup of reporting/rollups.py and the index of reporting/upcoming.py, and the same rows from the facts
DERIVED = {
    "transaction_months": """SELECT CAST(date_trunc('month', created_local) AS DATE), coalesce(consultant_id, ''), kind,
                                    status, earned, count(*), sum(amount), sum(platform_fee), sum(net_amount)
                             FROM transactions GROUP BY ALL""",
    "platform_months": """SELECT CAST(date_trunc('month', created_local) AS DATE), kind, status, earned, count(*),
                                 sum(amount), sum(platform_fee), sum(net_amount) FROM transactions GROUP BY ALL""",
    "appointment_days": """SELECT CAST(start_local AS DATE), status, category_resolved, count(*), sum(fee)
                              FROM appointment_facts WHERE status IS NOT NULL GROUP BY ALL""",
    "appointment_totals": """SELECT status, category_resolved, count(*), sum(fee)
                              FROM appointment_facts WHERE status IS NOT NULL GROUP BY ALL""",
    "appointment_months": """SELECT CAST(date_trunc('month', start_local) AS DATE), coalesce(consultant_id, ''), status,
                                    count(*), sum(fee) FROM appointment_facts WHERE status IS NOT NULL GROUP BY ALL""",
    "appointment_years": """SELECT CAST(date_trunc('year', start_local) AS DATE), coalesce(consultant_id, ''), status,
                                   count(*), sum(fee) FROM appointment_facts WHERE status IS NOT NULL GROUP BY ALL""",
    "account_months": """SELECT CAST(date_trunc('month', created_local) AS DATE), kind, coalesce(status, ''), count(*)
                         FROM (SELECT 'consultant' AS kind, * FROM consultants WHERE NOT deleted
                               UNION ALL BY NAME SELECT 'client' AS kind, * FROM clients WHERE NOT deleted)
                         GROUP BY ALL""",
    "upcoming_appointments": """SELECT id, start_at FROM appointments
                                WHERE NOT deleted AND status NOT IN ('Hold', 'Expired', 'Cancelled')
                                      AND start_at >= (SELECT upcoming_since FROM reporting_tracking)""",
    "upcoming_soon": """SELECT id, start_at FROM appointments
                        WHERE NOT deleted AND status NOT IN ('Hold', 'Expired', 'Cancelled')
                              AND start_at >= (SELECT upcoming_since FROM reporting_tracking)
                              AND start_at < (SELECT upcoming_until FROM reporting_tracking)""",
}
EARNED_BY_RULE = """SELECT t.id, (t.kind = 'Payment' AND t.status = 'Success' AND (t.appointment_id IS NULL OR a.id IS NULL
                           OR a.status = 'Completed')) FROM transactions t
                    LEFT JOIN appointments a ON a.id = t.appointment_id ORDER BY 1"""


def check_derived(store: ReportingStore) -> None:
    """Each rollup equals the grouped facts, the upcoming index its rows of the facts, the next
    appointments from the index those from the facts (at every start, and just after it, that the index
    covers), and `earned` equals the earnings rule evaluated by a join."""
    with store.reading() as con:
        since = upcoming.since(con)
        starts = [row[0] for row in con.execute("SELECT start_at FROM appointments").fetchall()]
        for moment in {since, *starts, *(start + timedelta(microseconds=1) for start in starts)}:
            if moment >= since:
                assert recent_appointments(con, moment, indexed=True) == recent_appointments(
                    con, moment, indexed=False
                ), moment
        for table, grouped in DERIVED.items():
            assert (
                con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
                == con.execute(f"{grouped} ORDER BY ALL").fetchall()
            ), table
        assert (
            con.execute(EARNED_BY_RULE).fetchall()
            == con.execute("SELECT id, earned FROM transactions ORDER BY 1").fetchall()
        )


def first_difference(left: Any, right: Any, path: str = "") -> str:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in {**left, **right}:
            if left.get(key) != right.get(key):
                return first_difference(left.get(key), right.get(key), f"{path}.{key}")
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            if a != b:
                return first_difference(a, b, f"{path}[{index}]")
    return f"{path}: {left!r} != {right!r}"


def store_from_events(container: Any, path: Path) -> ReportingStore:
    """A reporting store of its own at `path`, fed from the event log alone in batches of 7 events
    (so its batches are cut at other places than the live store's)."""
    market = container.market
    return ReportingStore(
        path,
        read_notifications=lambda start, limit: list(market.recorder.select_notifications(start, limit)),
        decode=market.mapper.to_domain_event,
        max_position=lambda: market.recorder.max_notification_id() or 0,
        zone=ZoneInfo("Asia/Kolkata"),
        batch_size=7,
    )


def answers_of(container: Any, store: ReportingStore) -> list[Any]:
    """The analytics answers of `store` caught up to the head of the log, its derived tables checked."""
    market = container.market
    store.catch_up()
    check_derived(store)
    analytics = Analytics(store, lambda: market.recorder.max_notification_id() or 0, ZoneInfo("Asia/Kolkata"))
    analytics.clock = lambda: history.NOW
    return answers(analytics)


def rebuilt_answers(container: Any, directory: Path, count: int) -> list[Any]:
    """The answers of a store rebuilt from the first event, then thrown away."""
    store = store_from_events(container, directory / f"rebuilt-{count}.duckdb")
    try:
        return answers_of(container, store)
    finally:
        store.close()
        for leftover in directory.glob(f"rebuilt-{count}.duckdb*"):
            leftover.unlink()


def test_after_each_command_the_live_answers_equal_a_rebuilt_store(settings: Settings, tmp_path: Path) -> None:
    """At each check the live answers equal those of a second store fed from the events alone, caught
    up then (batches of 7 from the previous check: cut at other places each time); at the end of the
    script and of the test, those of a store rebuilt from the first event as well."""
    for person in (*history.CONSULTANTS, *history.CLIENTS):
        person.id = ""
    with TestClient(create_app(settings)) as api:
        admin = bearer(create_admin(api))
        container = api.app.state.container
        container.analytics.clock = lambda: history.NOW
        market = container.market
        save = market.save
        checks: list[int] = []
        follower = store_from_events(container, tmp_path / "follower.duckdb")

        def check(rebuild: bool = False) -> None:
            live = answers(container.analytics)
            check_derived(container.reporting)
            followed = answers_of(container, follower)
            assert live == followed, (len(checks), first_difference(live, followed))
            if rebuild:
                rebuilt = rebuilt_answers(container, tmp_path, len(checks))
                assert live == rebuilt, (len(checks), "rebuilt", first_difference(live, rebuilt))

        def checked_save(*aggregates: Any, **kwargs: Any) -> Any:
            recordings = save(*aggregates, **kwargs)
            if threading.current_thread().name == "scheduler" or not aggregates:
                return recordings  # the scheduler's idle passes run beside the script
            checks.append(1)
            if len(checks) % 10 == 0 or len(checks) > 60:  # every tenth save of the script, then every one
                check()
            return recordings

        market.save = checked_save  # type: ignore[method-assign]
        history.script(container)
        check(rebuild=True)
        # commands through the routes, at the real time of the test
        a, k1 = history.by_key(history.CONSULTANTS)["A"], history.by_key(history.CLIENTS)["k1"]
        checks.extend([0] * 60)  # from here on, every save is checked
        day = next_weekday(2)
        made = api.post(
            f"{API}/appointments",
            headers=admin,
            json=slot_body(
                a.id, k1.id, day, "09:00", "10:00", status="Upcoming", session="Video Call", category="Finance"
            ),
        )
        assert made.status_code == 201, made.text
        appointment_id = made.json()["data"]["_id"]
        overview = api.get(f"{API}/analytics/overview", headers=admin).json()["data"]
        assert appointment_id in [r["_id"] for r in overview["recentAppointments"]]  # read after the command
        container.analytics.clock = lambda: datetime.now(UTC)  # the real clock: read from the upcoming index
        current = container.analytics.overview(container.analytics.period(None, None, None))
        assert appointment_id in [r["_id"] for r in current["recentAppointments"]]
        with container.reporting.reading() as con:
            assert upcoming.since(con) > datetime.now(UTC).replace(tzinfo=None) - timedelta(days=2)  # advanced
        container.analytics.clock = lambda: history.NOW
        moved = api.patch(
            f"{API}/appointments/{appointment_id}",
            headers=admin,
            json={
                "startAt": f"{(day + timedelta(days=7)).isoformat()}T10:15:00+05:30",
                "endAt": f"{(day + timedelta(days=7)).isoformat()}T11:15:00+05:30",
            },
        )
        assert moved.status_code == 200, moved.text
        renamed = api.patch(
            f"{API}/consultants/{a.id}", headers=admin, json={"name": "Asha Renamed", "displayName": "Asha Renamed"}
        )
        assert renamed.status_code == 200, renamed.text
        overview = api.get(
            f"{API}/analytics/overview", headers=admin, params={"viewType": "monthly", "year": 2025, "month": 6}
        ).json()["data"]
        assert "Asha Renamed" in [c["name"] for c in overview["topConsultants"]]
        # re-categorisations: the legacy consultant's uncategorised appointments follow its new primary
        # category, and an appointment's own category moves it
        made = api.post(f"{API}/categories", headers=admin, json={"title": "Wellness"})
        assert made.status_code == 201, made.text
        c = history.by_key(history.CONSULTANTS)["C"]
        recategorised = api.patch(
            f"{API}/consultants/{c.id}", headers=admin, json={"category": made.json()["data"]["_id"]}
        )
        assert recategorised.status_code == 200, recategorised.text
        june = {"viewType": "monthly", "year": 2025, "month": 6}
        overview = api.get(f"{API}/analytics/overview", headers=admin, params=june).json()["data"]
        assert "Wellness" in [row["name"] for row in overview["categoryPerformance"]]
        retagged = api.patch(f"{API}/appointments/{appointment_id}", headers=admin, json={"category": "Health"})
        assert retagged.status_code == 200, retagged.text
        cancelled = api.patch(f"{API}/appointments/{appointment_id}", headers=admin, json={"status": "Cancelled"})
        assert cancelled.status_code == 200, cancelled.text
        gone = api.delete(f"{API}/appointments/{appointment_id}", headers=admin)
        assert gone.status_code == 200, gone.text
        assert sum(checks) > 15
        market.save = save  # type: ignore[method-assign]
        check(rebuild=True)
        follower.close()


def test_commands_do_not_wait_for_the_reporting_store(settings: Settings) -> None:
    """With the reporting thread stopped, commands still answer at once; the next analytics request
    catches the store up itself before it answers."""
    with TestClient(create_app(settings)) as api:
        admin = bearer(create_admin(api))
        container = api.app.state.container
        container.reporting.catch_up()
        before = container.reporting.position
        lock = container.reporting._lock
        with lock:  # nobody can advance the store meanwhile
            started = datetime.now(UTC)
            for index in range(3):
                reply = api.post(f"{API}/categories", headers=admin, json={"title": f"Topic {index}"})
                assert reply.status_code == 201, reply.text
            assert (datetime.now(UTC) - started).total_seconds() < 5
            assert container.reporting.position == before
        overview = api.get(f"{API}/analytics/overview", headers=admin)
        assert overview.status_code == 200
        assert container.reporting.position == (container.market.recorder.max_notification_id() or 0)


def test_consult_rebuild_rebuilds_the_reporting_store(settings: Settings) -> None:
    import duckdb

    before = scripted_answers(settings)
    con = duckdb.connect(str(settings.data_dir / "reporting.duckdb"))
    for table in ("transactions", "appointments", "consultants"):
        con.execute(f"DELETE FROM {table}")  # damage the store; the events are the truth
    con.close()
    done = rebuild(settings)
    assert "reporting store rebuilt from" in done.stdout and "rebuilding reporting store" in done.stderr
    app = create_app(settings)
    history.hold_the_scheduler(app.state.container)  # before its first pass, which runs at start
    with TestClient(app) as api:
        container = api.app.state.container
        container.analytics.clock = lambda: history.NOW
        assert answers(container.analytics) == before


def test_an_answer_reads_one_state_of_the_store(settings: Settings) -> None:
    """The statements of one answer run in one read transaction: a batch the projection commits
    meanwhile is not half seen."""
    with TestClient(create_app(settings)) as api:
        admin = bearer(create_admin(api))
        store = api.app.state.container.reporting
        store.catch_up()
        with store.reading() as con:
            before = con.execute("SELECT count(*) FROM categories").fetchone()
            made = api.post(f"{API}/categories", headers=admin, json={"title": "Mid-answer"})
            assert made.status_code == 201, made.text
            store.catch_up()
            assert con.execute("SELECT count(*) FROM categories").fetchone() == before
        with store.reading() as con:
            assert con.execute("SELECT count(*) FROM categories").fetchone() == (before[0] + 1,)  # type: ignore[index]


def test_a_store_of_the_previous_schema_is_rebuilt_at_start(settings: Settings) -> None:
    """A store written by the previous schema version (no appointment or account rollups) is
    dropped and rebuilt from the events when the service starts, with the same answers."""
    import duckdb

    from reporting import schema

    before = scripted_answers(settings)
    con = duckdb.connect(str(settings.data_dir / "reporting.duckdb"))
    for table in ("appointment_days", "appointment_months", "platform_months", "account_months"):
        con.execute(f"DROP TABLE {table}")
    con.execute("UPDATE reporting_tracking SET schema_version = ?", [schema.SCHEMA_VERSION - 1])
    con.close()
    app = create_app(settings)
    history.hold_the_scheduler(app.state.container)
    with TestClient(app) as api:
        container = api.app.state.container
        container.analytics.clock = lambda: history.NOW
        assert answers(container.analytics) == before
        check_derived(container.reporting)


def test_the_background_loop_catches_up_in_batches_not_after_every_command(
    settings: Settings, monkeypatch: Any
) -> None:
    """A catch-up's fixed costs dominate a small batch: the reporting thread collects the commands of
    a snapshot interval (reporting/cadence.py), and an analytics read still sees every command at once."""
    with TestClient(create_app(settings)) as api:
        admin = bearer(create_admin(api))
        store = api.app.state.container.reporting
        runs: list[int] = []
        catch_up = store.catch_up
        monkeypatch.setattr(store, "catch_up", lambda *a, **k: runs.append(1) or catch_up(*a, **k))
        began = time.monotonic()
        for index in range(20):
            reply = api.post(f"{API}/categories", headers=admin, json={"title": f"Batched {index}"})
            assert reply.status_code == 201, reply.text
        assert len(runs) <= (time.monotonic() - began) / store.snapshot_interval + 2
        overview = api.get(f"{API}/analytics/overview", headers=admin)  # catches up itself, before answering
        assert overview.status_code == 200
        assert store.position == (api.app.state.container.market.recorder.max_notification_id() or 0)
