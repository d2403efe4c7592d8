"""Read-model tables (SQLAlchemy Core). Created by the Alembic migrations; rebuilt from events.

Documents are kept as JSON text next to the columns that queries filter and sort on, so a list
answer is an indexed query plus the stored JSON."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from infrastructure.json_text import loads

metadata = sa.MetaData()


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Instants in UTC on every backend (SQLite keeps no offset): aware values are converted to UTC
    on the way in, and come back aware in UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = sa.String(24)

projection_tracking = sa.Table(
    "projection_tracking",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False, server_default="0"),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # consultant | client | user
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("phone", sa.String(32), nullable=False, server_default=""),
    sa.Column("mobile", sa.String(32), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("category_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("subcategory_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),  # notification id of the registration: a total order
    sa.Column("document", sa.Text, nullable=False),
    # Consultants: the public view (`GET /consultants/public`) as JSON without `clientsCount`, so a
    # list answer splices stored text instead of parsing and re-serialising every document.
    sa.Column("public_document", sa.Text, nullable=True),
    sa.Index("ix_accounts_kind_email", "kind", "email"),
    sa.Index("ix_accounts_kind_phone", "kind", "phone"),
    sa.Index("ix_accounts_kind_mobile", "kind", "mobile"),
    sa.Index("ix_accounts_kind_seq", "kind", "seq"),
    sa.Index("ix_accounts_kind_status_seq", "kind", "status", "seq"),  # a list of one status (migration 0020)
    sa.Index("ix_accounts_kind_category", "kind", "category_name"),
)


def among(conn: sa.Connection, column: sa.ColumnElement[Any], values: Iterable[str]) -> sa.ColumnElement[bool]:
    """`column IN values`, for `conn`'s database. On PostgreSQL one array parameter (`column = ANY(:values)`):
    the statement's text is the same however many values, so SQLAlchemy compiles it and psycopg parses and
    prepares it once, where an IN list has a placeholder per value (the 1,400 parties of a 1,000-appointment
    page cost 16 ms of client CPU that way). SQLite takes the IN list."""
    listed = list(values)
    if conn.dialect.name == "postgresql":
        # of unbounded strings (a VARCHAR(24)[] would cut a longer value to a matching id), sent as the
        # array's text: psycopg's list adapter escapes each element in Python (4 ms for 1,400 ids here)
        array = sa.bindparam(None, _array_text(listed), type_=sa.String())
        return column == sa.any_(sa.cast(array, postgresql.ARRAY(sa.String())))
    return column.in_(listed)


def documents_by_id(conn: sa.Connection, table: sa.Table, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored documents of `table`'s rows with these ids (a page's parties, its appointments), parsed, by
    id; none asked, none read."""
    listed = list(ids)
    if not listed:
        return {}
    query = sa.select(table.c.id, table.c.document).where(among(conn, table.c.id, listed))
    return {row.id: loads(row.document) for row in conn.execute(query)}


def _array_text(values: list[str]) -> str:
    """PostgreSQL's text of a one-dimensional array of `values`, each quoted (so `NULL`, commas, braces
    and spaces are plain text), with its backslashes and double quotes escaped."""
    return "{" + ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values) + "}"


def folded(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """The case-folded text that a search matches (`lower(column) LIKE '%needle%'`): the trigram indexes
    below are on these expressions, and a query must write the same one for the planner to use them."""
    return sa.func.lower(column)


# The accounts' text searches (the `search` of `GET /clients`: name, email or mobile; the consultant lists'
# `q`: name) on PostgreSQL: a GIN index of the trigrams of each folded column (`pg_trgm`, migration 0021)
# answers `LIKE '%needle%'` from the accounts that contain the needle's trigrams, where a scan read every
# account of the kind. SQLite has no such index: it scans, and gets none of these.
ACCOUNT_SEARCH_COLUMNS = ("name", "email", "mobile")
# a store made from these declarations (`metadata.create_all`) needs the extension before either table
TRIGRAMS = sa.DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql")
sa.event.listen(accounts, "before_create", TRIGRAMS)
ACCOUNT_SEARCH_INDEXES = [  # on `accounts` (made from its columns)
    sa.Index(
        f"ix_accounts_{column}_trgm",
        folded(accounts.c[column]).label(column),
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")
    for column in ACCOUNT_SEARCH_COLUMNS
]

# Accounts per kind and status (`""`: none), kept by the directory projection: the `total` of the admin's
# `GET /clients` without a text search, instead of a count of the accounts (migration 0020).
account_counters = sa.Table(
    "account_counters",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

# One row per entry of a consultant's `categories[]` (the category filter and the stats read it).
consultant_categories = sa.Table(
    "consultant_categories",
    metadata,
    sa.Column("consultant_id", ID, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("category_id", ID, nullable=True),
    sa.Column("category_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("subcategory_id", ID, nullable=True),
    sa.Column("subcategory_name", sa.String(200), nullable=False, server_default=""),
    sa.PrimaryKeyConstraint("consultant_id", "position"),
    sa.Index("ix_consultant_categories_name", "category_name"),
    sa.Index("ix_consultant_categories_category", "category_id"),
    sa.Index("ix_consultant_categories_subcategory", "subcategory_id"),
)

categories = sa.Table(
    "categories",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("parent_id", ID, nullable=True),  # set for subcategories
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Index("ix_categories_parent", "parent_id"),
)

# Client-consultant relationships (created by the first successful booking).
client_links = sa.Table(
    "client_links",
    metadata,
    sa.Column("client_id", ID, nullable=False),
    sa.Column("consultant_id", ID, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.PrimaryKeyConstraint("client_id", "consultant_id"),
    sa.Index("ix_client_links_consultant", "consultant_id", "status"),
)

# Consultant settings documents (GET /consultant-settings) and the availability the slot rule reads.
consultant_settings = sa.Table(
    "consultant_settings",
    metadata,
    sa.Column("consultant_id", ID, primary_key=True),
    sa.Column("aggregate_id", sa.String(32), nullable=False, unique=True),
    sa.Column("document", sa.Text, nullable=False),
)

# Live bookings per consultant for the slot rule: appointments and holds (kept by the appointments
# projection; completed ones stay, so the table grows with history). `expires_at` is set for holds; an
# expired hold never blocks a slot. Indexed by end: a slot read scans the bookings ending after its day starts.
slot_bookings = sa.Table(
    "slot_bookings",
    metadata,
    sa.Column("appointment_id", ID, primary_key=True),
    sa.Column("consultant_id", ID, nullable=False),
    sa.Column("client_id", ID, nullable=True),
    sa.Column("start_at", UtcDateTime, nullable=False),
    sa.Column("end_at", UtcDateTime, nullable=False),
    sa.Column("is_hold", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("expires_at", UtcDateTime, nullable=True),
    sa.Index("ix_slot_bookings_consultant_end", "consultant_id", "end_at"),  # the range of a slot read: see slots.py
)

# Appointments as the routes answer them (holds included; expired holds and deleted ones removed).
appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("consultant_id", ID, nullable=False),
    sa.Column("client_id", ID, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_at", UtcDateTime, nullable=False),
    sa.Column("end_at", UtcDateTime, nullable=False),
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("document", sa.Text, nullable=False),
    sa.Index("ix_appointments_consultant_start", "consultant_id", "start_at"),
    sa.Index("ix_appointments_client_start", "client_id", "start_at"),
    sa.Index("ix_appointments_status_start", "status", "start_at"),
    sa.Index("ix_appointments_start", "start_at", "id"),  # the admin's list, in its order (migration 0017)
)
# The lists' `q` (`search_text LIKE '%needle%'`: the reason and notes, case-folded by the projection) on
# PostgreSQL: a GIN index of its trigrams (`pg_trgm`, migration 0024) answers a rare needle from the
# appointments holding its trigrams, where the ordered walk read every appointment; a common one is still
# walked in order, the planner judging from the statistics of the column. SQLite scans.
sa.event.listen(appointments, "before_create", TRIGRAMS)
APPOINTMENT_SEARCH_INDEX = sa.Index(
    "ix_appointments_search_trgm",
    appointments.c.search_text,
    postgresql_using="gin",
    postgresql_ops={"search_text": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")

# Per consultant and client: the consultant's Completed appointments with the client and the latest start
# (the `sessions` and `lastSession*` of its client list), kept by the appointments projection: the pair's
# row is counted again from its appointments whenever one of them enters or leaves `Completed` or moves
# while in it (migration 0019).
client_sessions = sa.Table(
    "client_sessions",
    metadata,
    sa.Column("consultant_id", ID, primary_key=True),
    sa.Column("client_id", ID, primary_key=True),
    sa.Column("sessions", sa.BigInteger, nullable=False),
    sa.Column("last_start_at", UtcDateTime, nullable=False),
)

# The ledger: one row per transaction (payment, refund, payout, adjustment) as GET /transactions
# answers it (parties populated at read time), kept by the ledger projection.
transactions = sa.Table(
    "transactions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=True),
    sa.Column("consultant_id", sa.String(64), nullable=True),
    sa.Column("appointment_id", sa.String(64), nullable=True),
    sa.Column("order_id", sa.String(64), nullable=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("net_minor", sa.BigInteger, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),  # notification id of the recording: a total order
    sa.Column("document", sa.Text, nullable=False),
    sa.Index("ix_transactions_seq", "seq"),
    sa.Index("ix_transactions_consultant_seq", "consultant_id", "seq"),
    sa.Index("ix_transactions_user_seq", "user_id", "seq"),
    sa.Index("ix_transactions_order", "order_id"),
    sa.Index("ix_transactions_appointment", "appointment_id"),
    sa.Index("ix_transactions_kind_created", "kind", "created_at"),
)

# How many transactions each list of GET /transactions has, kept by the ledger projection beside the rows
# (a list's `total` is then a lookup, not a count of the ledger): per `scope` and `party` (`all` with party
# ''; `user`, `consultant`: the party's rows as user or as consultant; `both`: as both at once) and `kind`.
transaction_counters = sa.Table(
    "transaction_counters",
    metadata,
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("party", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

# Each consultant's earnings aggregate as the balance read model (minor units), kept by running totals:
# an event changes the totals and at most one payment row or one completion row, whatever the history.
consultant_balances = sa.Table(
    "consultant_balances",
    metadata,
    sa.Column("consultant_id", ID, primary_key=True),
    sa.Column("aggregate_id", sa.String(32), nullable=False, unique=True),
    sa.Column("earned_minor", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("paid_out_minor", sa.BigInteger, nullable=False, server_default="0"),
)
# The payments an earnings aggregate counts (net in minor units); one counts once its appointment is
# Completed, or at once when it has none.
balance_payments = sa.Table(
    "balance_payments",
    metadata,
    sa.Column("aggregate_id", sa.String(32), primary_key=True),
    sa.Column("transaction_id", sa.String(64), primary_key=True),
    sa.Column("appointment_id", sa.String(64), nullable=True),
    sa.Column("net_minor", sa.BigInteger, nullable=False),
    sa.Index("ix_balance_payments_appointment", "aggregate_id", "appointment_id"),
)
# The appointments an earnings aggregate knows Completed.
balance_completions = sa.Table(
    "balance_completions",
    metadata,
    sa.Column("aggregate_id", sa.String(32), primary_key=True),
    sa.Column("appointment_id", sa.String(64), primary_key=True),
)

# Secrets with an expiry: not events (ARCHITECTURE.md). Only hashes are stored.
otp_codes = sa.Table(
    "otp_codes",
    metadata,
    sa.Column("mobile", sa.String(32), primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
)

reset_tokens = sa.Table(
    "reset_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("account_id", ID, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_reset_tokens_account", "kind", "account_id"),
)

READ_MODEL_TABLES = (
    accounts,
    account_counters,
    consultant_categories,
    categories,
    client_links,
    consultant_settings,
    slot_bookings,
    appointments,
    client_sessions,
    transactions,
    transaction_counters,
    consultant_balances,
    balance_payments,
    balance_completions,
)
