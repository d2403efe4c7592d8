"""The slot list and the booking command agree (issue 4 §4), as a property: for random availability
(windows, session lengths 15..120, buffers 0..30, maxSessionsPerDay, breaks, time off, advance
booking), random existing bookings (appointments, other clients' holds, the caller's own holds) and
random query dates, every slot the list shows a client can be held by that client at that moment,
and every candidate slot it does not show is refused.

In-process on SQLite: the container's application services (what the routes call), with the
projections run in-process so the slot read model reflects each command before the next query."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from application.bookings import Caller
from domain.availability import WEEKDAYS, candidate_slots, hhmm
from domain.errors import DomainError
from infrastructure.bootstrap import Container, build
from tests.conftest import make_settings
from tests.conftest import signed_up as account

ADMIN = Caller("f" * 24, "Admin")


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    built = build(make_settings(tmp_path_factory.mktemp("agreement")), run_projections=True)
    yield built
    built.close()


# -- strategies -----------------------------------------------------------------------------------


def clock_range(earliest: int = 0, latest: int = 23 * 60 + 55, longest: int = 8 * 60) -> st.SearchStrategy[dict]:
    """A wall-clock window `{start, end}` on 5-minute steps, end after start, before midnight."""
    return st.integers(earliest // 5, (latest - 15) // 5).flatmap(
        lambda first: st.integers(first + 3, min(latest // 5, first + longest // 5)).map(
            lambda last: {"start": hhmm(first * 5), "end": hhmm(last * 5)}
        )
    )


@st.composite
def availabilities(draw: st.DrawFn) -> dict[str, Any]:
    today = datetime.now(ZoneInfo("Asia/Kolkata")).date()
    working = {}
    for day in WEEKDAYS:
        windows = draw(st.lists(clock_range(longest=6 * 60), min_size=1, max_size=3))
        working[day] = {"enabled": draw(st.sampled_from([True, True, True, False])), "slots": windows}
    session = {"defaultDuration": draw(st.integers(3, 24)) * 5, "bufferTime": draw(st.integers(0, 6)) * 5}
    limit = draw(st.none() | st.integers(1, 6))
    if limit is not None:
        session["maxSessionsPerDay"] = limit
    breaks = draw(
        st.lists(
            clock_range(longest=120).flatmap(
                lambda window: st.lists(st.sampled_from(WEEKDAYS), max_size=3, unique=True).map(
                    lambda days: {**window, "days": days}
                )
            ),
            max_size=2,
        )
    )
    time_off = []
    if draw(st.booleans()):
        first = today + timedelta(days=draw(st.integers(0, 12)))
        last = first + timedelta(days=draw(st.integers(0, 3)))
        time_off.append(
            {
                "startDate": first.isoformat(),
                "endDate": last.isoformat(),
                "type": "vacation",
                "status": draw(st.sampled_from(["approved", "approved", "pending"])),
            }
        )
    advance: dict[str, Any] = {}
    if draw(st.booleans()):
        advance["minHoursInAdvance"] = draw(st.integers(0, 48))
    if draw(st.booleans()):
        advance["maxDaysInAdvance"] = draw(st.integers(1, 20))
    if draw(st.booleans()):
        advance["sameDayBooking"] = draw(st.booleans())
    return {
        "workingHours": working,
        "sessionSettings": session,
        "breakTimes": breaks,
        "timeOff": time_off,
        "advanceBooking": advance,
        "acceptingNewClients": draw(st.sampled_from([True, True, True, False])),
    }


BOOKERS = ("appointment", "other client's hold", "own hold")


# -- the property -------------------------------------------------------------------------------


def candidates(container: Container, availability: dict[str, Any], day: date) -> set[tuple[datetime, datetime]]:
    """The day's grid slots, and intervals near them that are never on the grid (shifted by 5
    minutes, or 15 minutes longer)."""
    zone = container.bookings.zone
    out = set()
    for slot in candidate_slots(availability, day, zone):
        out.add((slot.start, slot.end))
        out.add((slot.start + timedelta(minutes=5), slot.end + timedelta(minutes=5)))
        out.add((slot.start, slot.end + timedelta(minutes=15)))
    return out


def interval(container: Container, day: date, label: str) -> tuple[datetime, datetime]:
    zone = container.bookings.zone
    start, end = label.split(" - ")
    return (
        datetime.combine(day, datetime.strptime(start, "%H:%M").time(), tzinfo=zone),
        datetime.combine(day, datetime.strptime(end, "%H:%M").time(), tzinfo=zone),
    )


def label_of(container: Container, start: datetime, end: datetime) -> str:
    zone = container.bookings.zone
    return f"{start.astimezone(zone):%H:%M} - {end.astimezone(zone):%H:%M}"


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # a failure prints its draws; shrinking takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(availability=availabilities(), data=st.data())
def test_every_listed_slot_can_be_held_and_every_other_candidate_is_refused(container, availability, data):
    now = datetime.now(UTC)
    today = now.astimezone(container.bookings.zone).date()
    container.bookings.clock = lambda: now
    consultant, prober, other = (
        account(container, "Consultant"),
        account(container, "Client"),
        account(container, "Client"),
    )
    container.settings_service.update_availability(consultant, availability)
    horizon = [today + timedelta(days=n) for n in range(23)]
    working = [d for d in horizon if availability["workingHours"][WEEKDAYS[d.weekday()]]["enabled"]]
    days = data.draw(
        st.lists(
            st.sampled_from(working)
            if working and data.draw(st.integers(0, 4), label="bias")
            else st.sampled_from(horizon),
            min_size=1,
            max_size=2,
            unique=True,
        ),
        label="days",
    )

    def listed(day: date, who: str = prober, role: str = "Client") -> list[str]:
        found = container.slots.open_slots(consultant, day, who, role, now=now)
        assert found is not None
        return found

    def hold(client: str, start: datetime, end: datetime) -> tuple[str, bool]:
        hold_id, _, refreshed = container.bookings.hold(Caller(client, "Client"), consultant, client, start, end)
        return hold_id, refreshed

    # existing bookings, each placed on a slot its booker sees open (which must succeed too)
    for day in days:
        for booker in data.draw(st.lists(st.sampled_from(BOOKERS), max_size=4), label=f"bookers {day}"):
            who, role = {
                "appointment": (ADMIN.id, "Admin"),
                "other client's hold": (other, "Client"),
                "own hold": (prober, "Client"),
            }[booker]
            open_now = listed(day, who, role)
            if not open_now:
                continue
            start, end = interval(container, day, data.draw(st.sampled_from(open_now), label=booker))
            if booker == "appointment":
                container.bookings.create_direct(ADMIN, consultant, other, start, end, "Upcoming", {}, None, None)
            else:
                hold(who, start, end)

    # the property, at this moment, for the prober
    held = refused = 0
    for day in days:
        shown = listed(day)
        grid = {(slot.start, slot.end) for slot in candidate_slots(availability, day, container.bookings.zone)}
        near = sorted(candidates(container, availability, day) - grid)
        probes = sorted(grid) + data.draw(st.randoms(use_true_random=False), label="sample").sample(
            near, min(6, len(near))
        )
        on_list = [
            p
            for p in probes
            if label_of(container, *p) in shown and p == interval(container, day, label_of(container, *p))
        ]
        if len(on_list) > 6:  # holding costs two commands: a sample of the listed ones
            keep = set(data.draw(st.randoms(use_true_random=False), label="listed").sample(on_list, 6))
            probes = [p for p in probes if p not in on_list or p in keep]
        for start, end in probes:
            label = label_of(container, start, end)
            if label in shown and (start, end) == interval(container, day, label):
                hold_id, refreshed = hold(prober, start, end)  # must not raise
                if not refreshed:  # put the moment back as it was
                    container.bookings.delete(ADMIN, hold_id)
                assert listed(day) == shown
                held += 1
            else:
                with pytest.raises(DomainError):
                    hold(prober, start, end)
                refused += 1
        # nothing listed lies off the candidates
        assert set(shown) <= {label_of(container, s, e) for s, e in candidates(container, availability, day)}
    event(f"listed slots held: {min(held, 5)}{'+' if held >= 5 else ''}")
    event(f"candidates refused: {min(refused, 20)}{'+' if refused >= 20 else ''}")


def test_the_callers_own_hold_blocks_the_slots_it_overlaps(container):
    """Found by the property above: with overlapping windows, a slot overlapping the caller's own
    hold was listed to the caller (own holds were ignored entirely) but the hold was refused."""
    now = datetime.now(UTC)
    container.bookings.clock = lambda: now
    consultant, prober = account(container, "Consultant"), account(container, "Client")
    window = [{"start": "09:00", "end": "11:00"}, {"start": "09:30", "end": "11:30"}]
    container.settings_service.update_availability(
        consultant,
        {
            "workingHours": {day: {"enabled": True, "slots": window} for day in WEEKDAYS},
            "sessionSettings": {"defaultDuration": 60, "bufferTime": 0},
        },
    )
    day = now.astimezone(container.bookings.zone).date() + timedelta(days=3)
    slots = lambda: container.slots.open_slots(consultant, day, prober, "Client", now=now)  # noqa: E731
    assert slots() == ["09:00 - 10:00", "09:30 - 10:30", "10:00 - 11:00", "10:30 - 11:30"]
    container.bookings.hold(Caller(prober, "Client"), consultant, prober, *interval(container, day, "09:00 - 10:00"))
    assert slots() == ["09:00 - 10:00", "10:00 - 11:00", "10:30 - 11:30"]
    with pytest.raises(DomainError):
        container.bookings.hold(
            Caller(prober, "Client"), consultant, prober, *interval(container, day, "09:30 - 10:30")
        )
    assert (
        container.bookings.hold(
            Caller(prober, "Client"), consultant, prober, *interval(container, day, "09:00 - 10:00")
        )[2]
        is True
    )  # a refresh
