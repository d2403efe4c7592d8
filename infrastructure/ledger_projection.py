"""Projects the ledger: `Transaction` events into `transactions` (the documents GET /transactions
answers, parties populated at read time) with `transaction_counters` (how many rows each of its lists
has: `counter_scopes`), and `Earnings` events into `consultant_balances` (running
totals), `balance_payments` and `balance_completions`.

An `Earnings` event is projected by statements queued on the batch that change the totals in the
database (`earned_minor = earned_minor + (SELECT ...)`): nothing is read back into the process and no
statement's cost depends on the consultant's history. The earned total counts a payment once its
appointment is Completed, or at once when it has none (CONTRACT.md rule), as `Earnings.earned` does."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from domain.ledger import Earnings, Transaction, exact, major_units, minor_units
from infrastructure.directory_projection import iso_utc
from infrastructure.json_text import dumps, loads
from infrastructure.projector import Batch, CounterAdds, Handles, HandlesDeclared, Prefetch, changed_ids
from infrastructure.tables import (
    balance_completions,
    balance_payments,
    consultant_balances,
    transaction_counters,
    transactions,
)

# Built once and executed with parameter dicts (queued on the batch: `Batch.insert`, `Batch.write`).
INSERT_TRANSACTION = transactions.insert()
INSERT_BALANCE = consultant_balances.insert()
SELECT_TRANSACTION = sa.select(transactions.c.document).where(transactions.c.id == sa.bindparam("b_id"))
UPDATE_TRANSACTION = transactions.update().where(transactions.c.id == sa.bindparam("b_id"))
SELECT_TRANSACTIONS = sa.select(transactions.c.id, transactions.c.document).where(
    transactions.c.id == sa.any_(sa.bindparam("b_ids", type_=sa.ARRAY(sa.String)))
)

COUNTER_ADDS = CounterAdds(transaction_counters)


def counter_scopes(user_id: str | None, consultant_id: str | None) -> list[tuple[str, str]]:
    """The counters (scope, party) a transaction of this user and consultant counts in: every list of
    GET /transactions is one of them or, for a party seen as user or consultant, `user` + `consultant`
    - `both` (ledger_queries.py)."""
    scopes = [("all", "")]
    if user_id:
        scopes.append(("user", user_id))
    if consultant_id:
        scopes.append(("consultant", consultant_id))
    if user_id and user_id == consultant_id:
        scopes.append(("both", user_id))
    return scopes


def _balance_statements() -> dict[str, Any]:
    """The statements of the `Earnings` events, parameters `b_agg` (aggregate id), `b_tx`, `b_appt`, `b_amount`."""
    agg, tx, appt = (sa.bindparam(name, type_=sa.String) for name in ("b_agg", "b_tx", "b_appt"))
    amount = sa.bindparam("b_amount", type_=sa.BigInteger)
    p, c = balance_payments.alias("p"), balance_completions.alias("c")
    balance = consultant_balances.c
    completed = sa.exists().where(c.c.aggregate_id == p.c.aggregate_id, c.c.appointment_id == p.c.appointment_id)
    # the net of payment `b_tx` when it counts now, else nothing
    counted = (
        sa.select(p.c.net_minor)
        .where(p.c.aggregate_id == agg, p.c.transaction_id == tx, sa.or_(p.c.appointment_id.is_(None), completed))
        .scalar_subquery()
    )
    # the net of the payments of appointment `b_appt`
    of_appointment = (
        sa.select(sa.func.sum(p.c.net_minor))
        .where(p.c.aggregate_id == agg, p.c.appointment_id == appt)
        .scalar_subquery()
    )
    known = sa.exists().where(c.c.aggregate_id == agg, c.c.appointment_id == appt)
    opened = sa.exists().where(balance.aggregate_id == agg)  # (an event of a balance never opened changes nothing)
    mine = consultant_balances.update().where(balance.aggregate_id == agg)
    return {
        "add_payment": mine.values(earned_minor=balance.earned_minor + sa.func.coalesce(counted, 0)),
        "subtract_payment": mine.values(earned_minor=balance.earned_minor - sa.func.coalesce(counted, 0)),
        "forget_payment": balance_payments.delete().where(
            balance_payments.c.aggregate_id == agg, balance_payments.c.transaction_id == tx
        ),
        "add_appointment": mine.where(~known).values(
            earned_minor=balance.earned_minor + sa.func.coalesce(of_appointment, 0)
        ),
        "subtract_appointment": mine.where(known).values(
            earned_minor=balance.earned_minor - sa.func.coalesce(of_appointment, 0)
        ),
        "count_payment": balance_payments.insert().from_select(
            ["aggregate_id", "transaction_id", "appointment_id", "net_minor"],
            sa.select(agg, tx, appt, sa.bindparam("b_net", type_=sa.BigInteger)).where(opened),
        ),
        "complete": balance_completions.insert().from_select(
            ["aggregate_id", "appointment_id"], sa.select(agg, appt).where(~known, opened)
        ),
        "reopen": balance_completions.delete().where(
            balance_completions.c.aggregate_id == agg, balance_completions.c.appointment_id == appt
        ),
        "pay_out": mine.values(paid_out_minor=balance.paid_out_minor + amount),
    }


BALANCE = _balance_statements()


def minor(amount: Any) -> int:
    return minor_units(exact(amount))


def order_of(metadata: dict[str, Any]) -> str | None:
    return metadata.get("razorpayOrderId") or metadata.get("paypalOrderId")


class LedgerProjector(HandlesDeclared):
    handles = Handles(Transaction.Event, Earnings.Event)

    def reset(self, conn: sa.Connection) -> None:
        conn.execute(transactions.delete())
        conn.execute(transaction_counters.delete())
        conn.execute(consultant_balances.delete())
        conn.execute(balance_payments.delete())
        conn.execute(balance_completions.delete())

    def flush(self, batch: Batch) -> None:
        """Updates are queued on the batch (`Batch.write`); a document is read once per batch. The
        counters' changes, summed over the batch, are queued last."""
        COUNTER_ADDS.queue(batch, batch.pending.pop("transaction_counters", {}))

    def prefetch(self, notifications: list[Any]) -> list[Prefetch]:
        found = []
        ids = changed_ids(notifications, Transaction.Event, Transaction.Recorded)
        if ids:
            found.append(Prefetch("transactions", SELECT_TRANSACTIONS, ids, lambda row: loads(row[1])))
        return found

    def apply(self, batch: Batch, event: Any, position: int) -> None:
        if isinstance(event, Transaction.Event):
            self._transaction(batch, event, position)
        elif isinstance(event, Earnings.Event):
            self._earnings(batch, event)

    def _transaction(self, batch: Batch, event: Any, position: int) -> None:
        transaction_id = event.originator_id.hex[:24]
        when = iso_utc(event.timestamp)
        if isinstance(event, Transaction.Recorded):
            document = {
                "_id": transaction_id,
                "user": event.user_id,
                "consultant": event.consultant_id,
                "appointment": event.appointment_id,
                "amount": major_units(event.amount),
                "currency": event.currency,
                "type": event.kind,
                "status": event.status,
                "paymentMethod": event.payment_method,
                "transactionId": event.reference,
                "metadata": dict(event.metadata),
                **event.snapshots,
                "platformFee": major_units(event.platform_fee),
                "netAmount": major_units(event.net_amount),
                **({"refundAttempts": 0, "nextAttemptAt": None} if event.kind == "Refund" else {}),
                "createdAt": when,
                "updatedAt": when,
                "__v": 0,
            }
            batch.insert(
                INSERT_TRANSACTION,
                {
                    "id": transaction_id,
                    "kind": event.kind,
                    "status": event.status,
                    "user_id": event.user_id,
                    "consultant_id": event.consultant_id,
                    "appointment_id": event.appointment_id,
                    "order_id": order_of(event.metadata),
                    "amount_minor": minor(event.amount),
                    "net_minor": minor(event.net_amount),
                    "created_at": event.timestamp,
                    "seq": position,
                    "document": dumps(document),
                },
            )
            counts: Counter[tuple[str, str, str]] = batch.pending.setdefault("transaction_counters", Counter())
            for scope, party in counter_scopes(event.user_id, event.consultant_id):
                counts[(scope, party, event.kind)] += 1
            # held as a read would give it: the payment's success needs no read (`DocumentMemory`)
            batch.documents[("transactions", transaction_id)] = loads(dumps(document))
            return
        document = batch.document("transactions", transaction_id, SELECT_TRANSACTION)
        if document is None:
            return
        if isinstance(event, Transaction.Succeeded):
            document.update(
                status="Success", transactionId=event.reference, metadata={**document["metadata"], **event.metadata}
            )
            if event.appointment_id is not None:
                document["appointment"] = event.appointment_id
        elif isinstance(event, Transaction.Failed):
            document.update(status="Failed", metadata={**document["metadata"], **event.metadata})
        elif isinstance(event, Transaction.Refunded):
            document.update(status="Refunded", refundTransaction=event.refund_id)
        elif isinstance(event, Transaction.RefundAttemptClaimed):  # gateway refund attempts (issue 12)
            document.update(refundAttempts=event.attempt, lastAttemptAt=iso_utc(event.claimed_at))
        elif isinstance(event, Transaction.RefundAttemptFailed):
            document.update(
                nextAttemptAt=iso_utc(event.next_attempt_at) if event.next_attempt_at else None,
                metadata={**document["metadata"], "lastRefundError": event.error},
            )
        elif isinstance(event, Transaction.InvoiceIssued):
            document.update(
                invoiceKey=event.key,
                invoiceFilename=event.filename,
                metadata={**document["metadata"], "invoiceId": f"INV-{transaction_id}"},
            )
        if document["status"] != "Pending" and "nextAttemptAt" in document:
            document["nextAttemptAt"] = None
        document["updatedAt"] = when
        batch.write(
            UPDATE_TRANSACTION,
            {
                "b_id": transaction_id,
                "status": document["status"],
                "appointment_id": document["appointment"],
                "document": dumps(document),
            },
        )

    def _earnings(self, batch: Batch, event: Any) -> None:
        agg = event.originator_id.hex
        if isinstance(event, Earnings.Opened):
            batch.insert(
                INSERT_BALANCE,
                {"consultant_id": event.consultant_id, "aggregate_id": agg, "earned_minor": 0, "paid_out_minor": 0},
            )
        elif isinstance(event, Earnings.PaymentCounted):  # counted again: the entry is replaced
            self._withdraw(batch, agg, event.transaction_id)
            batch.write(
                BALANCE["count_payment"],
                {
                    "b_agg": agg,
                    "b_tx": event.transaction_id,
                    "b_appt": event.appointment_id,
                    "b_net": minor(event.net_amount),
                },
            )
            batch.write(BALANCE["add_payment"], {"b_agg": agg, "b_tx": event.transaction_id})
        elif isinstance(event, Earnings.PaymentWithdrawn):
            self._withdraw(batch, agg, event.transaction_id)
        elif isinstance(event, Earnings.AppointmentCompleted):
            batch.write(BALANCE["add_appointment"], {"b_agg": agg, "b_appt": event.appointment_id})
            batch.write(BALANCE["complete"], {"b_agg": agg, "b_appt": event.appointment_id})
        elif isinstance(event, Earnings.AppointmentReopened):
            batch.write(BALANCE["subtract_appointment"], {"b_agg": agg, "b_appt": event.appointment_id})
            batch.write(BALANCE["reopen"], {"b_agg": agg, "b_appt": event.appointment_id})
        elif isinstance(event, Earnings.PaidOut):
            batch.write(BALANCE["pay_out"], {"b_agg": agg, "b_amount": minor(event.amount)})

    @staticmethod
    def _withdraw(batch: Batch, agg: str, transaction_id: str) -> None:
        batch.write(BALANCE["subtract_payment"], {"b_agg": agg, "b_tx": transaction_id})
        batch.write(BALANCE["forget_payment"], {"b_agg": agg, "b_tx": transaction_id})
