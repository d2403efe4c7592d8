"""people: inbox (notifications, per-reader states, counters) and client-consultant links

Revision ID: 0008
Revises: 0009

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema. The tables start empty; the people projection (its own tracking row) fills
    them from the whole event history when it first runs, links of earlier bookings included."""
    op.create_table(
        "links",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("client_id", sa.String(24), nullable=False),
        sa.Column("consultant_id", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("linked_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("client_id", "consultant_id", name="uq_links_pair"),
    )
    op.create_index("ix_links_consultant", "links", ["consultant_id", "status"])
    op.create_table(
        "inbox",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("recipient", sa.String(24), nullable=True),
        sa.Column("recipient_role", sa.String(16), nullable=True),
        sa.Column("is_global", sa.Boolean, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("read_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_index("ix_inbox_recipient", "inbox", ["recipient", "seq"])
    op.create_index("ix_inbox_role", "inbox", ["recipient_role", "seq"])
    op.create_index("ix_inbox_global", "inbox", ["is_global", "seq"])
    op.create_index("ix_inbox_expires", "inbox", ["expires_at"])
    op.create_table(
        "inbox_states",
        sa.Column("reader_id", sa.String(24), nullable=False),
        sa.Column("notification_id", sa.String(24), nullable=False),
        sa.Column("read_at", TS, nullable=True),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("reader_id", "notification_id"),
    )
    op.create_index("ix_inbox_states_notification", "inbox_states", ["notification_id"])
    op.create_table(
        "inbox_counters",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Downgrade schema."""
    for table in ("inbox_counters", "inbox_states", "inbox", "links"):
        op.drop_table(table)
