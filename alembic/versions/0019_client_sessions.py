"""client sessions: a consultant's Completed appointments per client, kept

Revision ID: 0019
Revises: 0018

`GET /client-consultants/consultant/:id/clients` (the Consultant app's client table, and the client
pickers of its appointment and notification pages) counted the consultant's Completed appointments per
client from all of the consultant's appointments on every request. The appointments projection now keeps
`client_sessions`; here they are counted from the appointments already projected."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL = """
INSERT INTO client_sessions (consultant_id, client_id, sessions, last_start_at)
SELECT consultant_id, client_id, count(*), max(start_at) FROM appointments WHERE status = 'Completed'
GROUP BY consultant_id, client_id
"""


def upgrade() -> None:
    op.create_table(
        "client_sessions",
        sa.Column("consultant_id", sa.String(24), primary_key=True),
        sa.Column("client_id", sa.String(24), primary_key=True),
        sa.Column("sessions", sa.BigInteger, nullable=False),
        sa.Column("last_start_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(FILL)


def downgrade() -> None:
    op.drop_table("client_sessions")
