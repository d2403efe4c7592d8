"""transaction counters: the totals of GET /transactions without a count of the ledger

Revision ID: 0015
Revises: 0014

A list's `total` was a `count(*)` of the matching transactions: the admin's Payments tab counted the
whole ledger on every page (25 to 30 ms at a million transactions). The ledger projection now keeps
`transaction_counters` beside the rows; here they are filled from the rows already projected."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the scopes of infrastructure/ledger_projection.py `counter_scopes`: every transaction counts in `all`,
# as `user` of a non-empty user id, as `consultant` of a non-empty consultant id, and as `both` when
# the two are the same party
FILL = """
INSERT INTO transaction_counters (scope, party, kind, n)
SELECT 'all', '', kind, count(*) FROM transactions GROUP BY kind
UNION ALL
SELECT 'user', user_id, kind, count(*) FROM transactions WHERE user_id <> '' GROUP BY user_id, kind
UNION ALL
SELECT 'consultant', consultant_id, kind, count(*) FROM transactions WHERE consultant_id <> ''
GROUP BY consultant_id, kind
UNION ALL
SELECT 'both', user_id, kind, count(*) FROM transactions WHERE user_id <> '' AND user_id = consultant_id
GROUP BY user_id, kind
"""


def upgrade() -> None:
    op.create_table(
        "transaction_counters",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("party", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.execute(FILL)


def downgrade() -> None:
    op.drop_table("transaction_counters")
