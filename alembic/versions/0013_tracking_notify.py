"""projection_tracking: notify the position a runner commits (PostgreSQL)

Revision ID: 0013
Revises: 0012

Every forward move of a tracking row sends `NOTIFY consult_projected, '<runner>:<position>'`,
delivered when its transaction commits. A command waiting for read-your-writes in a process that
does not run the projections wakes on it instead of polling the row
(`infrastructure.position_watch`). SQLite has no notifications (and one process runs its projections)."""

from typing import Sequence, Union

from alembic import op

revision: str = "0013"
down_revision: Union[str, Sequence[str], None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION consult_notify_projected() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM pg_notify('consult_projected', NEW.name || ':' || NEW.position); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER projection_tracking_projected AFTER UPDATE OF position ON projection_tracking "
        "FOR EACH ROW WHEN (NEW.position > OLD.position) EXECUTE FUNCTION consult_notify_projected()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS projection_tracking_projected ON projection_tracking")
    op.execute("DROP FUNCTION IF EXISTS consult_notify_projected()")
