"""platform settings: the admin settings read model

Revision ID: 0011
Revises: 0010


"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'platform_settings',
        sa.Column('key', sa.String(64), primary_key=True),
        sa.Column('document', sa.Text, nullable=False),
        sa.Column('created_at', sa.String(32), nullable=False),
        sa.Column('updated_at', sa.String(32), nullable=False),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('platform_settings')
