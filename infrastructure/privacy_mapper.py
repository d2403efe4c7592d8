"""Crypto-shredding at the event-store boundary: an eventsourcing `Mapper` that encrypts the personal
fields of events (`infrastructure.personal_fields`) with the key of the person they are about, and
decrypts them on the way back, or yields the field's placeholder when that key has been destroyed.

A sealed value is stored as `{"_pii": <subject>, "v": <base64 nonce + AES-256-GCM ciphertext>}`; the
ciphertext is the value in the application's own JSON transcoding (so dates and decimals survive),
authenticated with the subject and the field's path. Events of topics with no personal fields, and
the empty values of listed fields, are stored exactly as before: the hot paths (holds, slots) pay
nothing. `event_store_env` names this class (`MAPPER_TOPIC`); the composition root attaches the key
store (`attach`). Until then it behaves as eventsourcing's plain `Mapper`."""

from __future__ import annotations

import base64
import os
import re
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from infrastructure.personal_fields import (
    APPOINTMENT_CLIENT,
    APPOINTMENT_CONSULTANT,
    CLAIMANT,
    ORIGINATOR,
    RULES,
    TRANSACTION_CLAIMS,
    PersonalField,
)
from infrastructure.privacy_keys import KeyStore

TOPIC = "infrastructure.privacy_mapper:PersonalDataMapper"
SEALED = "_pii"
APPOINTMENT_CREATED = "domain.appointments:Appointment.Created"
# the subjects of a stored state's sealed values, and whether it has any (readable in the stored bytes
# unless the state is compressed or encrypted as a whole)
SUBJECTS = re.compile(rb'"_pii":\s*"([^"\\]+)"')
MARKER = b'"_pii"'
PARTIES_CACHE = 50_000


@lru_cache(maxsize=4096)
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and SEALED in value and len(value) == 2 and "v" in value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


class Sealer:
    """Encrypts and decrypts the personal fields of an event state (a dict), given the key store."""

    def __init__(self, keys: KeyStore, transcoder: Any, first_event: Any = None):
        self.keys = keys
        self.transcoder = transcoder
        self.first_event = first_event  # (originator id) -> StoredEvent | None: an appointment's Created
        self._parties: OrderedDict[UUID, tuple[str | None, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    # -- subjects --------------------------------------------------------------------------------

    def remember_parties(self, originator_id: UUID, client_id: str | None, consultant_id: str | None) -> None:
        with self._lock:
            self._parties[originator_id] = (client_id, consultant_id)
            while len(self._parties) > PARTIES_CACHE:
                self._parties.popitem(last=False)

    def _appointment_parties(self, originator_id: UUID) -> tuple[str | None, str | None]:
        with self._lock:
            found = self._parties.get(originator_id)
        if found is not None:
            return found
        stored = self.first_event(originator_id) if self.first_event is not None else None
        if stored is None:
            return None, None
        state = self.transcoder.decode(stored.state)
        parties = (state.get("client_id"), state.get("consultant_id"))
        self.remember_parties(originator_id, *parties)
        return parties

    def subject(self, field: PersonalField, state: dict[str, Any], originator_id: UUID) -> str | None:
        if field.subject == ORIGINATOR:
            return originator_id.hex[:24]
        if field.subject == CLAIMANT:
            key, owner = state.get("key"), state.get("owner")
            personal = isinstance(key, str) and not key.startswith(TRANSACTION_CLAIMS)
            return owner if personal and isinstance(owner, str) and owner else None
        if field.subject.startswith("attr:"):
            value = state.get(field.subject[5:])
            return value if isinstance(value, str) and value else None
        if field.subject in (APPOINTMENT_CLIENT, APPOINTMENT_CONSULTANT):
            client, consultant = self._appointment_parties(originator_id)
            return client if field.subject == APPOINTMENT_CLIENT else consultant
        raise ValueError(f"unknown subject rule {field.subject}")

    # -- sealing ---------------------------------------------------------------------------------

    def seal(self, fields: list[PersonalField], state: dict[str, Any], originator_id: UUID) -> dict[str, Any]:
        """A copy of `state` with every listed, non-empty, clear leaf sealed (containers on the way
        are copied, never changed: they may be shared with the aggregate). Idempotent."""
        out = dict(state)
        copied: set[int] = {id(out)}
        for field in fields:
            parent = out
            for name in field.path[:-1]:
                child = parent.get(name)
                if not isinstance(child, dict) or is_sealed(child):
                    parent = None  # type: ignore[assignment]
                    break
                if id(child) not in copied:
                    child = dict(child)
                    copied.add(id(child))
                    parent[name] = child
                parent = child
            if parent is None:
                continue
            leaf = field.path[-1]
            value = parent.get(leaf)
            if leaf not in parent or _empty(value) or is_sealed(value):
                continue
            subject = self.subject(field, state, originator_id)
            if subject is None:
                continue  # nobody's key (a broadcast): kept as delivered
            key = self.keys.key(subject, create=True)
            parent[leaf] = field.placeholder if key is None else self._encrypt(key, subject, field, value)
        return out

    def _encrypt(self, key: bytes, subject: str, field: PersonalField, value: Any) -> dict[str, str]:
        nonce = os.urandom(12)
        sealed = _aead(key).encrypt(nonce, self.transcoder.encode(value), f"{subject}|{field.dotted}".encode())
        return {SEALED: subject, "v": base64.b64encode(nonce + sealed).decode()}

    # -- opening ---------------------------------------------------------------------------------

    def open(self, fields: list[PersonalField], state: dict[str, Any]) -> None:
        """Decrypt every sealed listed leaf of a freshly decoded `state` in place (placeholders for
        destroyed keys)."""
        for field in fields:
            parent: Any = state
            for name in field.path[:-1]:
                parent = parent.get(name) if isinstance(parent, dict) else None
            if not isinstance(parent, dict):
                continue
            value = parent.get(field.path[-1])
            if is_sealed(value):
                parent[field.path[-1]] = self._decrypt(field, value)

    def _decrypt(self, field: PersonalField, sealed: dict[str, str]) -> Any:
        subject = sealed[SEALED]
        key = self.keys.key(subject, create=False)
        if key is None:
            return field.placeholder
        raw = base64.b64decode(sealed["v"])
        return self.transcoder.decode(_aead(key).decrypt(raw[:12], raw[12:], f"{subject}|{field.dotted}".encode()))


class PersonalDataMapper(Mapper[Any]):
    sealer: Sealer | None = None

    def attach(self, keys: KeyStore, first_event: Any = None) -> Sealer:
        self.sealer = Sealer(keys, self.transcoder, first_event)
        return self.sealer

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        topic = get_topic(domain_event.__class__)
        fields = RULES.get(topic) if self.sealer is not None else None
        if not fields:
            return super().to_stored_event(domain_event)
        assert self.sealer is not None
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        if topic == APPOINTMENT_CREATED:
            self.sealer.remember_parties(originator_id, event_state.get("client_id"), event_state.get("consultant_id"))
        event_state = self.sealer.seal(fields, event_state, originator_id)
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        stored_state = self.transcoder.encode(event_state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id, originator_version=originator_version, topic=topic, state=stored_state
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        if self.sealer is not None:
            fields = RULES.get(stored_event.topic)
            if fields and (not self._readable(stored_event.state) or MARKER in stored_event.state):
                self.sealer.open(fields, domain_event.__dict__)
        return domain_event

    def preload_keys(self, stored_events: list[Any]) -> None:
        """Before decoding a batch: read the keys of every subject sealed in it with one query, instead
        of one query per person on the first event about them."""
        if self.sealer is None:
            return
        subjects = {
            subject.decode()
            for stored in stored_events
            if self._readable(stored.state) and RULES.get(stored.topic)
            for subject in SUBJECTS.findall(stored.state)
        }
        if subjects:
            self.sealer.keys.preload(subjects)

    def _readable(self, state: Any) -> bool:
        return isinstance(state, bytes) and self.compressor is None and self.cipher is None
