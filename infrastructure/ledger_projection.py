"""Projects the ledger: `Transaction` events into `transactions` (the documents GET /transactions
answers, parties populated at read time) and `Earnings` events into `consultant_balances`."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from domain.ledger import Earnings, Transaction, exact, major_units, minor_units
from infrastructure.directory_projection import dumps, iso_utc
from infrastructure.projector import Batch, Handles, HandlesDeclared, Prefetch, changed_ids
from infrastructure.tables import consultant_balances, transactions

# Built once and executed with parameter dicts (queued on the batch: `Batch.insert`, `Batch.write`).
INSERT_TRANSACTION = transactions.insert()
INSERT_BALANCE = consultant_balances.insert()
SELECT_TRANSACTION = sa.select(transactions.c.document).where(transactions.c.id == sa.bindparam("b_id"))
UPDATE_TRANSACTION = transactions.update().where(transactions.c.id == sa.bindparam("b_id"))
SELECT_BALANCE = sa.select(consultant_balances.c.consultant_id, consultant_balances.c.state).where(
    consultant_balances.c.aggregate_id == sa.bindparam("b_id")
)
SELECT_TRANSACTIONS = sa.select(transactions.c.id, transactions.c.document).where(
    transactions.c.id == sa.any_(sa.bindparam("b_ids", type_=sa.ARRAY(sa.String)))
)
SELECT_BALANCES = sa.select(
    consultant_balances.c.aggregate_id, consultant_balances.c.consultant_id, consultant_balances.c.state
).where(consultant_balances.c.aggregate_id == sa.any_(sa.bindparam("b_ids", type_=sa.ARRAY(sa.String))))
UPDATE_BALANCE = consultant_balances.update().where(consultant_balances.c.consultant_id == sa.bindparam("b_id"))


def minor(amount: Any) -> int:
    return minor_units(exact(amount))


def order_of(metadata: dict[str, Any]) -> str | None:
    return metadata.get("razorpayOrderId") or metadata.get("paypalOrderId")


def earned_minor(state: dict[str, Any]) -> int:
    completed = state["completed"]
    return sum(
        p["net_minor"]
        for p in state["payments"].values()
        if p["appointment"] is None or completed.get(p["appointment"])
    )


class LedgerProjector(HandlesDeclared):
    handles = Handles(Transaction.Event, Earnings.Event)

    def reset(self, conn: sa.Connection) -> None:
        conn.execute(transactions.delete())
        conn.execute(consultant_balances.delete())

    def flush(self, batch: Batch) -> None:
        """Updates are queued on the batch (`Batch.write`); a document is read once per batch."""

    def prefetch(self, notifications: list[Any]) -> list[Prefetch]:
        found = []
        ids = changed_ids(notifications, Transaction.Event, Transaction.Recorded)
        if ids:
            found.append(Prefetch("transactions", SELECT_TRANSACTIONS, ids, lambda row: json.loads(row[1])))
        ids = changed_ids(notifications, Earnings.Event, Earnings.Opened, width=32)
        if ids:
            found.append(Prefetch("consultant_balances", SELECT_BALANCES, ids, _balance))
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
            # held as a read would give it: the payment's success needs no read (`DocumentMemory`)
            batch.documents[("transactions", transaction_id)] = json.loads(dumps(document))
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
        if isinstance(event, Earnings.Opened):
            batch.insert(
                INSERT_BALANCE,
                {
                    "consultant_id": event.consultant_id,
                    "aggregate_id": event.originator_id.hex,
                    "earned_minor": 0,
                    "paid_out_minor": 0,
                    "state": dumps({"payments": {}, "completed": {}, "paid_minor": 0}),
                },
            )
            return
        cached = batch.document(
            "consultant_balances", event.originator_id.hex, SELECT_BALANCE, lambda row: _balance((None, *row))
        )
        if cached is None:
            return
        state = cached["state"]
        if isinstance(event, Earnings.PaymentCounted):
            state["payments"][event.transaction_id] = {
                "appointment": event.appointment_id,
                "net_minor": minor(event.net_amount),
            }
        elif isinstance(event, Earnings.PaymentWithdrawn):
            state["payments"].pop(event.transaction_id, None)
        elif isinstance(event, Earnings.AppointmentCompleted):
            state["completed"][event.appointment_id] = True
        elif isinstance(event, Earnings.AppointmentReopened):
            state["completed"].pop(event.appointment_id, None)
        elif isinstance(event, Earnings.PaidOut):
            state["paid_minor"] += minor(event.amount)
        batch.write(
            UPDATE_BALANCE,
            {
                "b_id": cached["consultant_id"],
                "earned_minor": earned_minor(state),
                "paid_out_minor": state["paid_minor"],
                "state": dumps(state),
            },
        )


def _balance(row: Any) -> dict[str, Any]:
    """A balance row (aggregate id, consultant id, state) as a batch keeps it."""
    return {"consultant_id": row[1], "state": json.loads(row[2])}
