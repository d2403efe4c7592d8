"""The key table of crypto-shredding: one AES-256 key per person, kept OUTSIDE the event store (in the
read-model database, which is never replayed from events and never reset by `consult rebuild`).

A row whose `key` is NULL is a tombstone: the person was erased and the key destroyed. Encoding
personal data of a tombstoned subject writes the placeholder instead; decoding yields placeholders."""

from __future__ import annotations

import sqlalchemy as sa

from infrastructure.tables import metadata

privacy_keys = sa.Table(
    "privacy_keys",
    metadata,
    sa.Column("subject", sa.String(64), primary_key=True),  # the person's account id
    sa.Column("key", sa.LargeBinary, nullable=True),  # 32 bytes; NULL once destroyed
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("destroyed_at", sa.Float, nullable=True),
)
