"""Public ids are ObjectId-shaped (24 lowercase hex characters) so data and clients of the
MongoDB backend keep their ids. Aggregates are keyed by a UUID that embeds the public id,
so the mapping is reversible without a lookup table."""

from __future__ import annotations

import os
import re
import time
from functools import lru_cache
from uuid import UUID, uuid5

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
_KEY_NAMESPACE = UUID("6f1c7e0a-3b9d-4c1e-9a57-2f0b8d4e5c11")


def new_object_id() -> str:
    """4 bytes of seconds since the epoch, then 8 random bytes (sortable by creation, like ObjectId)."""
    return int(time.time()).to_bytes(4, "big").hex() + os.urandom(8).hex()


def is_object_id(value: object) -> bool:
    return isinstance(value, str) and bool(OBJECT_ID.match(value))


@lru_cache(maxsize=65_536)
def aggregate_id(public_id: str) -> UUID:
    """Remembered as `key_id` is: a queue of 199 refused holds derived about a thousand (UUIDs are immutable)."""
    return UUID(public_id + "0" * 8)


def public_id(aggregate_uuid: UUID) -> str:
    return aggregate_uuid.hex[:24]


@lru_cache(maxsize=65_536)
def key_id(key: str) -> UUID:
    """Deterministic aggregate id for a natural key (an e-mail, a phone, a singleton). Remembered:
    a booking check derives about ten (settings, link, day aggregates), each a SHA-1 and a UUID."""
    return uuid5(_KEY_NAMESPACE, key)


def derived_object_id(*parts: object) -> str:
    """A stable ObjectId-shaped id derived from other ids (for example a notification of an event)."""
    return uuid5(_KEY_NAMESPACE, "/".join(map(str, parts))).hex[:24]


# -- the deterministic ids, each derived in one place ----------------------------------------------
# The strings below are part of the stored data (aggregate ids in the event store): never change one.


def settings_id(consultant_id: str) -> UUID:
    """A consultant's settings (availability, notifications, ...)."""
    return key_id("settings:" + consultant_id)


def earnings_id(consultant_id: str) -> UUID:
    """A consultant's earnings account (balance checked by payouts)."""
    return key_id("earnings:" + consultant_id)


def day_id(consultant_id: str, day: str) -> UUID:
    """The live bookings of one consultant on one business date (`YYYY-MM-DD`)."""
    return key_id(f"day:{consultant_id}:{day}")


def link_id(client_id: str, consultant_id: str) -> UUID:
    """A client–consultant relationship."""
    return key_id(f"link:{client_id}:{consultant_id}")


def unique_key_id(key: str) -> UUID:
    """The claim on one natural key (see `email_key`, `order_key`, `payout_key`)."""
    return key_id("unique:" + key)


def singleton_id(name: str) -> UUID:
    """A once-only fact (the first admin, the admin erasures gate)."""
    return key_id("singleton:" + name)


def erasure_id(account_id: str) -> UUID:
    return key_id("erasure:" + account_id)


def recording_id(appointment_id: str) -> UUID:
    """The cloud recording of one appointment's call."""
    return key_id("recording:" + appointment_id)


PLATFORM_SETTINGS_KEY = "platform-settings"


def platform_settings_id() -> UUID:
    return key_id(PLATFORM_SETTINGS_KEY)


def platform_settings_public_id() -> str:
    return derived_object_id(PLATFORM_SETTINGS_KEY)


def admin_profile_settings_id(admin_id: str) -> UUID:
    return key_id("admin-settings-profile:" + admin_id)


def admin_settings_document_id(admin_id: str) -> str:
    """The public id of the settings document an admin reads (platform sections and its profile)."""
    return derived_object_id("admin-settings", admin_id)


def refund_id(transaction_id: str) -> str:
    """The refund of a payment: one per payment, so a retried refund is recorded once."""
    return derived_object_id("refund", transaction_id)


def event_notification_id(originator_id: object, originator_version: int) -> str:
    """The id of the notification an event gives rise to (the same on a replay)."""
    return derived_object_id(originator_id, originator_version)


# natural keys claimed through `unique_key_id`


def email_key(kind: str, email: str) -> str:
    return f"{kind}:email:{email}"


def email_key_id(kind: str, email: str) -> UUID:
    return unique_key_id(email_key(kind, email))


def phone_key(kind: str, field: str, phone: str) -> str:
    """`field` is `phone` (consultants: phone and mobile share the key space) or `mobile`."""
    return f"{kind}:{field}:{phone}"


def user_code_key(kind: str, user_code: str) -> str:
    return f"{kind}:userId:{user_code}"


def order_key(order_id: str) -> str:
    """A gateway order, claimed by the transaction that created it."""
    return "order:" + order_id


def payout_key(reference_id: str) -> str:
    """A payout's external reference, claimed once (idempotent payouts)."""
    return "payout:" + reference_id
