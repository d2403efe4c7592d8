"""appointment search: a trigram index of the appointments' searched text (PostgreSQL)

Revision ID: 0024
Revises: 0023

`GET /appointments?q=` is `search_text LIKE '%needle%'` (the reason and notes, case-folded by the
projection), which no b-tree answers: the list walked the appointments in its order testing each, so a
needle found in few of them read every appointment of the scope. A `pg_trgm` GIN index of the column (as
infrastructure/tables.py declares it) answers such a needle from the appointments holding its trigrams.
On SQLite this revision does nothing: its search scans."""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # as 0021 (which made it)
    op.execute("CREATE INDEX ix_appointments_search_trgm ON appointments USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_appointments_search_trgm")
