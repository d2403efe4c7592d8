"""A projection never jams (issue 12, part 1): an event a projection cannot apply is parked, reported
(log, health, `consult doctor`, `consult rebuild`), retried on demand, and the projection goes on.

The bad events are recorded through the application and the event store directly, never through
HTTP: request validation refuses them at the routes, and parking is what protects the service from
the events such validation misses (or that older versions recorded)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import logging
import os
import pkgutil
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.persistence import Mapper
from eventsourcing.utils import get_topic
from fastapi import FastAPI
from fastapi.testclient import TestClient

import domain
from application.ports import ChangeNotApplied
from domain.catalogue import Category
from infrastructure import parking
from infrastructure.directory_projection import DirectoryProjector
from infrastructure.parking_retry import retry
from infrastructure.parking_tables import parked_events
from infrastructure.tables import categories
from interfaces.cli import main
from interfaces.http import errors
from tests.conftest import Server, bearer, create_admin, settings_env, signed_up

ROOT = Path(__file__).resolve().parent.parent
BAD_CATEGORY = {"title": "X", "status": None}  # the example: the categories table holds no null status


def cli(monkeypatch: pytest.MonkeyPatch, settings: Any, *argv: str) -> int:
    """Run `consult <argv>` in this process with the test's settings as its environment."""
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    if not settings.database_url:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    return main(list(argv))


def category_titles(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(categories.c.title)).scalars())


def test_a_bad_event_is_parked_and_the_service_goes_on(
    settings: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: Any
) -> None:
    from interfaces.http.app import create_app

    with TestClient(create_app(settings)) as api:
        container = api.app.state.container
        admin = bearer(create_admin(api))
        assert api.get("/api/v1/health").json()["data"].items() >= {"status": "up", "parkedEvents": 0}.items()

        # the example, recorded through the application: the command answers at once
        began = time.monotonic()
        with caplog.at_level(logging.ERROR), pytest.raises(ChangeNotApplied) as refused:
            container.market.create_category(BAD_CATEGORY, None)
        assert time.monotonic() - began < settings.read_your_writes_timeout / 2
        assert errors.status_of(refused.value) == 500
        position = refused.value.position
        assert any("PARKED" in r.getMessage() and str(position) in r.getMessage() for r in caplog.records)

        # every following write is visible at once
        began = time.monotonic()
        reply = api.post("/api/v1/categories", json={"title": "After"}, headers=admin)
        assert reply.status_code == 201, reply.text
        assert time.monotonic() - began < settings.read_your_writes_timeout / 2  # no wait for the timeout
        titles = [c["title"] for c in api.get("/api/v1/categories", headers=admin).json()["data"]]
        assert "After" in titles and "X" not in titles
        health = api.get("/api/v1/health")
        assert health.status_code == 200
        assert health.json()["data"].items() >= {"status": "degraded", "parkedEvents": 1}.items()
        [entry] = parking.listed(container.engine)
        assert (entry.position, entry.projection) == (position, "directory")
        assert entry.topic == get_topic(Category.Created) and "status" in entry.error.lower()

    # consult doctor lists it and fails
    capsys.readouterr()
    assert cli(monkeypatch, settings, "doctor") == 1
    listed = capsys.readouterr().err
    assert f"position {position}" in listed and "directory" in listed and "Category.Created" in listed

    # consult rebuild completes and reports it
    assert cli(monkeypatch, settings, "rebuild") == 0
    report = capsys.readouterr()
    assert "1 events parked" in report.err and f"position {position}" in report.err

    # a new server process starts, and says degraded
    running = Server(settings)
    try:
        body = httpx.get(running.url + "/api/v1/health", timeout=5).json()["data"]
        assert body["status"] == "degraded" and body["parkedEvents"] == 1
        assert cli(monkeypatch, settings, "doctor") == 1  # the server holds the DuckDB file: doctor reads around it
        assert f"position {position}" in capsys.readouterr().err
    finally:
        running.stop()

    # retry before the fix: still parked
    assert cli(monkeypatch, settings, "projections", "retry") == 1
    assert "0 applied and unparked, 1 still parked" in capsys.readouterr().out

    # after an upgrade whose projector reads a missing status as Active, the retry applies it
    original = DirectoryProjector._category

    def upgraded(self: Any, batch: Any, event: Any, position: int) -> None:
        if isinstance(event, Category.Created) and event.fields.get("status") is None:
            event.fields["status"] = "Active"
        original(self, batch, event, position)

    monkeypatch.setattr(DirectoryProjector, "_category", upgraded)
    assert cli(monkeypatch, settings, "projections", "retry", "--position", str(position)) == 0
    assert "1 applied and unparked, 0 still parked" in capsys.readouterr().out
    assert cli(monkeypatch, settings, "doctor") == 0
    from infrastructure.database import create_read_engine

    engine = create_read_engine(settings)
    try:
        assert {"X", "After"} <= category_titles(engine)
    finally:
        engine.dispose()


def test_a_parked_command_answers_the_contract_envelope() -> None:
    app = FastAPI()
    errors.install(app)

    @app.post("/change")
    def change() -> None:
        raise ChangeNotApplied(7, "IntegrityError: NOT NULL")

    reply = TestClient(app).post("/change")
    assert reply.status_code == 500
    assert reply.json() == {
        "success": False,
        "message": "The change was recorded but could not be applied; an operator has been alerted",
    }


# -- every event type, boundary values, every projection ----------------------------------------


def event_classes() -> list[tuple[type, type]]:
    """(aggregate, event class) for every event class of every aggregate of the domain."""
    found = []
    for info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{info.name}")
        for aggregate in vars(module).values():
            if not (inspect.isclass(aggregate) and issubclass(aggregate, Aggregate)):
                continue
            if aggregate.__module__ != module.__name__:
                continue
            for name, cls in vars(aggregate).items():
                if (
                    name != "Event"
                    and inspect.isclass(cls)
                    and issubclass(cls, CanMutateAggregate)
                    and cls.__qualname__.startswith(aggregate.__name__ + ".")
                ):
                    found.append((aggregate, cls))
    return found


def projector_keys() -> list[str]:
    """The document keys the projections read (so boundary values reach them inside dicts too)."""
    sources = [
        *ROOT.glob("infrastructure/*_projection.py"),
        *ROOT.glob("reporting/*_rows.py"),
        ROOT / "reporting" / "projection.py",
    ]
    keys: set[str] = set()
    for source in sources:
        keys |= set(re.findall(r"""(?:\.get\(|\[)"(\w+)"[,)\]]""", source.read_text()))
    return sorted(keys)


ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}
BOUNDARIES: dict[str, Any] = {"none": None, "empty": "", "huge": 10**30, "text": "ü漢😀\x00'\"\\"}


def make_event(aggregate: type, cls: type, values: dict[str, Any], originator: Any, version: int) -> Any:
    """An event of `cls` with `values` for every attribute of its own (the envelope stays valid)."""
    envelope = {f.name for f in dataclasses.fields(cls)}
    extra = {"originator_topic": get_topic(aggregate)} if "originator_topic" in envelope else {}
    return cls(originator_id=originator, originator_version=version, timestamp=datetime.now(UTC), **extra, **values)


def own_fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name not in ENVELOPE]


def boundary_events(existing: dict[type, list[Any]]) -> list[Any]:
    keys = projector_keys()
    events = []
    for aggregate, cls in event_classes():
        fields = own_fields(cls)
        for index, value in enumerate(BOUNDARIES.values()):
            for nested in (False, True):
                if nested and not fields:
                    continue
                values = {name: ({key: value for key in keys} if nested else value) for name in fields}
                ids = existing.get(aggregate) or []
                originator = ids[index % len(ids)] if ids and index % 2 == 0 else uuid4()
                events.append(make_event(aggregate, cls, values, originator, 1_000_000 + len(events)))
    return events


def test_one_bad_event_costs_no_good_event_of_its_batch(container: Any) -> None:
    """Read models and reporting: the good events around a bad one in one batch are all applied, the
    bad one is parked, and the tracking position ends after the batch."""
    from domain.ledger import Transaction
    from reporting.wiring import attach

    market = container.market
    market.on_saved = None  # the runner reads the four events from the log, as one batch
    attach(container)
    store = container.reporting
    good = [
        Category(category_id=f"{i:024x}", fields={"title": f"Good {i}", "status": "Active"}, parent_id=None)
        for i in (1, 2)
    ]
    bad_models = Category(category_id=f"{3:024x}", fields=BAD_CATEGORY, parent_id=None)
    huge = {name: 10**30 for name in own_fields(Transaction.Recorded)}
    bad_reporting = make_event(Transaction, Transaction.Recorded, huge, uuid4(), 1)  # DECIMAL(18, 2) overflows
    market.save(good[0])
    market.recorder.insert_events([market.mapper.to_stored_event(bad_reporting)])
    market.save(bad_models, good[1])
    last = market.recorder.max_notification_id()
    assert container.runner.batch_size >= 4 and store.batch_size >= 4
    container.runner.catch_up()
    store.catch_up()
    assert {"Good 1", "Good 2"} <= category_titles(container.engine)
    assert "X" not in category_titles(container.engine)
    assert container.runner.committed_position() == last == store.position == store.committed_position()
    assert [e.projection for e in parking.listed(container.engine)].count("directory") == 1
    with store.reading() as con:
        titles = {row[0] for row in con.execute("SELECT title FROM categories").fetchall()}
    assert {"Good 1", "Good 2", "X"} <= titles  # the reporting store holds a null status
    [parked] = store.parked_events()
    assert parked.topic == get_topic(Transaction.Recorded) and parked.position < last


def test_every_projection_parks_or_applies_every_event_type_with_boundary_values(container: Any) -> None:
    from reporting.wiring import attach

    market = container.market
    signed_up(container, "Consultant")
    signed_up(container, "Client")
    market.create_category({"title": "Seed", "status": "Active"}, None)
    # aggregates that exist, so boundary events also reach the projectors' update paths
    existing: dict[type, list[Any]] = {}
    classes = {get_topic(a): a for a, _ in event_classes()}
    for notification in market.recorder.select_notifications(1, 10_000):
        topic = notification.topic.rsplit(".", 1)[0]
        if topic in classes:
            existing.setdefault(classes[topic], []).append(notification.originator_id)
    events = boundary_events(existing)
    assert len({type(e) for e in events}) == len(event_classes()) >= 40  # every event type of the domain
    first = market.recorder.max_notification_id() + 1
    plain = Mapper(transcoder=market.mapper.transcoder)

    def stored(event: Any) -> Any:
        try:
            return market.mapper.to_stored_event(event)
        except ValueError:  # a subject no key can name (NUL): stored in the clear, as before encryption
            return plain.to_stored_event(event)

    market.recorder.insert_events([stored(e) for e in events])
    last = market.recorder.max_notification_id()
    attach(container)
    store = container.reporting
    runners = container.runners  # the read models' runner and the people runner (its own tracking row)
    for runner in runners:
        runner.catch_up()
    store.catch_up()
    assert all(runner.committed_position() == last for runner in runners) and store.position == last  # no jam

    # a following good event is applied by every projection
    good = market.create_category({"title": "Good after boundaries", "status": "Active"}, None)
    for runner in runners:
        runner.catch_up()
    store.catch_up()
    assert "Good after boundaries" in category_titles(container.engine)
    with store.reading() as con:
        assert con.execute("SELECT title FROM categories WHERE id = ?", [good]).fetchone() == ("Good after boundaries",)
    # every parked event is one of the boundary events, parked by a projection that exists
    with container.engine.connect() as conn:
        parked = conn.execute(sa.select(parked_events.c.position, parked_events.c.projection)).all()
    names = {name for runner in runners for name in runner.projection_names()}
    assert all(first <= p <= last and name in names for p, name in parked)
    reported = store.parked_events()
    assert all(first <= entry.position <= last for entry in reported)
    assert parked and reported  # the boundaries do reach both kinds of projection

    # a retry takes each parked event once: applied (the state it meets now allows it) and unparked, or kept
    outcomes = [retry(runner) for runner in runners]
    applied = [entry for done, _ in outcomes for entry in done]
    still = [entry for _, kept in outcomes for entry in kept]
    assert len(applied) + len(still) == len(parked) and len(parking.listed(container.engine)) == len(still)
    applied, still = store.retry()
    assert len(applied) + len(still) == len(reported) and len(store.parked_events()) == len(still)


def test_an_api_process_without_projections_learns_of_the_parking_from_the_table(container: Any) -> None:
    """`consult serve --workers N`: the API process polls the tracking position that a worker advances;
    the parked row tells it at once that its command's event will not become visible."""
    from infrastructure.bootstrap import build

    container.start_background()  # the worker
    api_process = build(container.settings, run_projections=False)
    try:
        began = time.monotonic()
        with pytest.raises(ChangeNotApplied):
            api_process.market.create_category(BAD_CATEGORY, None)
        assert time.monotonic() - began < container.settings.read_your_writes_timeout / 2
        api_process.market.create_category({"title": "Fine", "status": "Active"}, None)
        assert "Fine" in category_titles(api_process.engine)  # visible when the command returned
    finally:
        api_process.close()


def test_errors_caused_by_the_event_park_and_connection_errors_retry(settings: Any) -> None:
    """Classified on real errors of the backend: a value too big for an index (PostgreSQL's "program
    limit exceeded", an OperationalError) is the event's fault and must park, or the runner would retry
    it for ever; a lost connection says nothing about the event."""
    from infrastructure.database import create_read_engine

    engine = create_read_engine(settings)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE parking_probe (x TEXT NOT NULL)")
            conn.exec_driver_sql("CREATE INDEX parking_probe_x ON parking_probe (x)")
        caught = []
        for value in (None, os.urandom(8000).hex()):
            try:
                with engine.begin() as conn:
                    conn.execute(sa.text("INSERT INTO parking_probe VALUES (:x)"), {"x": value})
            except sa.exc.DBAPIError as error:
                caught.append(error)
        assert caught and not any(parking.is_transient(error) for error in caught)
        if settings.uses_postgres:
            assert isinstance(caught[-1].orig, psycopg.errors.ProgramLimitExceeded)
            assert isinstance(caught[-1], sa.exc.OperationalError)
    finally:
        engine.dispose()
    unreachable = sa.create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none" if settings.uses_postgres else "sqlite:////nonexistent/dir/x.db"
    )
    with pytest.raises(sa.exc.DBAPIError) as lost:
        unreachable.connect()
    assert parking.is_transient(lost.value)
