"""parked events: events a read-model projection could not apply, kept with their error

Revision ID: 0006
Revises: 0005


"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'parked_events',
        sa.Column('projection', sa.String(64), primary_key=True),
        sa.Column('position', sa.BigInteger, primary_key=True),
        sa.Column('topic', sa.Text, nullable=False),
        sa.Column('originator_id', sa.String(64), nullable=True),
        sa.Column('error', sa.Text, nullable=False),
        sa.Column('parked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer, nullable=False, server_default='1'),
    )
    op.create_index('ix_parked_events_position', 'parked_events', ['position'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_parked_events_position', table_name='parked_events')
    op.drop_table('parked_events')
