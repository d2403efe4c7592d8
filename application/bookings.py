"""The booking use cases behind one entry point for the routers, the scheduler and the CLI. No logic
lives here: each command is a module of `application/booking/` (hold, confirm, direct_create,
change, scheduler), sharing `BookingContext`; money effects go through the `BookingMoney` port
(`application.ports`), implemented by `application.payments.Payments` or `NoLedger`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from application.booking.change import ChangeAppointment
from application.booking.confirm import SLOT_TIMEOUT, ConfirmHold
from application.booking.context import BookingContext, Caller, HoldRequest
from application.booking.direct_create import CreateDirect
from application.booking.hold import HoldSlot
from application.booking.no_ledger import NoLedger
from application.booking.scheduler import REMINDER_LEAD, ScheduledTasks
from application.marketplace import Marketplace
from application.ports import BookingMoney
from domain.ledger import exact

__all__ = ["REMINDER_LEAD", "SLOT_TIMEOUT", "Bookings", "Caller", "HoldRequest"]


class Bookings:
    def __init__(
        self,
        market: Marketplace,
        zone: ZoneInfo,
        clock: Callable[[], datetime] | None = None,
        money: BookingMoney | None = None,
    ):
        self.context = BookingContext(market, zone, clock or (lambda: datetime.now(UTC)), money or NoLedger())
        holds, changes, tasks = HoldSlot(self.context), ChangeAppointment(self.context), ScheduledTasks(self.context)
        self.hold = holds.hold
        self.hold_refusals = holds.refusals
        self.confirm = ConfirmHold(self.context).confirm
        self.create_direct = CreateDirect(self.context).create_direct
        self.change = changes.change
        self.delete = changes.delete
        self.expire_hold = tasks.expire_hold
        self.complete = tasks.complete
        self.remind = tasks.remind
        self.appointment = self.context.appointment

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.context.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.context.clock = clock

    @property
    def zone(self) -> ZoneInfo:
        return self.context.zone

    @property
    def money(self) -> BookingMoney:
        return self.context.money


money = exact  # the one rounding rule of amounts the booking commands use (domain.ledger)
