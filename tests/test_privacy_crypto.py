"""Crypto-shredding at the event-store boundary, on SQLite and PostgreSQL: a store written before it
existed (eventsourcing's plain mapper) is sealed in place by `consult privacy encrypt-existing`
without losing history, idempotently; the sealed store decodes to the same events and rebuilds the
same read models; after an erasure its events decode to the placeholders."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag

from application.marketplace import Marketplace
from domain.accounts import CLIENT, CONSULTANT, Account, UniqueKey, unique_keys
from domain.appointments import Appointment
from domain.ids import aggregate_id, email_key, email_key_id, new_object_id, order_key, unique_key_id
from domain.notifications import notify
from domain.profiles import client_defaults, consultant_defaults, normalise_consultant
from infrastructure.bootstrap import build, migrate
from infrastructure.database import event_store_env
from infrastructure.personal_fields import RULES
from infrastructure.privacy_mapper import SEALED
from infrastructure.privacy_migration import encrypt_existing
from infrastructure.privacy_tables import privacy_keys
from infrastructure.tables import READ_MODEL_TABLES
from interfaces.cli import _privacy

EMAIL = "priya.plain@example.com"
MOBILE = "+919812345678"
REASON = "worried about my visa interview"


def raw_states(market: Any) -> list[bytes]:
    return [bytes(n.state) for n in market.recorder.select_notifications(1, 10**6)]


def read_models(container: Any) -> dict[str, list[Any]]:
    with container.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(sa.select(t)))) for t in READ_MODEL_TABLES}


def events(container: Any) -> list[Any]:
    market = container.market
    return [market.mapper.to_domain_event(n) for n in market.recorder.select_notifications(1, 10**6)]


def plain_history(settings: Any) -> tuple[str, str]:
    """What a store held before crypto-shredding: accounts, unique keys, a booking with snapshots and
    free text, a notification, all written by eventsourcing's plain mapper (no MAPPER_TOPIC)."""
    migrate(settings)
    env = event_store_env(settings)
    env.pop("MAPPER_TOPIC")
    market = Marketplace(env=env)
    try:
        client = {**client_defaults(), "fullName": "Priya Plain", "email": EMAIL, "mobile": MOBILE}
        client_id = market.register(CLIENT, client, None, "signup", unique_keys(CLIENT, client))
        consultant = normalise_consultant(
            {**consultant_defaults(), "name": "Dr Ravi Old", "email": "ravi.old@example.com", "phone": "+919811111111"}
        )
        consultant_id = market.register(CONSULTANT, consultant, None, "admin", unique_keys(CONSULTANT, consultant))
        start = datetime.now(UTC) + timedelta(days=20)
        booking = Appointment(
            appointment_id="6760a90000000000000000f3",
            consultant_id=consultant_id,
            client_id=client_id,
            start=start,
            end=start + timedelta(hours=1),
            status="Upcoming",
            expires_at=None,
            fields={
                "fee": 0,
                "reason": REASON,
                "clientSnapshot": {"name": "Priya Plain", "email": EMAIL, "mobile": MOBILE},
                "consultantSnapshot": {"name": "Dr Ravi Old", "email": "ravi.old@example.com", "mobile": ""},
            },
            created_by="Admin",
        )
        booking.update({"notes": f"she prefers {MOBILE}"})
        market.save(booking, notify(client_id, {"name": "Hello", "message": "Priya Plain, welcome back"}))
    finally:
        market.close()
    return client_id, consultant_id


def test_encrypt_existing_seals_a_store_written_in_the_clear(settings):
    client_id, consultant_id = plain_history(settings)
    container = build(settings, run_projections=True)
    try:
        market = container.market
        assert any(EMAIL.encode() in state for state in raw_states(market))
        # clear events decode as they always did: the service runs on an unmigrated store
        assert container.directory.by_email(CLIENT, EMAIL) is not None
        before_events = [vars(e) for e in events(container)]
        before_models = read_models(container)

        read, rewritten = encrypt_existing(market, container.write_engine, vacuum=True)
        # Registered x2, the unique keys (e-mail, mobile, e-mail, phone), Created, Updated, Sent
        assert (read, rewritten) == (len(before_events), 9)
        states = raw_states(market)
        for secret in (EMAIL, MOBILE, REASON, "Priya Plain", "ravi.old@example.com", "Dr Ravi Old"):
            assert not any(secret.encode() in state for state in states), secret
        assert sum(SEALED.encode() in state for state in states) == 9
        # history is intact: the same events, the same read models after a rebuild
        assert [vars(e) for e in events(container)] == before_events
        container.runner.reset()
        container.runner.catch_up()
        assert read_models(container) == before_models
        # idempotent: the command itself (CLI) finds nothing left to seal
        assert _privacy(argparse.Namespace(vacuum=False), settings) == 0
        assert raw_states(market) == states

        # a sealed value is bound to its person and its field: moved elsewhere it does not open
        registered = next(n for n in market.recorder.select_notifications(1, 10) if n.topic.endswith("Registered"))
        state = market.mapper.transcoder.decode(bytes(registered.state))
        sealer = market.mapper.sealer
        email_field = next(f for f in RULES[registered.topic] if f.path == ("profile", "email"))
        name_field = next(f for f in RULES[registered.topic] if f.path == ("profile", "fullName"))
        with pytest.raises(InvalidTag):
            sealer._decrypt(name_field, state["profile"]["email"])
        assert sealer._decrypt(email_field, state["profile"]["email"]) == EMAIL

        # erasure destroys the key: every event about the client now decodes to the placeholders
        container.privacy.erase(client_id, CLIENT, "Client", None)
        decoded = events(container)
        (profile,) = [e.profile for e in decoded if isinstance(e, Account.Registered) and e.kind == CLIENT]
        assert (profile["fullName"], profile["email"], profile["mobile"]) == ("Deleted user", "", "")
        (created,) = [e for e in decoded if isinstance(e, Appointment.Created)]
        assert created.fields["clientSnapshot"] == {"name": "Deleted user", "email": "", "mobile": ""}
        assert created.fields["reason"] == "" and created.fields["consultantSnapshot"]["name"] == "Dr Ravi Old"
        assert [e.changes for e in decoded if isinstance(e, Appointment.Updated)][0]["notes"] == ""
        assert container.directory.by_email(CLIENT, EMAIL) is None
        # nor does this process keep the decoded person in its aggregate cache
        erased = market.find(aggregate_id(client_id))
        assert erased.deleted and erased.profile["email"] == "" and erased.profile["fullName"] == "Deleted user"
        claimed = market.find(email_key_id("client", EMAIL))
        assert claimed.owner is None and claimed.key == ""
        assert container.directory.by_email(CONSULTANT, "ravi.old@example.com") is not None
    finally:
        container.close()


def test_a_persons_claim_is_sealed_and_a_transactions_claim_is_kept_clear(settings):
    """An e-mail claim is sealed with its owner's key; the claim of a gateway order (owned by a
    transaction, nobody's personal data) is stored clear, and no key is created for the transaction."""
    container = build(settings, run_projections=True)
    try:
        market = container.market
        client = {**client_defaults(), "fullName": "Priya Claims", "email": EMAIL, "mobile": MOBILE}
        client_id = market.register(CLIENT, client, None, "signup", unique_keys(CLIENT, client))
        transaction_id = new_object_id()
        market.commit(UniqueKey(key=order_key("order_CLAIM123"), owner=transaction_id))
        stored = raw_states(market)
        assert not any(EMAIL.encode() in state for state in stored)
        assert any(b"order:order_CLAIM123" in state for state in stored)
        with container.engine.connect() as conn:
            subjects = set(conn.execute(sa.select(privacy_keys.c.subject)).scalars())
        assert client_id in subjects and transaction_id not in subjects
        claim = market.find(unique_key_id(order_key("order_CLAIM123")))
        assert (claim.key, claim.owner) == ("order:order_CLAIM123", transaction_id)
        assert market.find(email_key_id(CLIENT, EMAIL)).key == email_key(CLIENT, EMAIL)
    finally:
        container.close()
