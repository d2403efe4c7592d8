"""privacy: the per-person key table of crypto-shredding (outside the event store)

Revision ID: 0009
Revises: 0011


"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'privacy_keys',
        sa.Column('subject', sa.String(64), primary_key=True),
        sa.Column('key', sa.LargeBinary, nullable=True),
        sa.Column('created_at', sa.Float, nullable=False),
        sa.Column('destroyed_at', sa.Float, nullable=True),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('privacy_keys')
