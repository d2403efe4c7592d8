"""`Bookings.hold_refusals` answers, from one read and without writing, exactly what each hold's own
command would answer at that moment (the hold route uses it for requests that queued together)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from application.bookings import Caller, HoldRequest
from domain.errors import DomainError
from domain.ids import new_object_id
from infrastructure.bootstrap import Container
from interfaces.http.errors import status_of
from tests.conftest import signed_up

IST = ZoneInfo("Asia/Kolkata")


def weekday_ahead() -> date:
    today = datetime.now(UTC).astimezone(IST).date()
    return today + timedelta(days=14 - today.weekday())  # a Monday two weeks ahead: default working hours


def interval(day: date, hhmm: str) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=IST)
    return start, start + timedelta(hours=1)


def outcome(container: Container, request: HoldRequest) -> str:
    try:
        container.bookings.hold(request.caller, request.consultant_id, request.client_id, request.start, request.end)
    except DomainError as refusal:
        return f"{status_of(refusal)} {refusal.message}"
    return "placed"


def test_refusals_are_what_each_command_answers(container: Container) -> None:
    consultant = signed_up(container, "Consultant")
    holder, other, third = (signed_up(container, "Client") for _ in range(3))
    day = weekday_ahead()
    taken, free = interval(day, "09:00"), interval(day, "10:15")
    container.bookings.hold(Caller(holder, "Client"), consultant, holder, *taken)
    past = (datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) - timedelta(days=1) + timedelta(hours=1))
    requests = [
        HoldRequest(Caller(other, "Client"), consultant, other, *taken),  # the slot is held by someone else
        HoldRequest(Caller(holder, "Client"), consultant, holder, *taken),  # the holder's retry: refreshed
        HoldRequest(Caller(third, "Client"), consultant, third, *free),  # another, open slot
        HoldRequest(Caller(other, "Client"), consultant, third, *free),  # for somebody else
        HoldRequest(Caller(other, "Client"), consultant, other, *past),
        HoldRequest(Caller(other, "Client"), new_object_id(), other, *free),  # no such consultant
        HoldRequest(Caller(other, "Client"), consultant, other, taken[0], taken[0] + timedelta(minutes=17)),
    ]
    written = container.market.recorder.max_notification_id()
    verdicts = container.bookings.hold_refusals(requests)
    assert container.market.recorder.max_notification_id() == written  # decided without a write
    assert [v is None for v in verdicts] == [False, True, True, False, False, False, False]
    for request, verdict in zip(requests, verdicts, strict=True):
        if verdict is not None:
            assert f"{status_of(verdict)} {verdict.message}" == outcome(container, request)
    assert verdicts[0] is not None and verdicts[0].message == "Slot is already booked or held by another user"
    assert outcome(container, requests[2]) == "placed"  # the open slot really was open


def test_a_queue_of_losers_is_decided_from_one_read_without_their_links(container: Container) -> None:
    """The shared check reads once for the whole queue, and not the client links: a loser is refused
    at the overlap test, before any link is read (each link was one more id, and for a pair this
    process had not seen, one more snapshot query)."""
    from domain.links import link_uuid

    consultant = signed_up(container, "Consultant")
    holder, *losers = (signed_up(container, "Client") for _ in range(6))
    taken = interval(weekday_ahead(), "11:30")
    container.bookings.hold(Caller(holder, "Client"), consultant, holder, *taken)
    asked: list[list[object]] = []
    reader = container.market.read_events

    def read(wanted: object) -> object:
        asked.append([uuid for uuid, _ in wanted])  # type: ignore[attr-defined]
        return reader(wanted)  # type: ignore[arg-type]

    container.market.read_events = read  # type: ignore[assignment]
    verdicts = container.bookings.hold_refusals(
        [HoldRequest(Caller(c, "Client"), consultant, c, *taken) for c in losers]
    )
    assert [v.message if v else None for v in verdicts] == ["Slot is already booked or held by another user"] * 5
    assert len(asked) == 1
    assert not {link_uuid(c, consultant) for c in losers} & set(asked[0])


def test_the_account_snapshots_of_a_queue_are_read_in_one_query(container: Container) -> None:
    """Clients this process has not loaded yet: their accounts start from their latest snapshots, all
    asked in one read (it was one query per client: 199 in the first contest of a 200-way burst)."""
    from domain.ids import aggregate_id

    consultant = signed_up(container, "Consultant")
    holder, *losers = (signed_up(container, "Client") for _ in range(6))
    taken = interval(weekday_ahead(), "12:45")
    container.bookings.hold(Caller(holder, "Client"), consultant, holder, *taken)
    for client in losers:
        container.market.forget(aggregate_id(client))
    market = container.market
    assert market.snapshots is not None
    asked: list[list[object]] = []
    reader, each = market.read_snapshots, market.snapshots.recorder.select_events
    market.read_snapshots = lambda uuids: asked.append(list(uuids)) or reader(uuids)  # type: ignore[assignment]
    singly: list[object] = []
    market.snapshots.recorder.select_events = lambda *a, **k: singly.append(a) or each(*a, **k)  # type: ignore[method-assign]
    verdicts = container.bookings.hold_refusals(
        [HoldRequest(Caller(c, "Client"), consultant, c, *taken) for c in losers]
    )
    assert [v.message if v else None for v in verdicts] == ["Slot is already booked or held by another user"] * 5
    assert len(asked) == 1 and {aggregate_id(c) for c in losers} <= set(asked[0])
    if container.settings.uses_postgres:
        assert singly == []  # the one query, not the recorder's query per aggregate


def test_a_process_that_never_saw_the_clients_reads_their_keys_in_one_query(container: Container) -> None:
    """Another process (its own caches of states and of personal-data keys) decides a queue of holds
    by clients it has never loaded: their keys are read together before their accounts are decoded
    (it was one query per client)."""
    from infrastructure.bootstrap import build

    consultant = signed_up(container, "Consultant")
    holder, *losers = (signed_up(container, "Client") for _ in range(6))
    taken = interval(weekday_ahead(), "14:00")
    container.bookings.hold(Caller(holder, "Client"), consultant, holder, *taken)
    other = build(container.settings, run_projections=False)
    try:
        keys = other.market.mapper.sealer.keys  # type: ignore[attr-defined]
        read_one = keys._read
        singly: list[str] = []
        keys._read = lambda subject: singly.append(subject) or read_one(subject)
        verdicts = other.bookings.hold_refusals(
            [HoldRequest(Caller(c, "Client"), consultant, c, *taken) for c in losers]
        )
    finally:
        other.close()
    assert [v.message if v else None for v in verdicts] == ["Slot is already booked or held by another user"] * 5
    assert not set(losers) & set(singly)


def test_a_queue_of_one_slot_gets_each_command_s_own_answer(container: Container) -> None:
    """The steps that do not depend on the client are taken once per slot of a queue; every request
    still gets what its own command answers, in the command's order: a past slot or an unknown
    consultant before the client's account, an unknown client before the overlap, the holder's own
    identical hold refreshed, an interval with its end first refused as such, and a free slot left to
    the request's own check."""
    consultant = signed_up(container, "Consultant")
    holder, *others = (signed_up(container, "Client") for _ in range(4))
    day = weekday_ahead()
    taken, free = interval(day, "15:15"), interval(day, "14:00")
    container.bookings.hold(Caller(holder, "Client"), consultant, holder, *taken)
    stranger, nobody = new_object_id(), new_object_id()
    past = (datetime.now(UTC) - timedelta(days=2), datetime.now(UTC) - timedelta(days=2) + timedelta(hours=1))
    backwards = (taken[1], taken[0])
    slots = [taken, past, backwards, free]
    requests = [
        HoldRequest(Caller(client, "Client"), who, client, *slot)
        for slot in slots
        for who in (consultant, nobody)
        for client in (*others, holder, stranger)
    ]
    verdicts = container.bookings.hold_refusals(requests)
    expected = [outcome(container, r) if v is not None else None for r, v in zip(requests, verdicts, strict=True)]
    assert [f"{status_of(v)} {v.message}" if v else None for v in verdicts] == expected
    answers = dict(zip(requests, verdicts, strict=True))
    mine = HoldRequest(Caller(holder, "Client"), consultant, holder, *taken)
    assert answers[mine] is None  # the holder's retry: refreshed
    assert {answers[HoldRequest(Caller(c, "Client"), consultant, c, *free)] for c in others} == {None}
    assert len({v.message for v in verdicts if v is not None}) >= 5
