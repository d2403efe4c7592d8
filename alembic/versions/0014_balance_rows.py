"""consultant balances kept by running totals: payments and completions as rows

Revision ID: 0014
Revises: 0013

`consultant_balances.state` held each consultant's whole earnings state as one JSON text (every
payment, every completed appointment) and was rewritten by every event of the aggregate: a paid
confirmation of a consultant with 4,000 payments serialised and stored about 470 KiB. The payments
and completions are now rows (`balance_payments`, `balance_completions`) and an event changes the
totals with one statement; the existing states are moved into the rows here."""

import json
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
CHUNK = 1_000  # rows per insert while moving the states into rows


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
    bind = op.get_bind()
    paid: list[dict[str, object]] = []
    done: list[dict[str, object]] = []
    for aggregate_id, text in states_in_pages(bind, balances):
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
        for rows, table in ((paid, payments), (done, completions)):
            if len(rows) >= CHUNK:
                op.bulk_insert(table, rows)
                rows.clear()
    for rows, table in ((paid, payments), (done, completions)):
        if rows:
            op.bulk_insert(table, rows)
    with op.batch_alter_table("consultant_balances") as batch:
        batch.drop_column("state")


def states_in_pages(bind: sa.Connection, balances: sa.TableClause) -> Iterator[tuple[str, str]]:
    """Each (aggregate id, state), read 100 at a time by aggregate id: a state can be hundreds of KiB."""
    last = ""
    while True:
        page = bind.execute(
            sa.select(balances.c.aggregate_id, balances.c.state)
            .where(balances.c.aggregate_id > last)
            .order_by(balances.c.aggregate_id)
            .limit(100)
        ).all()
        if not page:
            return
        yield from ((row[0], row[1]) for row in page)
        last = page[-1][0]


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
    states = {
        aggregate_id: {"payments": {}, "completed": {}, "paid_minor": paid_out}
        for aggregate_id, paid_out in bind.execute(sa.select(balances.c.aggregate_id, balances.c.paid_out_minor))
    }
    for row in bind.execute(sa.select(payments)):
        if row.aggregate_id in states:
            entry = {"appointment": row.appointment_id, "net_minor": row.net_minor}
            states[row.aggregate_id]["payments"][row.transaction_id] = entry
    for row in bind.execute(sa.select(completions)):
        if row.aggregate_id in states:
            states[row.aggregate_id]["completed"][row.appointment_id] = True
    for aggregate_id, state in states.items():
        bind.execute(balances.update().where(balances.c.aggregate_id == aggregate_id).values(state=json.dumps(state)))
    with op.batch_alter_table("consultant_balances") as batch:
        batch.alter_column("state", server_default=None)  # as revision 0013 had it
    op.drop_table("balance_completions")
    op.drop_index("ix_balance_payments_appointment", table_name="balance_payments")
    op.drop_table("balance_payments")
