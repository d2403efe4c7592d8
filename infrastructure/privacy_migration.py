"""`consult privacy encrypt-existing`: seal the personal fields of events stored before crypto-shredding
existed, in place, without losing any history.

Each stored event of a topic with personal fields is decoded, its clear personal leaves are sealed
exactly as the mapper seals new events (same keys, same envelope), and its `state` is rewritten in
the same row (same originator id, version and notification id: nothing of the log's order changes).
Sealed leaves are left alone, so running it again changes nothing (idempotent). Run it with the
service stopped (a running process keeps decoded states in memory, which stay correct, but a write
racing the rewrite of the same row is not guarded). `vacuum=True` then compacts the events table so
the replaced clear bytes do not linger in free pages (PostgreSQL `VACUUM FULL`, SQLite `VACUUM`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from infrastructure.personal_fields import RULES
from infrastructure.privacy_mapper import APPOINTMENT_CREATED, PersonalDataMapper

BATCH = 500


def encrypt_existing(
    market: Any, engine: sa.Engine, *, vacuum: bool = False, progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Returns (events read, events rewritten)."""
    mapper = market.mapper
    assert isinstance(mapper, PersonalDataMapper) and mapper.sealer is not None, "build() attaches the keys"
    sealer, transcoder, recorder = mapper.sealer, mapper.transcoder, market.recorder
    postgres = engine.dialect.name == "postgresql"
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"' if postgres else recorder.events_table_name
    update = sa.text(f"UPDATE {table} SET state = :state WHERE originator_id = :id AND originator_version = :version")
    read = rewritten = 0
    start = 1
    while True:
        notifications = list(recorder.select_notifications(start, BATCH))
        if not notifications:
            break
        changes: list[dict[str, Any]] = []
        for notification in notifications:
            fields = RULES.get(notification.topic)
            if not fields:
                continue
            state = transcoder.decode(bytes(notification.state))
            if notification.topic == APPOINTMENT_CREATED:
                sealer.remember_parties(notification.originator_id, state.get("client_id"), state.get("consultant_id"))
            sealed = sealer.seal(fields, state, notification.originator_id)
            if sealed != state:
                changes.append(
                    {
                        "state": transcoder.encode(sealed),
                        "id": str(notification.originator_id) if postgres else notification.originator_id.hex,
                        "version": notification.originator_version,
                    }
                )
        if changes:
            with engine.begin() as conn:
                conn.execute(update, changes)
            rewritten += len(changes)
        read += len(notifications)
        if progress is not None:
            progress(len(notifications))
        start = notifications[-1].id + 1
    if vacuum:  # outside any transaction: an engine of its own, without the write engine's BEGIN hooks
        own = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        try:
            with own.connect() as conn:
                conn.exec_driver_sql(f"VACUUM FULL {table}" if postgres else "VACUUM")
                if not postgres:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            own.dispose()
    return read, rewritten
