"""slot_bookings: index by consultant and end instead of consultant and start

Revision ID: 0012
Revises: 0008

The slot read asks for a consultant's bookings with `start_at < day end AND end_at > day start`. On
an index by start the first condition is the range, which holds every past booking of the
consultant (completed appointments stay live in this table), so the read grew with history. On an
index by end the range is `end_at > day start`: the bookings of that day and after it only."""

from typing import Sequence, Union

from alembic import op


revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("slot_bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_slot_bookings_consultant_start")
        batch_op.create_index("ix_slot_bookings_consultant_end", ["consultant_id", "end_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slot_bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_slot_bookings_consultant_end")
        batch_op.create_index("ix_slot_bookings_consultant_start", ["consultant_id", "start_at"], unique=False)
