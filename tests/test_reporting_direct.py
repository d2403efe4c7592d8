"""Direct ingestion (reporting/direct.py): `Transaction.Recorded` events written by DuckDB from their stored
states give the same store, table for table and row for row, as the Python path; every state it cannot
vouch for (rounding, other offsets, missing or mistyped keys, sealed values, states Python refuses...)
goes the Python way, parked as before."""

from __future__ import annotations

import dataclasses
import json
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from infrastructure.settings import Settings
from reporting import direct, direct_appointments, schema
from reporting.store import ReportingStore
from tests import analytics_history as history
from tests.test_analytics_consistency import check_derived

RECORDED = direct.RECORDED
ZONE = "Australia/Lord_Howe"  # a half-hour change of offset in the middle of a UTC hour (15:30 UTC)
DST_START = datetime(2025, 10, 4, 15, 30, tzinfo=UTC)


def _dumps(state: dict[str, Any], ascii_only: bool = False) -> bytes:
    return json.dumps(state, separators=(",", ":"), ensure_ascii=ascii_only).encode()


def _instant(moment: datetime) -> dict[str, str]:
    return {"_type_": "datetime_iso", "_data_": moment.isoformat()}


CLEAN = 7  # the first seven variants are taken
# recorded transactions followed by their variants: each refused variant is parked by halving its batch,
# so every one of them costs a few batches (with all of the history's, the test took 80 s a backend)
VARIED = 3


def _variants(state: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(name, stored state) of copies of one recorded transaction: some DuckDB takes, most it leaves."""

    def changed(**values: Any) -> dict[str, Any]:
        return {**state, **values}

    amount = state["amount"]
    without_currency = dict(state)
    del without_currency["currency"]
    return [
        ("copy", _dumps(state)),  # taken
        ("no fraction of a second", _dumps(changed(timestamp=_instant(datetime(2025, 6, 1, 10, tzinfo=UTC))))),
        ("minus zero", _dumps(changed(amount={**amount, "_data_": "-0.00"}))),
        ("empty appointment", _dumps(changed(appointment_id="", kind="Payment", status="Success"))),
        ("before the change of offset", _dumps(changed(timestamp=_instant(DST_START - timedelta(minutes=50))))),
        ("one decimal", _dumps(changed(amount={**amount, "_data_": "100.5"}))),
        ("flat metadata", _dumps(changed(metadata={"orderId": "o_1", "attempt": 2, "retried": False, "note": None}))),
        # left to Python
        ("keys in another order", _dumps({"kind": state["kind"], **{k: v for k, v in state.items() if k != "kind"}})),
        ("spaces", json.dumps(state, ensure_ascii=False).encode()),
        ("nested metadata", _dumps(changed(metadata={"gateway": {"id": "g"}}))),
        ("NaN in metadata", _dumps(changed(metadata={"x": float("nan")}))),
        ("inf in metadata", _dumps(state)[:-1].replace(b'"metadata":{}', b'"metadata":{"x":inf}') + b"}"),
        ("rounded half up", _dumps(changed(amount={**amount, "_data_": "12.345"}))),
        ("a plain number", _dumps(changed(platform_fee=250))),
        (
            "another offset",
            _dumps(changed(timestamp=_instant(datetime(2025, 6, 1, 10, 0, 0, 5, tzinfo=ZoneInfo("Asia/Kolkata"))))),
        ),
        ("the hour of the change", _dumps(changed(timestamp=_instant(DST_START - timedelta(minutes=20))))),
        ("after the change, same hour", _dumps(changed(timestamp=_instant(DST_START + timedelta(minutes=10))))),
        ("no currency", _dumps(without_currency)),  # parked
        ("kind a number", _dumps(changed(kind=5))),
        ("status null", _dumps(changed(status=None))),
        ("sealed snapshot", _dumps(changed(snapshots={"userSnapshot": {"name": {"_pii": "nobody", "v": "AAAA"}}}))),
        ("trailing comma", _dumps(state)[:-1] + b",}"),  # parked
        ("duplicate key", _dumps(state)[:-1] + b',"kind":"Refund"}'),
        ("class version", _dumps(changed(class_version=2))),
        ("escaped text", _dumps(changed(reference="café"), ascii_only=True)),
        ("compressed", zlib.compress(_dumps(state))),  # parked
        ("unknown transcoding", _dumps(changed(metadata={"x": {"_type_": "bogus", "_data_": 1}}))),  # parked
        ("no such day", _dumps(changed(timestamp={"_type_": "datetime_iso", "_data_": "2025-02-30T10:00:00+00:00"}))),
        ("amount an object of three", _dumps(changed(amount={**amount, "x": 1}))),
        ("seventeen digits", _dumps(changed(amount={**amount, "_data_": "12345678901234567.00"}))),  # parked
    ]


CREATED = direct_appointments.CREATED
APPOINTMENTS_VARIED = 1
APPOINTMENT_CLEAN = 16  # the first sixteen variants are taken
LINKED = "0123456789abcdef01234567"  # the appointment id of a variant a stored payment names


def clean_appointment(state: dict[str, Any]) -> dict[str, Any]:
    """A created appointment as the form the direct path takes: instants in UTC, no snapshot in its fields."""
    out = dict(state)
    for name in ("start", "end"):
        out[name] = _instant(datetime.fromisoformat(state[name]["_data_"]).astimezone(UTC))
    out["fields"] = {k: v for k, v in state["fields"].items() if not k.endswith("Snapshot")}
    return out


def _appointment_variants(state: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(name, stored state) of copies of one created appointment (`clean_appointment`): some DuckDB takes,
    most it leaves."""

    def changed(**values: Any) -> dict[str, Any]:
        return {**state, **values}

    def fields(**values: Any) -> dict[str, Any]:
        return changed(fields={**state["fields"], **values})

    no_fee = changed(fields={k: v for k, v in state["fields"].items() if k != "fee"})
    no_category = changed(fields={k: v for k, v in state["fields"].items() if k != "category"})
    future = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    return [
        ("copy", _dumps(state)),  # taken
        ("no fee", _dumps(no_fee)),
        ("fee null", _dumps(fields(fee=None))),
        ("fee with cents", _dumps(fields(fee=1500.5))),
        ("fee a float", _dumps(fields(fee=1e3))),  # written 1000.0
        ("no category", _dumps(no_category)),
        ("category null", _dumps(fields(category=None))),
        ("category empty", _dumps(fields(category=""))),
        ("category General", _dumps(fields(category="General"))),
        ("consultant null", _dumps(changed(consultant_id=None))),
        ("held", _dumps(changed(status="Hold", expires_at=_instant(future)))),
        ("cancelled", _dumps(changed(status="Cancelled"))),
        ("in the future", _dumps(changed(start=_instant(future), end=_instant(future + timedelta(hours=1))))),
        ("before the change of offset", _dumps(changed(start=_instant(DST_START - timedelta(minutes=50))))),
        ("created before the change", _dumps(changed(timestamp=_instant(DST_START - timedelta(minutes=50))))),
        ("no fraction of a second", _dumps(changed(start=_instant(datetime(2025, 6, 1, 10, tzinfo=UTC))))),
        # left to Python
        ("start in the hour of the change", _dumps(changed(start=_instant(DST_START - timedelta(minutes=20))))),
        ("created in the hour of the change", _dumps(changed(timestamp=_instant(DST_START + timedelta(minutes=5))))),
        ("start in another offset", _dumps(changed(start=_instant(future.astimezone(ZoneInfo("Asia/Kolkata")))))),
        ("a snapshot", _dumps(fields(clientSnapshot={"name": "Asha"}))),
        ("nested field", _dumps(fields(extra={"y": 1}))),
        ("fee as text", _dumps(fields(fee="1500"))),
        ("fee rounded", _dumps(fields(fee=12.345))),
        ("category a number", _dumps(fields(category=5))),
        ("category false", _dumps(fields(category=False))),
        ("duplicate fee", _dumps(state)[:-1].replace(b'"fields":{', b'"fields":{"fee":7,') + b"}"),
        ("escaped text", _dumps(fields(category="Café"), ascii_only=True)),
        ("class version", _dumps(changed(class_version=2))),
        ("status null", _dumps(changed(status=None))),
        ("spaces", json.dumps(state).encode()),
        ("transcoded field", _dumps(changed(fields={"_type_": "bogus", "_data_": 1}))),  # parked
        ("no such day", _dumps(changed(start={"_type_": "datetime_iso", "_data_": "2025-02-30T10:00:00+00:00"}))),
    ]


def mixed_history(notifications: list[Any]) -> list[Any]:
    """The scripted history with, after each of the first `VARIED` recorded transactions, copies of it (new
    aggregates), and clean copies of the first ones at the start of the log (before their appointments exist)."""
    recorded = [n for n in notifications if n.topic == RECORDED]
    assert len(recorded) > 10
    out: list[Any] = []

    def copy(source: Any, state: bytes) -> Any:
        return dataclasses.replace(source, originator_id=uuid.uuid4(), state=state)

    out += [copy(n, n.state) for n in recorded[:8]]
    linked = json.loads(recorded[0].state)  # a payment stored before the appointment it names
    out.append(copy(recorded[0], _dumps({**linked, "kind": "Payment", "status": "Success", "appointment_id": LINKED})))
    varied = appointments = 0
    for n in notifications:
        out.append(n)
        if n.topic == RECORDED and varied < VARIED:
            varied += 1
            state = json.loads(n.state)
            assert _dumps(state) == n.state  # the transcoder's form: the variants differ only where changed
            out += [copy(n, variant) for _, variant in _variants(state)]
        if n.topic == CREATED and appointments < APPOINTMENTS_VARIED:
            appointments += 1
            state = clean_appointment(json.loads(n.state))
            out += [copy(n, variant) for _, variant in _appointment_variants(state)]
            named = uuid.UUID(LINKED + "89abcdef") if appointments == 1 else uuid.uuid4()
            out.append(dataclasses.replace(n, originator_id=named, state=_dumps(state)))
            for payment in (linked, {**linked, "reference": "spaced"}):  # direct and Python payments of it
                paid = {**payment, "kind": "Payment", "status": "Success", "appointment_id": named.hex[:24]}
                out.append(copy(recorded[0], _dumps(paid) if payment is linked else json.dumps(paid).encode()))
    out.append(copy(recorded[0], recorded[0].state.replace(b'"currency":"', b'"currency":"\xff')))
    return [dataclasses.replace(n, id=position) for position, n in enumerate(out, start=1)]


def _store(path: Path, notifications: list[Any], mapper: Any, batch_size: int, direct_path: bool) -> ReportingStore:
    store = ReportingStore(
        path,
        read_notifications=lambda start, limit: notifications[start - 1 : start - 1 + limit],
        decode=mapper.to_domain_event,
        max_position=lambda: len(notifications),
        zone=ZoneInfo(ZONE),
        batch_size=batch_size,
        direct=direct_path,
    )
    if store.direct is not None:
        store.direct.minimum = 1
    store._buffers.exist = lambda: True  # type: ignore[method-assign]  # journal every batch
    return store


def _tables(store: ReportingStore) -> dict[str, list[Any]]:
    with store.reading() as con:
        out = {
            table: con.execute(
                f"SELECT * {'EXCLUDE (parked_at)' if table == 'reporting_parked' else ''} FROM {table} ORDER BY ALL"
            ).fetchall()
            for table in schema.TABLES
        }
        out["journal"] = con.execute("SELECT DISTINCT position, tbl, key FROM reporting_changes").fetchall()
        return out


def scripted(settings: Settings) -> tuple[list[Any], Any]:
    """The scripted history's notifications (with the copies of `mixed_history`) and the application's mapper."""
    with history.played(settings) as (api, _):
        market = api.app.state.container.market
        return mixed_history(list(market.recorder.select_notifications(1, 1_000_000))), market.mapper


def test_direct_ingestion_gives_the_python_paths_store(settings: Settings, tmp_path: Path) -> None:
    """One batch, batches of 25 and of 7 (cut at other places: an aggregate's events in one batch or two)."""
    notifications, mapper = scripted(settings)
    recorded = [n for n in notifications if n.topic == RECORDED]
    for batch_size in (1_000_000, 25, 7):
        decoded: list[Any] = []

        def counting(n: Any, decoded: list[Any] = decoded) -> Any:
            decoded.append(n)
            return mapper.to_domain_event(n)

        both = {}
        for name, on in (("python", False), ("direct", True)):
            store = _store(tmp_path / f"{name}-{batch_size}.duckdb", notifications, mapper, batch_size, on)
            if on:
                store._decode = counting
            try:
                assert store.catch_up() == len(notifications)
                if on and batch_size < len(notifications):  # checked in the reading thread, ahead
                    assert store.direct is not None and store.direct.prepared_taken > 0, batch_size
                check_derived(store)
                both[name] = _tables(store)
            finally:
                store.close()
        python, taken = both["python"], both["direct"]
        journal_python, journal_direct = set(python.pop("journal")), set(taken.pop("journal"))
        for table in python:
            assert taken[table] == python[table], (batch_size, table)
        assert journal_python <= journal_direct, batch_size  # every key the Python path journals (a few groups more)
        assert len(python["reporting_parked"]) >= 6, batch_size
        left = {n.id for n in decoded if n.topic == RECORDED}  # decoded by the mapper: the rest went the direct way
        assert len(recorded) - len(left) >= CLEAN * VARIED + 8, (batch_size, len(left), len(recorded))
        created = [n for n in notifications if n.topic == CREATED]
        left = {n.id for n in decoded if n.topic == CREATED}
        assert len(created) - len(left) >= APPOINTMENT_CLEAN * APPOINTMENTS_VARIED, (batch_size, len(left))


def test_the_offset_of_an_hour_is_zoneinfos_or_none_when_it_changes_within() -> None:
    zone = ZoneInfo(ZONE)
    hour = datetime(2025, 10, 4, 15)
    assert direct.offset_micros(hour, zone) is None
    for other in (hour - timedelta(hours=1), hour + timedelta(hours=1), datetime(2025, 6, 1, 3)):
        expected = other.replace(tzinfo=UTC).astimezone(zone).utcoffset()
        assert direct.offset_micros(other, zone) == expected // timedelta(microseconds=1)
    assert direct.offset_micros(datetime(2025, 3, 30, 0), ZoneInfo("Europe/Berlin")) == 3_600_000_000
    assert direct.offset_micros(datetime(2025, 3, 30, 1), ZoneInfo("Europe/Berlin")) == 7_200_000_000


def test_the_amounts_taken_are_those_the_python_path_stores_unrounded() -> None:
    """An amount DuckDB takes (`CENTS`) is stored by the Python path with the same value, `exact` not
    rounding it; the texts it refuses include every one `exact` would round or refuse."""
    import re
    from decimal import Decimal

    import duckdb

    from domain.money import exact

    con = duckdb.connect()
    taken = ["0", "-0", "-0.00", "7", "7.5", "7.05", "-12.3", "0012.30", "1234567890123456.99", "-1234567890123456"]
    refused = ["12.345", "0.005", "1e3", "1E+2", "+5", " 5", "5.", ".5", "NaN", "12345678901234567", "1,5", ""]
    for text in taken:
        assert re.fullmatch(direct.CENTS, text), text
        stored = con.execute("SELECT CAST(? AS DECIMAL(18, 2))", [text]).fetchone()[0]
        assert stored == exact(Decimal(text)) and exact(Decimal(text)) == Decimal(text), text
    for text in refused:
        assert not re.fullmatch(direct.CENTS, text), text
