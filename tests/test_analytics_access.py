"""Analytics routes: bad parameters give 400 and store nothing; roles and ownership are enforced;
analyst SQL works over the snapshot while `consult serve` runs and cannot modify the store; in the
multi-process deployment the API processes forward analytics to the reporting worker."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from infrastructure.settings import Settings
from tests.conftest import Server, bearer, create_admin, employee_token, refused, run_cli, signup
from tests.databases import one_cluster_at_a_time

API = "/api/v1/analytics"


def test_bad_parameters_are_refused_with_400(api: Any) -> None:
    admin = bearer(create_admin(api))
    consultant = bearer(signup(api, "Consultant")["token"])
    client = bearer(signup(api, "Client")["token"])
    before = api.app.state.container.market.recorder.max_notification_id()
    for path, headers in (("/overview", admin), ("/consultant", consultant), ("/client", client)):
        for params, field in (
            ({"month": "13"}, "month"),
            ({"month": "0"}, "month"),
            ({"month": "x"}, "month"),
            ({"year": "2025abc"}, "year"),
            ({"year": "99999"}, "year"),
            ({"viewType": "weekly"}, "viewType"),
            ({"month": "1.5"}, "month"),
        ):
            body = refused(api.get(API + path, params=params, headers=headers), 400, "Validation failed")
            assert body["errors"][0]["field"] == field, (path, params, body)
    for path, headers in (("/overview", admin), ("/consultant", consultant)):
        refused(api.get(API + path, params={"format": "xml"}, headers=headers), 400, "Validation failed")
    refused(api.get(API + "/client/not-an-id", headers=admin), 400, "Invalid ID format")
    assert api.app.state.container.market.recorder.max_notification_id() == before  # nothing stored
    # the yearly view accepts any valid month (it only names the file) and an absent one
    assert api.get(API + "/overview", params={"viewType": "yearly", "year": "2025"}, headers=admin).status_code == 200


def test_roles_and_ownership(api: Any) -> None:
    admin_token = create_admin(api)
    admin = bearer(admin_token)
    employee = bearer(employee_token(api, admin))
    consultant = signup(api, "Consultant")
    other_consultant = signup(api, "Consultant")
    client = signup(api, "Client")
    refused(api.get(API + "/overview"), 401, "Access denied. No token provided.")
    for headers in (employee, bearer(consultant["token"]), bearer(client["token"])):
        refused(api.get(API + "/overview", headers=headers), 403, "Forbidden: Access denied")
        refused(api.get(API + "/overview", params={"format": "csv"}, headers=headers), 403, "Forbidden: Access denied")
    for headers in (admin, employee, bearer(client["token"])):
        refused(api.get(API + "/consultant", headers=headers), 403, "Forbidden: Access denied")
    for headers in (admin, bearer(consultant["token"])):
        refused(api.get(API + "/client", headers=headers), 403, "Forbidden: Access denied")
    client_id = client["user"]["id"]
    # a consultant reads a client's stats only once that client has booked it
    refused(api.get(f"{API}/client/{client_id}", headers=bearer(consultant["token"])), 403, "Forbidden: Access denied")
    refused(api.get(f"{API}/client/{client_id}", headers=bearer(client["token"])), 403, "Forbidden: Access denied")
    from domain.appointments import ClientLink

    container = api.app.state.container
    container.market.save(ClientLink(client_id=client_id, consultant_id=consultant["user"]["id"]))
    reply = api.get(f"{API}/client/{client_id}", headers=bearer(consultant["token"]))
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"]["stats"][3] == {
        "id": "consultants",
        "title": "Active Consultants",
        "value": "1",
        "delta": "+0%",
        "up": True,
    }
    refused(
        api.get(f"{API}/client/{client_id}", headers=bearer(other_consultant["token"])), 403, "Forbidden: Access denied"
    )
    assert api.get(f"{API}/client/{client_id}", headers=admin).status_code == 200
    refused(api.get(f"{API}/client/{'a' * 24}", headers=admin), 404, "Client not found")
    # ?token= works for the CSV download links
    csv_reply = api.get(API + "/overview", params={"format": "csv", "token": admin_token})
    assert csv_reply.status_code == 200 and csv_reply.text.startswith("Section,Metric,Value\n")


def report(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(settings, "report", "sql", *args, timeout=60)


def wait_until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_analyst_sql_while_serving_is_read_only(server: Server, settings: Settings) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as api:
        admin = bearer(create_admin(api))
        for _ in range(3):
            signup(api, "Consultant")
        signup(api, "Client")
        count_sql = "SELECT count(*) AS consultants FROM consultants"
        shown = wait_until(lambda: (r := report(settings, count_sql)).returncode == 0 and "3" in r.stdout and r)
        assert shown, "the snapshot never showed the three consultants"
        assert shown.stdout.splitlines()[0].strip() == "consultants"
        as_csv = report(settings, "--csv", "SELECT id, status FROM consultants ORDER BY id")
        assert as_csv.returncode == 0 and as_csv.stdout.splitlines()[0] == "id,status"
        assert len(as_csv.stdout.splitlines()) == 4
        for statement in (
            "DELETE FROM snapshot_base.consultants",  # `consultants` itself is a view (reporting/snapshot.py)
            "DROP TABLE snapshot_base.consultants",
            "UPDATE reporting_tracking SET position = 0",
            "CREATE TABLE x (a INT)",
        ):
            refused_run = report(settings, statement)
            assert refused_run.returncode == 1 and "read-only" in refused_run.stderr, refused_run.stderr
        refused_run = report(settings, "DELETE FROM consultants")
        assert refused_run.returncode == 1 and "base table" in refused_run.stderr, refused_run.stderr
        assert "3" in report(settings, count_sql).stdout
        overview = api.get(f"{API}/overview", headers=admin).json()["data"]
        assert overview["monthlyTrends"][-1]["consultants"] == 3  # the live store is untouched
        # the snapshot is a plain DuckDB file any DuckDB opens (read-only here)
        import duckdb

        con = duckdb.connect(str(settings.data_dir / "reporting-snapshot.duckdb"), read_only=True)
        assert con.execute("SELECT count(*) FROM clients").fetchone() == (1,)
        con.close()


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # --workers needs PostgreSQL
def test_serve_workers_forwards_analytics_to_the_reporting_worker(settings: Settings, redis_url: str) -> None:
    settings = settings.model_copy(update={"redis_url": redis_url})
    with one_cluster_at_a_time():
        running = Server(settings, "--workers", "2", extra_env={"SOCKETIO_CHANNEL": f"analytics-{time.time_ns()}"})
        try:
            with httpx.Client(base_url=running.url, timeout=30) as api:
                admin = bearer(create_admin(api))
                consultant = signup(api, "Consultant")
                reply = api.get(f"{API}/overview", headers=admin)
                assert reply.status_code == 200, reply.text
                assert reply.json()["data"]["monthlyTrends"][-1]["consultants"] == 1  # read after the signup
                mine = api.get(f"{API}/consultant", headers=bearer(consultant["token"]), params={"format": "csv"})
                assert mine.status_code == 200 and mine.headers["content-type"] == "text/csv; charset=utf-8"
                assert mine.headers["content-disposition"].startswith('attachment; filename="consultant-analytics-')
                refused(
                    api.get(f"{API}/overview", headers=bearer(consultant["token"])), 403, "Forbidden: Access denied"
                )
        finally:
            running.stop()


def test_snapshots_take_at_most_a_tenth_of_the_owners_time(tmp_path: Path) -> None:
    """The wait after a snapshot is `snapshot_interval`, or ten times what the copy took if longer."""
    from zoneinfo import ZoneInfo

    from reporting.store import SNAPSHOT_DUTY, ReportingStore

    store = ReportingStore(
        tmp_path / "reporting.duckdb",
        read_notifications=lambda start, limit: [],
        decode=lambda notification: notification,
        max_position=lambda: 0,
        zone=ZoneInfo("Asia/Kolkata"),
        snapshot_interval=3600.0,
    )
    try:
        assert store.snapshot_wait() == 3600.0  # nothing copied yet
        assert store.publish_snapshot() and (tmp_path / "reporting-snapshot.duckdb").exists()
        assert not store.publish_snapshot()  # nothing new to copy
        assert store.publish_snapshot(force=True)
        assert store.snapshot_wait() == 3600.0  # a small store: the interval
        store.snapshot_interval = 0.0
        copied = store.snapshot_wait() / SNAPSHOT_DUTY
        assert 0.0 < copied < 60.0  # the measured duration of the last copy
    finally:
        store.close()


def test_the_reporting_store_keeps_to_its_memory_limit(settings: Settings, container: Any) -> None:
    """REPORTING_MEMORY_LIMIT reaches DuckDB (its own default would be 80% of the machine's RAM)."""
    import duckdb
    from pydantic import ValidationError

    from reporting.wiring import open_store

    store = open_store(settings.model_copy(update={"reporting_memory_limit": "256MB"}), container)
    try:
        limit = store.con.execute("SELECT current_setting('memory_limit')").fetchone()
    finally:
        store.close()
    expected = duckdb.connect(config={"memory_limit": "256MB"}).execute("SELECT current_setting('memory_limit')")
    assert limit == expected.fetchone()
    default = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()
    assert limit != default
    with pytest.raises(ValidationError):
        Settings(reporting_memory_limit="lots")
