"""Hold expiry is decided on instants, never on the text of an ISO timestamp (issue 13, §2 Time)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa

from infrastructure.appointment_queries import AppointmentQueries, hold_expired
from infrastructure.tables import appointments, metadata

NOW = datetime(2026, 1, 5, 10, 0, 0, 500_000, tzinfo=UTC)


def test_expiry_compares_instants_whatever_the_iso_spelling():
    assert hold_expired("2026-01-05T10:00:00Z", NOW)  # as text, "Z" sorts after ".500Z": not expired
    assert hold_expired("2026-01-05T10:00:00.000+00:00", NOW)
    assert hold_expired("2026-01-05T15:30:00+05:30", NOW)  # the same instant in IST
    assert not hold_expired("2026-01-05T10:00:00.501Z", NOW)
    assert not hold_expired("2026-01-05T15:30:01+05:30", NOW)
    assert hold_expired(None, NOW) and hold_expired("", NOW)
    ist_now = NOW.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert hold_expired("2026-01-05T10:00:00.500Z", ist_now)


def test_the_scheduler_finds_the_hold_that_expired_within_the_second():
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine, tables=[appointments])
    rows = {"a" * 24: "2026-01-05T10:00:00Z", "b" * 24: "2026-01-05T10:00:01.000Z"}
    with engine.begin() as conn:
        for appointment_id, expires_at in rows.items():
            conn.execute(
                appointments.insert().values(
                    id=appointment_id,
                    consultant_id="c" * 24,
                    client_id="d" * 24,
                    status="Hold",
                    start_at=NOW + timedelta(days=1),
                    end_at=NOW + timedelta(days=1, hours=1),
                    document=json.dumps({"_id": appointment_id, "status": "Hold", "expiresAt": expires_at}),
                )
            )
    assert AppointmentQueries(engine).due(NOW, timedelta(hours=1))["expire"] == ["a" * 24]
