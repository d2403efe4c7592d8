"""account search: trigram indexes of the accounts' searched text (PostgreSQL)

Revision ID: 0021
Revises: 0020

The admin's `GET /clients?search=` (name, email or mobile) and the consultant lists' `q` (name) are
`lower(column) LIKE '%needle%'`, which no b-tree answers: on PostgreSQL each search read every account of
the kind, however few it matched. `pg_trgm`'s GIN indexes of the same expressions (`gin_trgm_ops`, as
infrastructure/tables.py declares them with `folded`) answer the LIKE from the accounts holding the
needle's trigrams. `CREATE EXTENSION` needs a superuser, or (`pg_trgm` being a trusted extension since
PostgreSQL 13) the CREATE privilege on the database; the downgrade leaves the extension, which other
objects may use. On SQLite this revision does nothing: it has no trigram index, and its search scans."""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# infrastructure/tables.py `ACCOUNT_SEARCH_COLUMNS`
COLUMNS = ("name", "email", "mobile")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.execute(f"CREATE INDEX ix_accounts_{column}_trgm ON accounts USING gin (lower({column}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX ix_accounts_{column}_trgm")
