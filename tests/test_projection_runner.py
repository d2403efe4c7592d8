"""The projection runner's shortcuts keep the read models exact: notifications skipped by topic are
never ones a projector handles, superseded settings updates are the only settings events skipped,
remembered settings documents are dropped when another worker projected in between, and pushes of
a request that drove the runner wait for its response but still follow the commit."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

import domain.accounts
import domain.appointments
import domain.catalogue
import domain.ledger
import domain.notifications
import domain.settings
from application.availability import _with_ids, effective_availability
from domain.accounts import Account
from domain.appointments import Appointment, ClientLink
from domain.availability import default_settings
from domain.catalogue import Category
from domain.ids import new_object_id
from domain.ledger import Earnings, Transaction
from domain.notifications import Inbox, Notification
from domain.privacy import Erasure
from domain.settings import ConsultantSettings
from infrastructure.appointments_projection import AppointmentsProjector
from infrastructure.bootstrap import build
from infrastructure.directory_projection import DirectoryProjector
from infrastructure.ledger_projection import LedgerProjector
from infrastructure.people_projection import PeopleProjector
from infrastructure.pushes import Emit, deferred_pushes
from infrastructure.settings_projection import STATUS_EVENTS, SettingsProjector
from infrastructure.tables import READ_MODEL_TABLES


@dataclass
class Note:
    id: int
    topic: str
    originator_id: UUID


def event_classes() -> list[type]:
    found = []
    for module in (
        domain.accounts,
        domain.appointments,
        domain.catalogue,
        domain.ledger,
        domain.notifications,
        domain.settings,
    ):
        for _, aggregate in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(aggregate, Aggregate)
                and aggregate is not Aggregate
                and aggregate.__module__ == module.__name__
            ):
                found += [
                    value
                    for value in vars(aggregate).values()
                    if inspect.isclass(value) and issubclass(value, aggregate.Event)
                ]
    return found


def test_no_projector_skips_a_topic_it_handles() -> None:
    """Every event class of every aggregate, by its real topic: a projector skips exactly the ones it
    does not handle, and the runner's projectors all say what they handle."""
    from zoneinfo import ZoneInfo

    classes = event_classes()
    assert len(classes) > 30 and ConsultantSettings.AvailabilityUpdated in classes
    projectors = [
        SettingsProjector(),
        DirectoryProjector(),
        AppointmentsProjector(ZoneInfo("Asia/Kolkata")),
        LedgerProjector(),
        PeopleProjector(),
    ]
    expected = {
        DirectoryProjector: (Account.Event, Category.Event),
        AppointmentsProjector: (Appointment.Event,),
        PeopleProjector: (Notification.Sent, Inbox.Event, ClientLink.Event, Account.Registered, Erasure.Recorded),
        SettingsProjector: (ConsultantSettings.Event, *STATUS_EVENTS),
        LedgerProjector: (Transaction.Event, Earnings.Event),
    }
    for projector in projectors:
        assert set(projector.handles.classes) == set(expected[type(projector)])
        notes = [Note(number, get_topic(cls), uuid4()) for number, cls in enumerate(classes)]
        skipped = projector.unneeded(notes)
        for note, cls in zip(notes, classes, strict=True):
            assert (note.id in skipped) != issubclass(cls, projector.handles.classes), (type(projector), note.topic)


def test_only_superseded_settings_updates_are_skipped() -> None:
    one, other = uuid4(), uuid4()
    availability, notifications, updated = (
        get_topic(ConsultantSettings.AvailabilityUpdated),
        get_topic(ConsultantSettings.NotificationsUpdated),
        get_topic(ConsultantSettings.Updated),
    )
    notes = [
        Note(1, availability, one),
        Note(2, notifications, one),
        Note(3, availability, other),
        Note(4, updated, one),
        Note(5, availability, one),
        Note(6, notifications, other),
        Note(7, get_topic(Account.Blocked), one),
        Note(8, get_topic(Account.LoggedIn), one),
    ]
    assert SettingsProjector().unneeded(notes) == {1, 8}


def _table_rows(container: Any) -> dict[str, list[Any]]:
    with container.engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(sa.select(table)))) for table in READ_MODEL_TABLES}


def _documents(container: Any) -> dict[str, dict[str, Any]]:
    from infrastructure.tables import consultant_settings

    with container.engine.connect() as conn:
        return {r.consultant_id: json.loads(r.document) for r in conn.execute(sa.select(consultant_settings))}


def test_two_workers_taking_turns_project_what_a_rebuild_does(settings: Any) -> None:
    """Worker A remembers the documents it committed; worker B projects a notifications change in
    between; A's next batch must start from the table, not from what it remembers."""
    first = build(settings, run_projections=False)
    second = build(settings, run_projections=False)
    try:
        first.runner.batch_size = second.runner.batch_size = 3
        aggregates = []
        for _ in range(4):
            document = default_settings()
            document["availability"] = _with_ids(document["availability"], {})
            aggregates.append(
                ConsultantSettings(consultant_id=new_object_id(), settings_id=new_object_id(), document=document)
            )
        first.market.save(*aggregates)
        first.runner.catch_up()
        window = {"workingHours": {"tuesday": {"enabled": True, "slots": [{"start": "10:00", "end": "12:00"}]}}}
        for turn, (runner, change) in enumerate(
            [
                (first, "availability"),
                (second, "notifications"),
                (first, "availability"),
                (second, "availability"),
                (second, "notifications"),
                (first, "availability"),
            ]
        ):
            for number, aggregate in enumerate(aggregates):
                if change == "notifications":
                    flag = "sms" if turn == 1 else "email"  # each change a different flag: none can hide a lost one
                    aggregate.update_notifications({**aggregate.document["notifications"], flag: False})
                else:
                    end = f"{12 + (turn + number) % 6:02d}:00"
                    patch = {
                        "workingHours": {
                            "tuesday": {**window["workingHours"]["tuesday"], "slots": [{"start": "10:00", "end": end}]}
                        }
                    }
                    aggregate.update_availability(patch, effective_availability(aggregate.availability, patch))
            first.market.save(*aggregates)
            runner.runner.catch_up()
        live = _documents(first)
        assert {cid: d["availability"] for cid, d in live.items()} == {
            a.consultant_id: a.availability for a in aggregates
        }
        assert {cid: d["notifications"] for cid, d in live.items()} == {
            a.consultant_id: a.document["notifications"] for a in aggregates
        }
        before = _table_rows(first)
        first.runner.reset()
        first.runner.catch_up()
        assert _table_rows(first) == before
    finally:
        first.close()
        second.close()


def test_pushes_of_a_deferring_context_are_collected_after_the_commit(settings: Any) -> None:
    container = build(settings, run_projections=False)
    sent: list[Emit] = []

    class Recorder:
        def emit(self, message: Emit) -> None:
            sent.append(message)

    container.set_broadcaster(Recorder())
    try:
        document = default_settings()
        window = {"workingHours": {"monday": {"enabled": True, "slots": [{"start": "09:00", "end": "10:00"}]}}}
        document["availability"] = _with_ids(effective_availability(document["availability"], window), {})
        aggregate = ConsultantSettings(consultant_id=new_object_id(), settings_id=new_object_id(), document=document)
        for end in ("11:00", "12:00"):  # two pushes of one batch with the same content: sent once
            patch = {"workingHours": {"monday": {"enabled": True, "slots": [{"start": "09:00", "end": end}]}}}
            aggregate.update_availability(patch, effective_availability(aggregate.availability, patch))
        container.market.save(aggregate)
        with deferred_pushes() as pushes:
            container.runner.catch_up()
            assert sent == []
            assert container.runner.committed_position() == container.market.recorder.max_notification_id()
            assert _documents(container)[aggregate.consultant_id]["availability"] == aggregate.availability
        container.runner.send(pushes)
        assert [m.data["consultantId"] for m in sent] == [aggregate.consultant_id]
        aggregate.update_availability({}, aggregate.availability)
        container.market.save(aggregate)
        container.runner.catch_up()  # outside a deferring context: sent at once
        assert len(sent) == 2
    finally:
        container.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_put_answers_before_its_push_and_the_push_follows_the_commit(api: Any) -> None:
    """In-process: the PUT drives the projection, and its push is handed to the socket server only
    after the response's last byte was sent, with the read model already holding the change."""
    import anyio

    from tests.conftest import bearer, create_admin, signup

    admin = bearer(create_admin(api))
    consultant = signup(api, "Consultant", fullName="Push Later")
    consultant_id = consultant["user"]["id"]
    assert api.post(f"/api/v1/consultants/{consultant_id}/approve", headers=admin).status_code == 200
    container = api.app.state.container
    window = {"tuesday": {"enabled": True, "slots": [{"start": "09:00", "end": "11:00"}]}}
    order: list[str] = []

    class Spy:
        def emit(self, message: Emit) -> None:
            stored = container.slots.settings_document(consultant_id) or {}
            committed = stored.get("availability", {}).get("workingHours", {}).get("tuesday", {}).get("slots")
            order.append(f"push {message.event} committed={[(w['start'], w['end']) for w in committed or []]}")

    container.set_broadcaster(Spy())
    path = f"/api/v1/consultant-settings/{consultant_id}/availability"
    body = json.dumps({"workingHours": window}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {consultant['token']}".encode()),
        ],
    }

    async def put() -> None:
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await anyio.sleep_forever()
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                order.append(f"status {message['status']}")
            elif not message.get("more_body"):
                order.append("response sent")

        await api.app(scope, receive, send)

    api.portal.call(put)
    assert order == ["status 200", "response sent", "push availability:updated committed=[('09:00', '11:00')]"]
