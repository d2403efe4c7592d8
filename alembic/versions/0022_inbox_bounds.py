"""inbox bounds: a reader's lists start past the broadcasts it has cleared

Revision ID: 0022
Revises: 0021

`GET /notifications` and `grouped` stepped over every broadcast their reader had hidden (`DELETE
/notifications/all` hides each one it sees), on every read. The people projection now keeps, per reader
and broadcast audience, the bound below which all of it is hidden (`infrastructure.inbox_bounds`). The
table starts empty here: no row bounds nothing, and a reader's bound is set by its next hide (a rebuild
sets every bound from the events).

The global broadcasts' two indexes lose their leading `is_global` (all their rows have it, and the planner
drops a condition the index's predicate implies from the scan's): behind it, the bound on (`created_at`,
`seq`) did not stop the scan."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_bounds",
        sa.Column("reader_id", sa.String(24), nullable=False),
        sa.Column("audience", sa.String(24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("reader_id", "audience"),
    )
    op.create_index("ix_inbox_bounds_audience", "inbox_bounds", ["audience", "created_at", "seq"])
    _global_indexes([])


def _global_indexes(leading: list[str]) -> None:
    where = {"postgresql_where": sa.text("is_global"), "sqlite_where": sa.text("is_global = 1")}
    for suffix, ordered in (("created", ["created_at", "seq"]), ("category", ["category", "created_at", "seq"])):
        op.drop_index(f"ix_inbox_global_{suffix}", "inbox")
        op.create_index(f"ix_inbox_global_{suffix}", "inbox", [*leading, *ordered], **where)


def downgrade() -> None:
    _global_indexes(["is_global"])
    op.drop_table("inbox_bounds")
