"""The parked events of the read-model projections (see `infrastructure/parking.py`).

An event a projector cannot apply is kept here, with its error, instead of stopping the runner;
`consult doctor` lists these rows and `consult projections retry` re-applies them."""

from __future__ import annotations

import sqlalchemy as sa

from infrastructure.tables import UtcDateTime, metadata

parked_events = sa.Table(
    "parked_events",
    metadata,
    sa.Column("projection", sa.String(64), primary_key=True),  # the projector (`settings`, `ledger`, ...)
    sa.Column("position", sa.BigInteger, primary_key=True),  # the notification id of the event
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("originator_id", sa.String(64), nullable=True),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("parked_at", UtcDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
)
sa.Index("ix_parked_events_position", parked_events.c.position)
