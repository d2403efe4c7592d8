"""The analysts' snapshot refreshed incrementally (reporting/snapshot.py): after each refresh the file
the snapshot link names holds exactly the rows of the live store, whether it was made by a full copy,
by copying the rows changed since its own position into its delta, or by folding that delta into its
base; a refresh does not rewrite the base; a file a reader holds is not written."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from fastapi.testclient import TestClient

from domain.appointments import Appointment
from domain.ids import new_object_id
from domain.ledger import Transaction
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from reporting import schema, snapshot
from reporting.wiring import open_store
from tests import analytics_history as history
from tests.conftest import bearer, create_admin, signup
from tests.test_appointments import next_weekday, slot_body

API = "/api/v1"
TABLES = ("reporting_tracking", *schema.TABLES)


def contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    return {table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in TABLES}


def assert_snapshot_equals_store(store: Any) -> None:
    with store.reading() as con:
        live = contents(con)
    snapshot = duckdb.connect(str(store.snapshot_path), read_only=True)
    try:
        copied = contents(snapshot)
        views = {
            row[0] for row in snapshot.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
        journal = snapshot.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'reporting_changes%'")
        assert journal.fetchone() == (0,)  # the journal is the owner's, not the analysts'
    finally:
        snapshot.close()
    assert set(schema.VIEWS) <= views
    for table in TABLES:
        assert copied[table] == live[table], table


def published(store: Any) -> bool:
    """Refresh now; the app's own periodic publisher may already have published this position."""
    return store.publish_snapshot() or store._published == store.position


def test_incremental_refresh_equals_the_store(settings: Settings) -> None:
    for person in (*history.CONSULTANTS, *history.CLIENTS):
        person.id = ""
    with TestClient(create_app(settings)) as api:
        admin = bearer(create_admin(api))
        container = api.app.state.container
        store = container.reporting
        history.script(container)
        store.catch_up()
        assert store.publish_snapshot(force=True)  # first file: a full copy
        assert_snapshot_equals_store(store)
        a, k1 = history.by_key(history.CONSULTANTS)["A"], history.by_key(history.CLIENTS)["k1"]
        day = next_weekday(2)
        made = api.post(
            f"{API}/appointments",
            headers=admin,
            json=slot_body(a.id, k1.id, day, "09:00", "10:00", status="Upcoming", session="Video Call"),
        )
        assert made.status_code == 201, made.text
        store.catch_up()
        assert store.publish_snapshot(force=True)  # second file: a full copy too
        assert_snapshot_equals_store(store)
        # from here on each refresh copies only what changed since the file's own position
        appointment_id = made.json()["data"]["_id"]
        links = api.get(f"{API}/client-consultants", headers=admin, params={"clientId": k1.id, "consultantId": a.id})
        link_id = links.json()["data"]["data"][0]["_id"]
        for change in (
            lambda: api.patch(f"{API}/client-consultants/{link_id}/status", headers=admin, json={"status": "Inactive"}),
            lambda: api.patch(f"{API}/appointments/{appointment_id}", headers=admin, json={"status": "Cancelled"}),
            lambda: api.patch(f"{API}/consultants/{a.id}", headers=admin, json={"name": "Asha Renamed"}),
            lambda: api.post(f"{API}/categories", headers=admin, json={"title": "Wellness"}),
            lambda: api.delete(f"{API}/appointments/{appointment_id}", headers=admin),
        ):
            reply = change()
            assert reply.status_code in (200, 201), reply.text
            store.catch_up()
            assert published(store)
            assert store.last_refresh_incremental
            assert_snapshot_equals_store(store)
        later = day  # its slot is free again (that appointment was cancelled)
        booked = api.post(
            f"{API}/appointments",
            headers=admin,
            json=slot_body(a.id, k1.id, later, "09:00", "10:00", status="Upcoming", session="Video Call"),
        )
        assert booked.status_code == 201, booked.text
        store.catch_up()
        assert published(store) and store.last_refresh_incremental
        assert_snapshot_equals_store(store)
        with store.reading() as con:
            listed = con.execute("SELECT id FROM upcoming_appointments").fetchall()
        assert listed  # (count(*) on this table answers 0 here: DuckDB 2.0.1 after deletes in one transaction)
        # the owner drops what starts before upcoming_since from the index (no event): replayed on the file
        store.advance_upcoming(datetime.now(UTC) + timedelta(days=30))
        with store.reading() as con:
            assert con.execute("SELECT id FROM upcoming_appointments").fetchall() == []
        container.privacy.erase(k1.id, "client", "Client", "secret1")  # names rewritten in place
        store.catch_up()
        assert published(store) and store.last_refresh_incremental
        assert_snapshot_equals_store(store)
        assert not store.publish_snapshot()  # nothing new
        with store.reading() as con:  # the journal keeps only what the older file still needs
            kept = con.execute("SELECT min(position) FROM reporting_changes").fetchone()
            floor = con.execute("SELECT floor FROM reporting_changes_floor").fetchone()
        held = min(store._buffers.positions.values())
        assert floor is not None and floor[0] <= held  # (pruned at most every PRUNE_INTERVAL seconds)
        assert kept is not None and (kept[0] is None or kept[0] > floor[0])


def test_a_file_a_reader_holds_is_not_written(settings: Settings, tmp_path: Path) -> None:
    with TestClient(create_app(settings)) as api:
        create_admin(api)
        store = api.app.state.container.reporting
        store.snapshot_interval = 3600.0  # the app's periodic publisher stays out: this test picks each file
        store.catch_up()
        assert store.publish_snapshot(force=True)
        held = store.snapshot_path.resolve()
        reader = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); "
                "time.sleep(60)",
                str(held),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
            signup(api)
            store.catch_up()
            assert store.publish_snapshot()  # the other file
            assert store.snapshot_path.resolve() != held
            signup(api)
            store.catch_up()
            assert not store.publish_snapshot()  # the held file: skipped, the link stays on the other one
            assert store.snapshot_path.resolve() != held
        finally:
            reader.kill()
            reader.wait()
        assert store.publish_snapshot() and store.snapshot_path.resolve() == held
        assert_snapshot_equals_store(store)


def base_storage(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Where each base table of a snapshot file lies: its segments and the blocks holding them."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            table: con.execute(
                "SELECT row_group_id, column_id, segment_id, start, count, block_id, block_offset "
                f"FROM pragma_storage_info('{snapshot.BASE}.{table}') ORDER BY ALL"
            ).fetchall()
            + con.execute(f"SELECT count(*) FROM {snapshot.BASE}.{table}").fetchall()  # deletes keep the blocks
            for table in snapshot.KEYED
        }
    finally:
        con.close()


def delta_keys(path: Path, table: str) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {row[0] for row in con.execute(f"SELECT {snapshot.KEY} FROM {snapshot.DELTA}.{table}_keys").fetchall()}
    finally:
        con.close()


def paid_appointment(consultant: str, client: str) -> list[Any]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    appointment_id = new_object_id()
    return [
        Appointment(
            appointment_id=appointment_id,
            consultant_id=consultant,
            client_id=client,
            start=start,
            end=start + timedelta(hours=1),
            status="Upcoming",
            expires_at=None,
            fields={"fee": 1000, "session": "Video Call", "category": "Legal"},
            created_by="Client",
        ),
        Transaction(
            transaction_id=new_object_id(),
            kind="Payment",
            status="Success",
            amount=Decimal(1000),
            platform_fee=Decimal(100),
            net_amount=Decimal(900),
            currency="INR",
            user_id=client,
            consultant_id=consultant,
            appointment_id=appointment_id,
            payment_method="Razorpay",
            reference="order_test",
            metadata={},
            snapshots={},
        ),
    ]


def test_a_refresh_does_not_write_the_base(settings: Settings, container: Any) -> None:
    """After the full copies, refreshes write only the delta: every base table of both files keeps its
    blocks, the delta holds exactly the changed keys; a fold then moves the delta into the base."""
    for person in (*history.CONSULTANTS, *history.CLIENTS):
        person.id = ""
    store = open_store(settings, container)  # no background loop, no periodic publisher: the test refreshes
    try:
        history.script(container)
        store.catch_up()
        assert store.publish_snapshot(force=True) and store.publish_snapshot(force=True)  # both files: full copies
        files = store._buffers.files
        before = {name: base_storage(path) for name, path in files.items()}
        assert before["a"]["transactions"] and before["b"]["transactions"]
        a, k1 = history.by_key(history.CONSULTANTS)["A"], history.by_key(history.CLIENTS)["k1"]
        for change in (
            lambda: container.market.save(*paid_appointment(a.id, k1.id)),
            lambda: container.people.create_category({"title": "Wellness"}),
            lambda: container.market.save(*paid_appointment(a.id, k1.id)),
            lambda: container.people.set_consultant_status(a.id, "approve"),
        ):
            change()
            store.catch_up()
            assert store.publish_snapshot() and store.last_refresh_incremental and not store._buffers.folded
            assert_snapshot_equals_store(store)
        with store.reading() as con:
            paid = {
                row[0] for row in con.execute("SELECT id FROM transactions WHERE reference = 'order_test'").fetchall()
            }
        assert len(paid) == 2
        for name, path in files.items():
            assert base_storage(path) == before[name], name  # not one block of the bases was rewritten
            assert delta_keys(path, "transactions") == paid, name
        store._buffers.fold_rows = 0  # the next refresh folds its file's delta into the base
        container.market.save(*paid_appointment(a.id, k1.id))
        store.catch_up()
        assert store.publish_snapshot() and store._buffers.folded
        assert_snapshot_equals_store(store)
        folded = store.snapshot_path.resolve()
        assert all(not delta_keys(folded, table) for table in snapshot.KEYED)
        name = next(name for name, path in files.items() if path == folded)
        assert base_storage(folded)["transactions"] != before[name]["transactions"]
    finally:
        store.close()
