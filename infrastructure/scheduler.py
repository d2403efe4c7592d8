"""The background scheduler (in `consult serve` and `consult worker`): expires holds, completes
appointments after their end, sends the 15-minute reminders, and retries failed gateway refunds
(`infrastructure/refund_retries.py`). Each step is an idempotent command, so several schedulers may
run at once."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from application.bookings import REMINDER_LEAD, Bookings
from domain.errors import DomainError
from infrastructure.appointment_queries import AppointmentQueries

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, bookings: Bookings, queries: AppointmentQueries, interval: float = 10.0, refunds: Any = None):
        self.bookings = bookings
        self.queries = queries
        self.interval = interval
        self.refunds = refunds  # infrastructure.refund_retries.RefundRetrier (None: no refund step)

    def run_once(self, now: datetime | None = None) -> dict[str, int]:
        now = now or datetime.now(UTC)
        due = self.queries.due(now, REMINDER_LEAD)
        steps = {
            "expire": self.bookings.expire_hold,
            "complete": self.bookings.complete,
            "remind": self.bookings.remind,
        }
        done = {}
        for name, ids in due.items():
            for appointment_id in ids:
                try:
                    steps[name](appointment_id)
                except DomainError as error:  # changed meanwhile by someone else: nothing to do
                    log.debug("scheduler %s %s skipped: %s", name, appointment_id, error.message)
            done[name] = len(ids)
        if self.refunds is not None:
            done["refund"] = self.refunds.run_once(now)
        return done

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("scheduler pass failed")
            stop.wait(self.interval)
