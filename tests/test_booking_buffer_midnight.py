"""The buffer between two bookings holds across midnight, also when the two bookings race.

A booking ending late on one date and one starting just after midnight are on two different
consultant-day aggregates. Each command checks the other date (its buffer reaches it), but unless
both write a day aggregate in common, two commands that checked before either committed would both
land, within each other's buffer. The race is forced deterministically: both commands load and
check first, then both commit (a barrier in front of the first commit of each)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from application.bookings import Caller
from domain.errors import Conflict
from infrastructure.bootstrap import Container
from infrastructure.tables import slot_bookings
from tests.conftest import signed_up as account

IST = ZoneInfo("Asia/Kolkata")


def next_monday() -> date:
    today = datetime.now(UTC).astimezone(IST).date()
    return today + timedelta(days=7 - today.weekday() + 7)


def late_and_early(container: Container, consultant: str) -> tuple[date, date]:
    """Monday 22:30-23:30 and Tuesday 00:00-01:00 are slots; the 45-minute buffer makes them exclusive."""
    window = {"isWorking": True, "slots": [{"start": "22:30", "end": "23:30"}, {"start": "00:00", "end": "01:00"}]}
    container.settings_service.update_availability(
        consultant,
        {
            "workingHours": {"monday": window, "tuesday": window},
            "sessionSettings": {"defaultDuration": 60, "bufferTime": 45},
            "advanceBooking": {"maxDaysInAdvance": 60, "minHoursInAdvance": 0},
        },
    )
    monday = next_monday()
    return monday, monday + timedelta(days=1)


def interval(day: date, hhmm: str) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=IST)
    return start, start + timedelta(hours=1)


def test_the_open_slots_close_each_other_across_midnight(container: Container) -> None:
    consultant, client = account(container, "Consultant"), account(container, "Client")
    monday, tuesday = late_and_early(container, consultant)
    assert "00:00 - 01:00" in container.slots.open_slots(consultant, tuesday, client, "Client")
    container.bookings.hold(Caller(client, "Client"), consultant, client, *interval(monday, "22:30"))
    assert "00:00 - 01:00" not in container.slots.open_slots(consultant, tuesday, client, "Client")
    other = account(container, "Client")
    with pytest.raises(Conflict):
        container.bookings.hold(Caller(other, "Client"), consultant, other, *interval(tuesday, "00:00"))


def test_racing_bookings_on_both_sides_of_midnight_never_both_land(container: Container) -> None:
    consultant = account(container, "Consultant")
    first, second = account(container, "Client"), account(container, "Client")
    monday, tuesday = late_and_early(container, consultant)
    both_checked = threading.Barrier(2, timeout=20)
    waited: set[int] = set()
    commit = container.market._commit_range  # every command's atomic write goes through it

    def commit_after_both_checked(*aggregates: Any) -> tuple[int, int]:
        thread = threading.get_ident()
        if thread not in waited:  # the first attempt of each command: both have loaded and checked
            waited.add(thread)
            both_checked.wait()
        return commit(*aggregates)

    container.market._commit_range = commit_after_both_checked  # type: ignore[method-assign]
    outcomes: dict[str, str] = {}

    def book(client: str, day: date, start: str) -> None:
        try:
            container.bookings.hold(Caller(client, "Client"), consultant, client, *interval(day, start))
            outcomes[start] = "held"
        except Conflict as refusal:
            outcomes[start] = str(refusal)

    threads = [
        threading.Thread(target=book, args=(first, monday, "22:30")),
        threading.Thread(target=book, args=(second, tuesday, "00:00")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    container.market._commit_range = commit  # type: ignore[method-assign]

    assert sorted(outcomes.values()) == ["Slot is not available", "held"], outcomes
    assert waited == {t.ident for t in threads}  # both really checked before either committed
    # one live booking in the read model, and the slot list shows both slots closed by it
    with container.engine.connect() as conn:
        live = conn.execute(
            sa.select(slot_bookings.c.client_id).where(slot_bookings.c.consultant_id == consultant)
        ).all()
    assert len(live) == 1, live
    observer = account(container, "Client")
    assert "22:30 - 23:30" not in container.slots.open_slots(consultant, monday, observer, "Client")
    assert "00:00 - 01:00" not in container.slots.open_slots(consultant, tuesday, observer, "Client")
