"""Read models of the people projection (`infrastructure.people_projection`): the inbox and the
client-consultant links. Same `MetaData` as the other read models; created by migration 0008."""

from __future__ import annotations

import sqlalchemy as sa

from infrastructure.tables import ID, UtcDateTime, metadata

# Client-consultant links (people.md §2). `id` is the link's public id (from its aggregate id).
links = sa.Table(
    "links",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("client_id", ID, nullable=False),
    sa.Column("consultant_id", ID, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("linked_at", UtcDateTime, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("client_id", "consultant_id", name="uq_links_pair"),
    sa.Index("ix_links_consultant", "consultant_id", "status"),
)

# Every stored notification (people.md §1.1): audience columns, the filterable fields, and the
# document. `read_at` is the read state of a personal notification (broadcasts: `inbox_states`).
inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("recipient", ID, nullable=True),
    sa.Column("recipient_role", sa.String(16), nullable=True),
    sa.Column("is_global", sa.Boolean, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("priority", sa.String(16), nullable=False),
    sa.Column("read_at", UtcDateTime, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Index("ix_inbox_recipient", "recipient", "seq"),
    sa.Index("ix_inbox_role", "recipient_role", "seq"),
    sa.Index("ix_inbox_global", "is_global", "seq"),
    sa.Index("ix_inbox_expires", "expires_at"),
)

# A reader's state of a broadcast it can see: read (when) and/or hidden (deleted for that reader).
inbox_states = sa.Table(
    "inbox_states",
    metadata,
    sa.Column("reader_id", ID, nullable=False),
    sa.Column("notification_id", ID, nullable=False),
    sa.Column("read_at", UtcDateTime, nullable=True),
    sa.Column("hidden", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("reader_id", "notification_id"),
    sa.Index("ix_inbox_states_notification", "notification_id"),
)

# Counters kept by the projection, so the unread count is a lookup of four rows:
#   `user:<id>`   unread personal notifications of an account,
#   `role:<Role>` broadcasts to that role, `global` global broadcasts,
#   `seen:<id>`   broadcasts that account has read or hidden.
# unread(reader) = user + role + global - seen. Notifications with an `expiresAt` are left out of
# the counters and counted live (an indexed range of the unexpired ones), so expiry needs no event.
inbox_counters = sa.Table(
    "inbox_counters",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

PEOPLE_TABLES = (links, inbox, inbox_states, inbox_counters)
