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

# The audiences' partial indexes (also written out in migrations 0016 and 0022): (name, leading columns,
# rows, rows on SQLite, which matches a partial index's WHERE against the query's terms as written:
# `is_global = 1`). The global ones lead with (`created_at`, `seq`): their rows all have `is_global`, and
# the planner drops a condition the predicate implies from the scan's, so behind a leading `is_global` a
# bound on those two (`infrastructure.inbox_bounds`) would not stop the scan.
AUDIENCE_INDEXES: tuple[tuple[str, list[str], str, str], ...] = (
    ("recipient", ["recipient"], "recipient IS NOT NULL", "recipient IS NOT NULL"),
    ("role", ["recipient_role"], "recipient_role IS NOT NULL", "recipient_role IS NOT NULL"),
    ("global", [], "is_global", "is_global = 1"),
)


def audience_indexes() -> list[sa.Index]:
    """Per audience (personal, a role's broadcasts, global ones), in the list's default order, and the
    same within each category: a page is the merge of each audience's newest rows (`infrastructure.
    inbox_queries`). Each holds the rows of its audience only, so a notification is in two of them."""
    indexes = []
    for name, leading, rows, sqlite_rows in AUDIENCE_INDEXES:
        for suffix, ordered in (("created", ["created_at", "seq"]), ("category", ["category", "created_at", "seq"])):
            where = {"postgresql_where": sa.text(rows), "sqlite_where": sa.text(sqlite_rows)}
            indexes.append(sa.Index(f"ix_inbox_{name}_{suffix}", *leading, *ordered, **where))  # type: ignore[arg-type]
    return indexes


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
    *audience_indexes(),
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

# Counters kept by the projection, so the unread count and a list's total are lookups of a few rows:
#   `user:<id>`   unread personal notifications of an account, `mine:<id>` all of them,
#   `role:<Role>` broadcasts to that role, `global` global broadcasts,
#   `seen:<id>`   broadcasts that account has read or hidden, `hidden:<id>` those it has hidden;
# and each of them per category, as `<key>:<category>` (`global:payments`, `user:<id>:system`).
# unread(reader) = user + role + global - seen; visible(reader) = mine + role + global - hidden.
# Notifications with an `expiresAt` are left out of the counters and counted live (an indexed range
# of the unexpired ones), so expiry needs no event.
inbox_counters = sa.Table(
    "inbox_counters",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

# Where a reader's hidden broadcasts end (migration 0022): per reader and broadcast audience (`global`,
# `role:<Role>`), a bound (`created_at`, `seq`) below which every notification of that audience is hidden
# by the reader, so its lists start their walk of that audience there instead of stepping over every
# broadcast it has cleared. The people projection moves it up past what a hide leaves hidden, and down
# to a broadcast projected below it (an earlier `createdAt`, as an import's). No row: no bound.
inbox_bounds = sa.Table(
    "inbox_bounds",
    metadata,
    sa.Column("reader_id", ID, nullable=False),
    sa.Column("audience", sa.String(24), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("reader_id", "audience"),
    sa.Index("ix_inbox_bounds_audience", "audience", "created_at", "seq"),
)

# Each consultant's Active links (the `clientsCount` of the consultant lists, the catalogue's client
# counts), kept by the projection with each link event (migration 0018), instead of a count of links.
link_counters = sa.Table(
    "link_counters",
    metadata,
    sa.Column("consultant_id", ID, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

PEOPLE_TABLES = (links, inbox, inbox_states, inbox_counters, inbox_bounds, link_counters)
