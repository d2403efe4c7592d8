"""Which fields of which stored events are personal data, and whose key encrypts them.

The event-store mapper (`infrastructure.privacy_mapper`) encrypts every value listed here with the
key of the person it is about, and decodes it back, or to the placeholder once that key has been
destroyed by an erasure. A feature that adds an event carrying personal data adds ONE entry to
`PERSONAL_FIELDS` (its event class, the paths, whose data it is); nothing else changes.

Rules:
- a path names a leaf inside the event's state (`("profile", "email")`); a leaf that is absent,
  None, "" or empty is left as it is (it reveals nothing);
- entries are append-only: a path that has been encrypted once must stay listed, or events stored
  with it could not be decoded;
- the subject is the account id of the person whose key encrypts the value: the aggregate itself
  (`ORIGINATOR`, for accounts), an attribute of the event (`attr("client_id")`), or a party of the
  appointment the event belongs to (`APPOINTMENT_CLIENT`) for appointment events that do not carry it.
- Broadcast notifications (no recipient) are kept as delivered (contract people §4.6): clear."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic

from domain.accounts import Account, UniqueKey
from domain.appointments import Appointment
from domain.documents import Document
from domain.ids import order_key, payout_key
from domain.ledger import Transaction
from domain.notifications import Notification
from domain.platform_settings import AdminProfileSettings

DELETED_NAME = "Deleted user"

ORIGINATOR = "originator"
APPOINTMENT_CLIENT = "appointment:client_id"
APPOINTMENT_CONSULTANT = "appointment:consultant_id"
# a claim's owner when the claimed key is a person's (an e-mail, a phone, a user id); the claim of a
# gateway order or a payout reference is owned by a transaction, nobody's key: kept clear (no key is
# created for each transaction, and there is no person whose erasure would destroy one)
CLAIMANT = "claimant"
TRANSACTION_CLAIMS = (order_key(""), payout_key(""))
# the `client_id` of the aggregate's first event (the mapper reads it for any aggregate: documents too)
DOCUMENT_CLIENT = APPOINTMENT_CLIENT


def deleted_party(party_id: str) -> dict[str, str]:
    """A party whose account is gone (erased or deleted), as read routes show it (contract people §4.6)."""
    return {"_id": party_id, "fullName": DELETED_NAME, "email": "", "mobile": ""}


def attr(name: str) -> str:
    return "attr:" + name


@dataclass(frozen=True)
class PersonalField:
    path: tuple[str, ...]
    subject: str  # ORIGINATOR, attr(...), CLAIMANT, APPOINTMENT_CLIENT or APPOINTMENT_CONSULTANT
    placeholder: Any = ""

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


NAME_LEAVES = ("name", "firstName", "lastName", "displayName", "fullName")
# Profile leaves of the three account stores that identify or describe the person.
PROFILE_LEAVES: dict[str, Any] = {
    **dict.fromkeys(NAME_LEAVES, DELETED_NAME),
    "email": "",
    "phone": "",
    "mobile": "",
    "alternatePhone": "",
    "address": "",
    "city": "",
    "state": "",
    "country": "",
    "pincode": "",
    "dob": None,
    "gender": "",
    "emergencyContact": "",
    "avatar": "",
    "image": "",
    "profileImage": "",
    "about": "",
    "bioTitle": "",
    "regNo": "",
    "socials": {},
    "education": [],
    "experiences": [],
    "awards": [],
}
SNAPSHOT_LEAVES: dict[str, Any] = {"name": DELETED_NAME, "email": "", "mobile": ""}
FREE_TEXT_LEAVES: dict[str, Any] = {"reason": "", "notes": ""}
# A shared document (a medical report, consultation notes) is the client's data: what describes it is
# sealed with the client's key (its file key and type stay clear: the read model indexes them).
DOCUMENT_TEXT_LEAVES: dict[str, Any] = {"title": "", "description": ""}
DOCUMENT_FILE_LEAVES: dict[str, Any] = {"fileName": "", "originalFileName": "", "fileUrl": ""}
ADMIN_PROFILE_LEAVES: dict[str, Any] = {"name": "", "email": ""}


def _leaves(prefix: tuple[str, ...], leaves: dict[str, Any], subject: str) -> list[PersonalField]:
    return [PersonalField((*prefix, leaf), subject, placeholder) for leaf, placeholder in leaves.items()]


def _appointment_changes(prefix: str, client: str, consultant: str) -> list[PersonalField]:
    return [
        *_leaves((prefix, "clientSnapshot"), SNAPSHOT_LEAVES, client),
        *_leaves((prefix, "consultantSnapshot"), SNAPSHOT_LEAVES, consultant),
        *_leaves((prefix,), FREE_TEXT_LEAVES, client),
    ]


PERSONAL_FIELDS: dict[type, list[PersonalField]] = {
    Account.Registered: [
        *_leaves(("profile",), PROFILE_LEAVES, ORIGINATOR),
        PersonalField(("password_hash",), ORIGINATOR, None),
    ],
    Account.ProfileUpdated: _leaves(("changes",), PROFILE_LEAVES, ORIGINATOR),
    Account.PasswordSet: [PersonalField(("password_hash",), ORIGINATOR, None)],
    UniqueKey.Claimed: [PersonalField(("key",), CLAIMANT, "")],
    Appointment.Created: _appointment_changes("fields", attr("client_id"), attr("consultant_id")),
    Appointment.Confirmed: _appointment_changes("changes", APPOINTMENT_CLIENT, APPOINTMENT_CONSULTANT),
    Appointment.Updated: _appointment_changes("changes", APPOINTMENT_CLIENT, APPOINTMENT_CONSULTANT),
    Transaction.Recorded: [
        *_leaves(("snapshots", "userSnapshot"), SNAPSHOT_LEAVES, attr("user_id")),
        *_leaves(("snapshots", "consultantSnapshot"), SNAPSHOT_LEAVES, attr("consultant_id")),
        PersonalField(("metadata", "notes"), attr("consultant_id"), ""),  # payout notes about the consultant
    ],
    Notification.Sent: [
        PersonalField(("content", "name"), attr("recipient"), ""),
        PersonalField(("content", "message"), attr("recipient"), ""),
    ],
    Document.Created: [
        *_leaves(("fields",), DOCUMENT_TEXT_LEAVES, attr("client_id")),
        *_leaves(("file",), DOCUMENT_FILE_LEAVES, attr("client_id")),
    ],
    Document.Updated: _leaves(("changes",), DOCUMENT_TEXT_LEAVES, DOCUMENT_CLIENT),
    AdminProfileSettings.ProfileUpdated: [
        *_leaves(("patch",), ADMIN_PROFILE_LEAVES, attr("admin_id")),
        *_leaves(("values",), ADMIN_PROFILE_LEAVES, attr("admin_id")),
    ],
    # A snapshot holds its aggregate's state (`Marketplace.snapshotting_intervals`): an account's profile
    # and password hash, sealed with the account's key like its events. The snapshots of other aggregates
    # have no such leaves and are stored as they are.
    Snapshot: [
        *_leaves(("state", "profile"), PROFILE_LEAVES, ORIGINATOR),
        PersonalField(("state", "password_hash"), ORIGINATOR, None),
    ],
}

# By stored topic (what the mapper sees).
RULES: dict[str, list[PersonalField]] = {get_topic(cls): fields for cls, fields in PERSONAL_FIELDS.items()}


def register(event_class: type, fields: list[PersonalField]) -> None:
    """For features in other modules: declare the personal fields of one more event class."""
    PERSONAL_FIELDS.setdefault(event_class, []).extend(fields)
    RULES[get_topic(event_class)] = PERSONAL_FIELDS[event_class]
