"""The scheduler's refund step: every Pending refund whose next try is due (from the ledger read
model) gets one more gateway attempt (`application/refunds.py` claims it first, so two schedulers
never carry one refund out twice)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from application.refunds import Refunds
from infrastructure.json_text import loads
from infrastructure.tables import transactions

log = logging.getLogger(__name__)


def due_refunds(engine: sa.Engine, now: datetime) -> list[str]:
    """Ids of the Pending refunds whose next attempt is due at `now` (oldest first)."""
    query = (
        sa.select(transactions.c.id, transactions.c.document)
        .where(transactions.c.kind == "Refund", transactions.c.status == "Pending")
        .order_by(transactions.c.seq)
    )
    due = []
    with engine.connect() as conn:
        for row in conn.execute(query):
            following = loads(row.document).get("nextAttemptAt")
            if not following or datetime.fromisoformat(following.replace("Z", "+00:00")) <= now:
                due.append(str(row.id))
    return due


class RefundRetrier:
    def __init__(self, refunds: Any, engine: sa.Engine):
        self._refunds = refunds  # a Refunds, or something holding one as `.refunds` (Payments)
        self.engine = engine

    @property
    def refunds(self) -> Refunds:
        found = getattr(self._refunds, "refunds", self._refunds)
        assert isinstance(found, Refunds)
        return found

    def run_once(self, now: datetime) -> int:
        tried = 0
        for refund_id in due_refunds(self.engine, now):
            try:
                if self.refunds.attempt(refund_id) is not None:
                    tried += 1
            except Exception:  # one refund's trouble never stops the others
                log.exception("refund %s: attempt could not run", refund_id)
        return tried
