"""Manual payouts (admin) and consultants' balances.

A payout is saved with the consultant's `Earnings` aggregate, which refuses a payout above the
remaining balance; two racing payouts write the same aggregate at the same version, so the event
store commits one and the loser re-checks. A `referenceId` is claimed by a `UniqueKey` aggregate
(deterministic id), so a replay finds the first payout instead of recording a second."""

from __future__ import annotations

from decimal import Decimal

from eventsourcing.domain import Aggregate

from application.marketplace import Marketplace
from domain.accounts import CONSULTANT, Account, UniqueKey
from domain.errors import Invalid, NotFound
from domain.ids import aggregate_id, earnings_id, is_object_id, new_object_id, payout_key, unique_key_id
from domain.ledger import PAYOUT, SUCCESS, Earnings, Transaction, major_units
from domain.notifications import notify


class Payouts:
    def __init__(self, market: Marketplace, currency: str):
        self.market = market
        self.currency = currency.upper()

    def transaction(self, transaction_id: str) -> Transaction:
        return self.market.transaction(transaction_id)

    def _account(self, account_id: str) -> Account | None:
        found = self.market.find(aggregate_id(account_id)) if is_object_id(account_id) else None
        return found if isinstance(found, Account) else None

    def _earnings(self, consultant_id: str) -> Earnings:
        found = self.market.find(earnings_id(consultant_id), snapshotted=True)
        return found if isinstance(found, Earnings) else Earnings(consultant_id=consultant_id)

    def payout(
        self, admin_id: str, consultant_id: str, amount: Decimal, notes: str | None, reference_id: str | None
    ) -> tuple[Transaction, bool]:
        """Record a manual payout; refused when it exceeds the remaining balance. With a
        `referenceId` it is recorded once: a replay returns the first payout (second value True)."""
        if amount <= 0:
            raise Invalid("Amount must be a positive number")
        transaction_id = new_object_id()

        def command() -> tuple[tuple[Transaction, bool], list[Aggregate | None]]:
            key = None
            if reference_id:
                claimed = self.market.find(unique_key_id(payout_key(reference_id)))
                if isinstance(claimed, UniqueKey) and claimed.owner:
                    return (self.transaction(claimed.owner), True), []
                key = UniqueKey(key=payout_key(reference_id), owner=transaction_id)
            consultant = self._account(consultant_id)
            if consultant is None or consultant.kind != CONSULTANT or consultant.deleted:
                raise NotFound("Consultant not found")
            earnings = self._earnings(consultant_id)
            earnings.pay_out(transaction_id, amount, self.currency)
            metadata = {"notes": notes or "", "referenceId": reference_id or "", "recordedBy": admin_id}
            tx = Transaction(
                transaction_id=transaction_id,
                kind=PAYOUT,
                status=SUCCESS,
                amount=amount,
                platform_fee=Decimal("0.00"),
                net_amount=Decimal("0.00"),
                currency=self.currency,
                user_id=admin_id,
                consultant_id=consultant_id,
                appointment_id=None,
                payment_method="Manual",
                reference=reference_id or transaction_id,
                metadata=metadata,
                snapshots={},
            )
            message = f"A payout of {self.currency} {major_units(amount)} has been processed for your account."
            if notes:
                message += f" Notes: {notes}"
            notice = notify(
                consultant_id,
                {
                    "name": "Payout Processed",
                    "message": message,
                    "type": "payment",
                    "category": "payments",
                    "priority": "high",
                    "actionUrl": "/payments",
                    "actionLabel": "View Payments",
                    "relatedId": transaction_id,
                    "relatedType": "payment",
                },
            )
            return (tx, False), [tx, earnings, key, notice]

        return self.market.run(command)

    def balance(self, consultant_id: str) -> dict[str, Decimal]:
        earnings = self._earnings(consultant_id)
        return {
            "totalEarnings": earnings.earned,
            "totalPaidOut": earnings.paid_out,
            "remainingBalance": earnings.remaining,
        }
