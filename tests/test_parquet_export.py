"""`consult report export --parquet DIR`: the reporting store as Parquet partitions that DuckDB reads
back to the same overview as `GET /analytics/overview` (the same SQL, pointed at views over the
Parquet files), and an incremental second export that rewrites only the partitions that changed."""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from domain.ids import new_object_id
from domain.ledger import Transaction
from infrastructure.settings import Settings
from interfaces import cli
from reporting import parquet_export
from reporting.overview import overview
from tests import analytics_history as history
from tests.conftest import bearer
from tests.test_analytics_consistency import PERIODS
from tests.test_appointments import next_weekday, slot_body

API = "/api/v1"


def from_parquet(directory: Path, analytics: Any) -> list[dict[str, Any]]:
    """The overview of every period of PERIODS computed by reporting/overview.py over the export."""
    con = duckdb.connect()
    try:
        parquet_export.attach(con, directory)
        now = history.NOW
        local, utc = now.astimezone(analytics.zone).replace(tzinfo=None), now.astimezone(UTC).replace(tzinfo=None)
        return [overview(con, analytics.period(*period), local, utc) for period in PERIODS]
    finally:
        con.close()


def stamps(directory: Path) -> dict[str, tuple[int, int]]:
    """Partition -> (inode, mtime_ns) of its file: a rewritten file (temporary file renamed) changes both."""
    manifest = parquet_export.read_manifest(directory)
    out = {}
    for partition in manifest["partitions"]:
        status = parquet_export.file_of(directory, partition).stat()
        out[partition] = (status.st_ino, status.st_mtime_ns)
    return out


def export_through_cli(settings: Settings, container: Any, directory: Path, monkeypatch: Any) -> dict[str, Any]:
    container.reporting.catch_up()
    container.reporting.publish_snapshot(force=True)
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    assert cli.main(["report", "export", "--parquet", str(directory)]) == 0
    return parquet_export.read_manifest(directory)


def test_parquet_export_reads_back_to_the_overview_and_is_incremental(
    settings: Settings, tmp_path: Path, monkeypatch: Any
) -> None:
    out = tmp_path / "parquet"
    with history.played(settings) as (api, token):
        admin = bearer(token)
        container = api.app.state.container
        analytics = container.analytics
        analytics.clock = lambda: history.NOW
        expected = [analytics.overview(analytics.period(*period)) for period in PERIODS]

        manifest = export_through_cli(settings, container, out, monkeypatch)
        assert manifest["position"] == container.reporting.position
        months = {p for p in manifest["partitions"] if p.startswith("transactions/month=2024")}
        assert len(months) >= 3, manifest["partitions"].keys()  # the facts are split by month
        assert from_parquet(out, analytics) == expected
        # any Parquet reader: the files are plain Parquet (hive-style month directories)
        rows = (
            duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{out}/transactions/*/*.parquet')").fetchone()
        )
        assert rows is not None and rows[0] == sum(
            v["rows"] for k, v in manifest["partitions"].items() if k.startswith("transactions/")
        )
        # exporting again with nothing new writes nothing
        before = stamps(out)
        again = export_through_cli(settings, container, out, monkeypatch)
        assert stamps(out) == before and again["partitions"] == manifest["partitions"]

        # new events: a payout in June 2025 and an appointment booked over HTTP
        a, k1 = history.by_key(history.CONSULTANTS)["A"], history.by_key(history.CLIENTS)["k1"]
        with history.at(history.ist(2025, 6, 10)):
            container.market.save(
                Transaction(
                    transaction_id=new_object_id(),
                    kind="Payout",
                    status="Success",
                    amount=Decimal(300),
                    platform_fee=Decimal(0),
                    net_amount=Decimal(300),
                    currency="INR",
                    user_id=None,
                    consultant_id=a.id,
                    appointment_id=None,
                    payment_method="Manual",
                    reference="",
                    metadata={},
                    snapshots={},
                )
            )
        day = next_weekday(3)
        made = api.post(
            f"{API}/appointments",
            headers=admin,
            json=slot_body(a.id, k1.id, day, "09:00", "10:00", status="Upcoming", session="Video Call"),
        )
        assert made.status_code == 201, made.text
        changed = [analytics.overview(analytics.period(*period)) for period in PERIODS]
        assert changed != expected

        after = export_through_cli(settings, container, out, monkeypatch)
        assert after["position"] > manifest["position"]
        now = stamps(out)
        rewritten = {p for p in now if before.get(p) != now[p]}
        month = f"appointments/month={day.strftime('%Y-%m')}"
        assert {"transactions/month=2025-06", month, "platform_months", "reporting_tracking"} <= rewritten
        untouched = {p for p in before if p.startswith(("transactions/month=2024", "appointments/month=2024"))}
        assert untouched and not untouched & rewritten  # old months were not rewritten
        assert all(after["partitions"][p]["position"] == manifest["position"] for p in untouched)
        assert from_parquet(out, analytics) == changed
        views = (out / parquet_export.VIEWS_FILE).read_text()
        assert "CREATE OR REPLACE VIEW earned_payments" in views
        assert json.loads((out / parquet_export.MANIFEST).read_text())["position"] == after["position"]


def test_export_without_a_snapshot_is_refused(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "empty"))
    assert cli.main(["report", "export", "--parquet", str(tmp_path / "out")]) == 2
    assert "no reporting snapshot" in capsys.readouterr().err
