"""Public ids are ObjectId-shaped (24 lowercase hex characters) so data and clients of the
MongoDB backend keep their ids. Aggregates are keyed by a UUID that embeds the public id,
so the mapping is reversible without a lookup table."""

from __future__ import annotations

import os
import re
import time
from uuid import UUID, uuid5

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
_KEY_NAMESPACE = UUID("6f1c7e0a-3b9d-4c1e-9a57-2f0b8d4e5c11")


def new_object_id() -> str:
    """4 bytes of seconds since the epoch, then 8 random bytes (sortable by creation, like ObjectId)."""
    return int(time.time()).to_bytes(4, "big").hex() + os.urandom(8).hex()


def is_object_id(value: object) -> bool:
    return isinstance(value, str) and bool(OBJECT_ID.match(value))


def aggregate_id(public_id: str) -> UUID:
    return UUID(public_id + "0" * 8)


def public_id(aggregate_uuid: UUID) -> str:
    return aggregate_uuid.hex[:24]


def key_id(key: str) -> UUID:
    """Deterministic aggregate id for a natural key (an e-mail, a phone, a singleton)."""
    return uuid5(_KEY_NAMESPACE, key)


def derived_object_id(*parts: object) -> str:
    """A stable ObjectId-shaped id derived from other ids (for example a notification of an event)."""
    return uuid5(_KEY_NAMESPACE, "/".join(map(str, parts))).hex[:24]
