"""account counters: the admin's client list without a count of the accounts

Revision ID: 0020
Revises: 0019

The admin's `GET /clients` counted every client account for its `total` on each page, and a list of one
status walked the clients in order testing each. The directory projection now keeps `account_counters`
(per kind and status); here they are counted from the accounts already projected, and the accounts get an
index in a one-status list's order."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as infrastructure/directory_projection.py keeps them: an account without a status counts under ""
FILL = """
INSERT INTO account_counters (kind, status, n)
SELECT kind, coalesce(status, ''), count(*) FROM accounts GROUP BY kind, coalesce(status, '')
"""


def upgrade() -> None:
    op.create_table(
        "account_counters",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.execute(FILL)
    op.create_index("ix_accounts_kind_status_seq", "accounts", ["kind", "status", "seq"])


def downgrade() -> None:
    op.drop_index("ix_accounts_kind_status_seq", "accounts")
    op.drop_table("account_counters")
