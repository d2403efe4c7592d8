"""The DuckDB tables of the reporting store (facts, dimensions, views) and its tracking table.

Every table is rebuilt from the events alone (the upcoming index from the events and its
`upcoming_since` mark, reporting/upcoming.py). Instants are stored twice: `*_at` in UTC and
`*_local` as the wall clock of the business time zone (naive), so calendar windows are plain
half-open comparisons on `*_local` and analysts can group by month with `date_trunc`.
Column meanings are documented in docs/REPORTING.md; keep the two in step."""

from __future__ import annotations

import duckdb

from reporting import parked
from reporting.rollups import ROLLUPS

# Bump when a table changes shape or meaning: the store is then dropped and rebuilt from the events.
SCHEMA_VERSION = 7
TRACKING = "reporting"

TABLES = (
    "consultants",
    "clients",
    "categories",
    "consultant_categories",
    "client_consultants",
    "appointments",
    "transactions",
    *(rollup.table for rollup in ROLLUPS),
    "upcoming_appointments",
    "upcoming_soon",
    parked.TABLE,
)
VIEWS = ("appointment_facts", "successful_payments", "earned_payments", "payouts", "monthly_consultant_revenue")

DDL = [
    """CREATE TABLE IF NOT EXISTS reporting_tracking (
        name VARCHAR PRIMARY KEY, position BIGINT NOT NULL, schema_version INTEGER NOT NULL,
        business_timezone VARCHAR NOT NULL, upcoming_since TIMESTAMP NOT NULL DEFAULT TIMESTAMP '1970-01-01',
        upcoming_until TIMESTAMP NOT NULL DEFAULT TIMESTAMP 'infinity')""",
    """CREATE TABLE IF NOT EXISTS consultants (
        id VARCHAR PRIMARY KEY, name VARCHAR, email VARCHAR, status VARCHAR, primary_category VARCHAR,
        primary_subcategory VARCHAR, fees DECIMAL(18, 2), platform_percent DECIMAL(9, 4),
        created_at TIMESTAMP, created_local TIMESTAMP, deleted BOOLEAN NOT NULL, name_fields VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS clients (
        id VARCHAR PRIMARY KEY, name VARCHAR, email VARCHAR, status VARCHAR, avatar VARCHAR,
        created_at TIMESTAMP, created_local TIMESTAMP, deleted BOOLEAN NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS categories (
        id VARCHAR PRIMARY KEY, title VARCHAR, parent_id VARCHAR, status VARCHAR, deleted BOOLEAN NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS consultant_categories (
        consultant_id VARCHAR NOT NULL, position INTEGER NOT NULL, category_id VARCHAR, category_name VARCHAR,
        subcategory_id VARCHAR, subcategory_name VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS client_consultants (
        client_id VARCHAR NOT NULL, consultant_id VARCHAR NOT NULL, status VARCHAR NOT NULL,
        created_at TIMESTAMP, created_local TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS appointments (
        id VARCHAR PRIMARY KEY, consultant_id VARCHAR, client_id VARCHAR, status VARCHAR,
        start_at TIMESTAMP, end_at TIMESTAMP, start_local TIMESTAMP, created_at TIMESTAMP,
        created_local TIMESTAMP, fee DECIMAL(18, 2), category VARCHAR, client_name VARCHAR,
        consultant_name VARCHAR, created_by VARCHAR, deleted BOOLEAN NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS transactions (
        id VARCHAR PRIMARY KEY, kind VARCHAR, status VARCHAR, amount DECIMAL(18, 2),
        platform_fee DECIMAL(18, 2), net_amount DECIMAL(18, 2), currency VARCHAR, user_id VARCHAR,
        consultant_id VARCHAR, appointment_id VARCHAR, payment_method VARCHAR, reference VARCHAR,
        refund_id VARCHAR, created_at TIMESTAMP, created_local TIMESTAMP, updated_at TIMESTAMP,
        earned BOOLEAN NOT NULL)""",
    # the rollups kept by the projection (reporting/rollups.py)
    *(rollup.ddl() for rollup in ROLLUPS),
    # the listable appointments from reporting_tracking.upcoming_since on (reporting/upcoming.py)
    "CREATE TABLE IF NOT EXISTS upcoming_appointments (id VARCHAR PRIMARY KEY, start_at TIMESTAMP NOT NULL)",
    # its part before reporting_tracking.upcoming_until, which the overview reads first (reporting/upcoming.py)
    "CREATE TABLE IF NOT EXISTS upcoming_soon (id VARCHAR NOT NULL, start_at TIMESTAMP NOT NULL)",
    # the events this projection could not apply (reporting/parked.py)
    parked.DDL,
    # -- views: the definitions every analytics answer shares ----------------------------------------
    """CREATE OR REPLACE VIEW appointment_facts AS
        SELECT a.*, coalesce(nullif(nullif(a.category, ''), 'General'), nullif(c.primary_category, ''),
                             'General') AS category_resolved,
               (a.status NOT IN ('Hold', 'Expired')) AS counted
        FROM appointments a LEFT JOIN consultants c ON c.id = a.consultant_id
        WHERE NOT a.deleted""",
    """CREATE OR REPLACE VIEW successful_payments AS
        SELECT * FROM transactions WHERE kind = 'Payment' AND status = 'Success'""",
    # The one earnings rule (CONTRACT.md "Earnings"): Success payments whose appointment is Completed;
    # payments with no appointment count at once; a deleted appointment keeps its last status (as the
    # write side's `Earnings` aggregate, which payouts are checked against, does). The
    # projection keeps `transactions.earned` equal to that rule (reporting/projection.py, `_derive_earned`).
    """CREATE OR REPLACE VIEW earned_payments AS SELECT * FROM transactions WHERE earned""",
    """CREATE OR REPLACE VIEW payouts AS
        SELECT * FROM transactions WHERE kind = 'Payout'""",
    """CREATE OR REPLACE VIEW monthly_consultant_revenue AS
        SELECT consultant_id, date_trunc('month', created_local) AS month, count(*) AS payments,
               sum(amount) AS gmv, sum(platform_fee) AS platform_revenue, sum(net_amount) AS consultant_share
        FROM successful_payments GROUP BY ALL""",
]
INDEXES = [
    "CREATE INDEX IF NOT EXISTS consultant_categories_by_consultant ON consultant_categories (consultant_id)",
    "CREATE INDEX IF NOT EXISTS client_consultants_by_pair ON client_consultants (client_id, consultant_id)",
    # a consultant's payout summary reads its ~100 groups through this index, not every consultant's
    "CREATE INDEX IF NOT EXISTS transaction_months_by_consultant ON transaction_months (consultant_id)",
]


def ensure(con: duckdb.DuckDBPyConnection, business_timezone: str) -> bool:
    """Create the store; drop it first when it was built by another schema version or for another
    business time zone. Returns True when the store is (now) empty and must be filled from the start."""
    existing = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    if "reporting_tracking" in existing:
        row = con.execute(
            "SELECT schema_version, business_timezone FROM reporting_tracking WHERE name = ?", [TRACKING]
        ).fetchone()
        if row is not None and tuple(row) == (SCHEMA_VERSION, business_timezone):
            _create(con)
            return False
    drop(con)
    _create(con)
    con.execute(
        "INSERT INTO reporting_tracking (name, position, schema_version, business_timezone) VALUES (?, 0, ?, ?)",
        [TRACKING, SCHEMA_VERSION, business_timezone],
    )
    return True


def _create(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL + INDEXES:
        con.execute(statement)


def drop(con: duckdb.DuckDBPyConnection) -> None:
    for view in VIEWS:
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for table in (*TABLES, "reporting_tracking"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def truncate(con: duckdb.DuckDBPyConnection) -> None:
    """Empty every table and rewind the tracking position (inside the caller's transaction)."""
    for table in TABLES:
        con.execute(f"DELETE FROM {table}")
    con.execute("UPDATE reporting_tracking SET position = 0 WHERE name = ?", [TRACKING])
