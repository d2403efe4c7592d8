"""consultant balances kept by running totals: payments and completions as rows

Revision ID: 0014
Revises: 0013

`consultant_balances.state` held each consultant's whole earnings state as one JSON text (every
payment, every completed appointment) and was rewritten by every event of the aggregate: a paid
confirmation of a consultant with 4,000 payments serialised and stored about 470 KiB. The payments
and completions are now rows (`balance_payments`, `balance_completions`) and an event changes the
totals with one statement; the existing states are moved into the rows here."""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    payments = op.create_table(
        "balance_payments",
        sa.Column("aggregate_id", sa.String(32), primary_key=True),
        sa.Column("transaction_id", sa.String(64), primary_key=True),
        sa.Column("appointment_id", sa.String(64), nullable=True),
        sa.Column("net_minor", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_balance_payments_appointment", "balance_payments", ["aggregate_id", "appointment_id"])
    completions = op.create_table(
        "balance_completions",
        sa.Column("aggregate_id", sa.String(32), primary_key=True),
        sa.Column("appointment_id", sa.String(64), primary_key=True),
    )
    balances = sa.table("consultant_balances", sa.column("aggregate_id"), sa.column("state"))
    rows = op.get_bind().execute(sa.select(balances.c.aggregate_id, balances.c.state)).all()
    paid: list[dict[str, object]] = []
    done: list[dict[str, object]] = []
    for aggregate_id, text in rows:
        state = json.loads(text)
        for transaction_id, payment in state["payments"].items():
            paid.append(
                {
                    "aggregate_id": aggregate_id,
                    "transaction_id": transaction_id,
                    "appointment_id": payment["appointment"],
                    "net_minor": payment["net_minor"],
                }
            )
        done += [{"aggregate_id": aggregate_id, "appointment_id": a} for a, on in state["completed"].items() if on]
    if paid:
        op.bulk_insert(payments, paid)
    if done:
        op.bulk_insert(completions, done)
    with op.batch_alter_table("consultant_balances") as batch:
        batch.drop_column("state")


def downgrade() -> None:
    with op.batch_alter_table("consultant_balances") as batch:
        batch.add_column(sa.Column("state", sa.Text, nullable=False, server_default="{}"))
    bind = op.get_bind()
    balances = sa.table(
        "consultant_balances", sa.column("aggregate_id"), sa.column("paid_out_minor"), sa.column("state")
    )
    payments = sa.table(
        "balance_payments",
        sa.column("aggregate_id"),
        sa.column("transaction_id"),
        sa.column("appointment_id"),
        sa.column("net_minor"),
    )
    completions = sa.table("balance_completions", sa.column("aggregate_id"), sa.column("appointment_id"))
    for aggregate_id, paid_out in bind.execute(sa.select(balances.c.aggregate_id, balances.c.paid_out_minor)).all():
        state = {
            "payments": {
                row.transaction_id: {"appointment": row.appointment_id, "net_minor": row.net_minor}
                for row in bind.execute(sa.select(payments).where(payments.c.aggregate_id == aggregate_id))
            },
            "completed": {
                row.appointment_id: True
                for row in bind.execute(sa.select(completions).where(completions.c.aggregate_id == aggregate_id))
            },
            "paid_minor": paid_out,
        }
        bind.execute(balances.update().where(balances.c.aggregate_id == aggregate_id).values(state=json.dumps(state)))
    op.drop_table("balance_completions")
    op.drop_index("ix_balance_payments_appointment", table_name="balance_payments")
    op.drop_table("balance_payments")
