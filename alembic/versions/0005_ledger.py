"""ledger: transactions and consultant balances (replacing the never-filled consultant_revenue)

Revision ID: 0005
Revises: 0004


"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_table('consultant_revenue')
    op.create_table(
        'transactions',
        sa.Column('id', sa.String(24), primary_key=True),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('user_id', sa.String(64), nullable=True),
        sa.Column('consultant_id', sa.String(64), nullable=True),
        sa.Column('appointment_id', sa.String(64), nullable=True),
        sa.Column('order_id', sa.String(64), nullable=True),
        sa.Column('amount_minor', sa.BigInteger, nullable=False),
        sa.Column('net_minor', sa.BigInteger, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('seq', sa.BigInteger, nullable=False),
        sa.Column('document', sa.Text, nullable=False),
    )
    op.create_index('ix_transactions_seq', 'transactions', ['seq'])
    op.create_index('ix_transactions_consultant_seq', 'transactions', ['consultant_id', 'seq'])
    op.create_index('ix_transactions_user_seq', 'transactions', ['user_id', 'seq'])
    op.create_index('ix_transactions_order', 'transactions', ['order_id'])
    op.create_index('ix_transactions_appointment', 'transactions', ['appointment_id'])
    op.create_index('ix_transactions_kind_created', 'transactions', ['kind', 'created_at'])
    op.create_table(
        'consultant_balances',
        sa.Column('consultant_id', sa.String(24), primary_key=True),
        sa.Column('aggregate_id', sa.String(32), nullable=False, unique=True),
        sa.Column('earned_minor', sa.BigInteger, nullable=False, server_default='0'),
        sa.Column('paid_out_minor', sa.BigInteger, nullable=False, server_default='0'),
        sa.Column('state', sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('consultant_balances')
    op.drop_table('transactions')
    op.create_table('consultant_revenue',
                    sa.Column('consultant_id', sa.String(length=24), nullable=False),
                    sa.Column('payments_minor', sa.BigInteger(), server_default='0', nullable=False),
                    sa.PrimaryKeyConstraint('consultant_id'))
