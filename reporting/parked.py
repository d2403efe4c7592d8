"""Parked events of the DuckDB reporting projection (the read models' are in `parked_events`).

An event the reporting projection cannot apply is kept in `reporting_parked` with its error, in the
same DuckDB transaction that advances the tracking position past it; the projection goes on with
the next event. A failed batch is applied again in halves, down to the single event that fails, so
one bad event never costs the good events of its batch."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import duckdb

from infrastructure.parking import Parked, changed, error_text, originator_of

log = logging.getLogger(__name__)
PROJECTION = "reporting"
TABLE = "reporting_parked"
DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    position BIGINT PRIMARY KEY, projection VARCHAR NOT NULL, topic VARCHAR NOT NULL, originator_id VARCHAR,
    error VARCHAR NOT NULL, parked_at TIMESTAMP NOT NULL, attempts INTEGER NOT NULL DEFAULT 1)"""
# Errors that say nothing about the event: the batch is retried, nothing is parked.
TRANSIENT = (duckdb.IOException, duckdb.OutOfMemoryException, duckdb.InterruptException, duckdb.FatalException)


def record(con: duckdb.DuckDBPyConnection, notification: Any, error: BaseException) -> Parked:
    """Park `notification` in the caller's DuckDB transaction."""
    changed()
    parked = Parked(
        PROJECTION,
        int(notification.id),
        str(notification.topic),
        originator_of(notification),
        error_text(error),
        datetime.now(UTC),
    )
    row = con.execute(f"SELECT attempts FROM {TABLE} WHERE position = ?", [parked.position]).fetchone()
    con.execute(f"DELETE FROM {TABLE} WHERE position = ?", [parked.position])
    con.execute(
        f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            parked.position,
            PROJECTION,
            parked.topic,
            parked.originator_id,
            parked.error,
            parked.parked_at.replace(tzinfo=None),
            (row[0] if row else 0) + 1,
        ],
    )
    log.error(
        "PARKED event at position %s (topic %s, originator %s) in projection %s: %s",
        parked.position,
        parked.topic,
        parked.originator_id,
        PROJECTION,
        parked.error,
    )
    return parked


def listed(con: duckdb.DuckDBPyConnection, position: int | None = None) -> list[Parked]:
    query = f"SELECT projection, position, topic, originator_id, error, parked_at, attempts FROM {TABLE}"
    rows = con.execute(
        query + (" WHERE position = ?" if position is not None else "") + " ORDER BY position",
        [position] if position is not None else [],
    ).fetchall()
    return [
        Parked(projection, position, topic, origin, error, at.replace(tzinfo=UTC), attempts)
        for projection, position, topic, origin, error, at, attempts in rows
    ]


def count(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    return int(row[0]) if row else 0


def unpark(con: duckdb.DuckDBPyConnection, position: int) -> None:
    changed()
    con.execute(f"DELETE FROM {TABLE} WHERE position = ?", [position])
