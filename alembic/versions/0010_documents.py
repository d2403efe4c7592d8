"""documents: the read model of shared documents (contract platform §4)

Revision ID: 0010
Revises: 0006


"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'documents',
        sa.Column('id', sa.String(24), primary_key=True),
        sa.Column('client_id', sa.String(24), nullable=False),
        sa.Column('consultant_id', sa.String(24), nullable=False),
        sa.Column('appointment_id', sa.String(24), nullable=True),
        sa.Column('uploaded_by', sa.String(24), nullable=False),
        sa.Column('file_key', sa.String(200), nullable=False),
        sa.Column('type', sa.String(40), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('seq', sa.BigInteger, nullable=False),
        sa.Column('document', sa.Text, nullable=False),
    )
    op.create_index('ix_documents_client_seq', 'documents', ['client_id', 'seq'])
    op.create_index('ix_documents_consultant_seq', 'documents', ['consultant_id', 'seq'])
    op.create_index('ix_documents_seq', 'documents', ['seq'])
    op.create_index('ix_documents_file_key', 'documents', ['file_key'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('documents')
