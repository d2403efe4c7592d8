"""Long-lived aggregates load from eventsourcing snapshots (issue 17, "Cost growth"): a process that has
not seen one of them yet reads its latest snapshot and at most `SNAPSHOT_INTERVAL` events, however
long its history. Counted in events read from the store, never in time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from application.marketplace import SNAPSHOT_INTERVAL, Marketplace, NoBarrier
from domain.appointments import ClientLink
from domain.ids import aggregate_id, new_object_id, settings_id
from domain.notifications import Inbox
from domain.platform_settings import PlatformSettings
from domain.settings import ConsultantSettings
from infrastructure.bootstrap import build
from infrastructure.settings import Settings

EVENTS = 2 * SNAPSHOT_INTERVAL + SNAPSHOT_INTERVAL // 2  # 250: two snapshots, then 50 more events


def counting(market: Marketplace) -> list[int]:
    """Wrap the market's event reader; the returned list gets the number of events of each read."""
    reads: list[int] = []
    reader = market.read_events

    def read(wanted: Any) -> Any:
        events = reader(wanted)
        reads.append(len(events))
        return events

    market.read_events = read
    return reads


def inbox() -> tuple[Inbox, Callable[[Any, int], None]]:
    return Inbox(reader_id=new_object_id()), lambda box, n: box.read([f"{n:024x}"], datetime.now(UTC))


def consultant_settings() -> tuple[ConsultantSettings, Callable[[Any, int], None]]:
    aggregate = ConsultantSettings(consultant_id=new_object_id(), settings_id=new_object_id(), document={})
    return aggregate, lambda s, n: s.update_notifications({"email": n % 2 == 0, "round": n})


def client_link() -> tuple[ClientLink, Callable[[Any, int], None]]:
    link = ClientLink(client_id=new_object_id(), consultant_id=new_object_id())
    return link, lambda s, n: s.change_status("Inactive" if n % 2 else "Active", "Consultant")


def platform_settings() -> tuple[PlatformSettings, Callable[[Any, int], None]]:
    return PlatformSettings(), lambda s, n: s.update_section("general", {"n": n}, {"n": n}, new_object_id())


@pytest.fixture
def two_processes(settings: Settings) -> Iterator[tuple[Any, Any]]:
    """Two containers on one store: the second one's cache has never seen what the first wrote (the
    first one keeps the read models, which the second one's commands check)."""
    first = build(settings, run_projections=True)
    second = build(settings, run_projections=False)
    second.market.barrier = NoBarrier()  # nothing projects its writes: its commands must not wait for that
    yield first, second
    second.close()
    first.close()


@pytest.mark.parametrize("make", [inbox, consultant_settings, client_link, platform_settings])
def test_a_long_lived_aggregate_loads_from_its_snapshot(
    two_processes: tuple[Any, Any], make: Callable[[], tuple[Any, Callable[[Any, int], None]]]
) -> None:
    first, second = two_processes
    aggregate, change = make()
    first.market.save(aggregate)
    for n in range(EVENTS - 1):  # one command each, as the services save them
        change(aggregate, n)
        first.market.save(aggregate)
    assert aggregate.version == EVENTS
    uuid: UUID = aggregate.id

    reads = counting(second.market)
    loaded = second.market.find(uuid, snapshotted=True)
    assert loaded.version == EVENTS
    assert reads == [EVENTS % SNAPSHOT_INTERVAL], "the latest snapshot and only the events after it"
    assert {k: v for k, v in vars(loaded).items() if k != "_pending_events"} == {
        k: v for k, v in vars(aggregate).items() if k != "_pending_events"
    }

    second.market.forget(uuid)
    reads.clear()
    assert second.market.find(uuid).version == EVENTS  # without the snapshot: the whole history
    assert reads == [EVENTS]


def test_a_settings_command_loads_the_settings_from_their_snapshot(two_processes: tuple[Any, Any]) -> None:
    """Through the command that loads them (a PUT of notification flags), in a process that has not seen them."""
    first, second = two_processes
    consultant_id = first.identity.signup(
        {
            "fullName": "Snap Consultant",
            "email": "snap@example.com",
            "mobile": "+919612345678",
            "password": "secret1",
            "role": "Consultant",
        }
    )["user"]["id"]
    for n in range(EVENTS):
        first.settings_service.update_notifications(consultant_id, {"email": n % 2 == 0})
    version = first.market.find(settings_id(consultant_id)).version
    assert version > 2 * SNAPSHOT_INTERVAL
    reads = counting(second.market)
    second.settings_service.update_notifications(consultant_id, {"sms": True})
    assert reads == [version % SNAPSHOT_INTERVAL]  # the events after the latest snapshot, in one read
    assert second.market.find(settings_id(consultant_id)).document["notifications"]["sms"] is True


def test_an_account_loads_from_its_sealed_snapshot_and_erasure_still_shreds_it(two_processes: tuple[Any, Any]) -> None:
    """Every login is an event of the account. Its snapshot holds the profile sealed with the
    account's key (never in clear in the store), so an erasure shreds the snapshot too."""
    first, second = two_processes
    email = "snapclient@example.com"
    client_id = first.identity.signup(
        {"fullName": "Snap Client", "email": email, "mobile": "+919712345678", "password": "secret1", "role": "Client"}
    )["user"]["id"]
    for _ in range(EVENTS):
        first.identity.login(email, "secret1", "Client")
    uuid = aggregate_id(client_id)
    version = first.market.find(uuid).version
    assert version > 2 * SNAPSHOT_INTERVAL

    reads = counting(second.market)
    assert second.market.account(client_id).profile["email"] == email
    assert reads == [version % SNAPSHOT_INTERVAL]
    stored = list(second.market.snapshots.recorder.select_events(uuid, desc=True, limit=1))  # type: ignore[union-attr]
    assert stored and email.encode() not in stored[0].state and b"Snap Client" not in stored[0].state

    first.privacy.erase(client_id, "client", "Client", "secret1")  # its key is destroyed (the first process knows)
    snapshot = next(iter(first.market.snapshots.get(uuid, desc=True, limit=1)))  # type: ignore[union-attr]
    assert snapshot.state["profile"]["email"] == "" and snapshot.state["profile"]["fullName"] == "Deleted user"


def test_an_aggregate_that_does_not_exist_yet_costs_one_snapshot_lookup(two_processes: tuple[Any, Any]) -> None:
    """A first booking's link, settings never saved: the hot path asks for a snapshot once, not on every load."""
    first, second = two_processes
    lookups: list[UUID] = []
    read = second.market.read_snapshots  # the latest snapshots of the aggregates asked for, in one read

    def counted(uuids: Any) -> Any:
        lookups.extend(uuids)
        return read(uuids)

    second.market.read_snapshots = counted
    link, _ = client_link()
    for _ in range(3):
        assert second.market.find(link.id, snapshotted=True) is None
    assert lookups == [link.id]
    first.market.save(link)  # it exists now: the next load reads its events, still without a lookup
    assert second.market.find(link.id, snapshotted=True).version == 1
    assert lookups == [link.id]
