"""Client-consultant links (people.md §2): the one definition of "a consultant's clients".

The `ClientLink` aggregate lives in `domain.appointments` (its events are stored under that name);
these are its rules. An Active link lets the consultant book the client directly and message it."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.appointments import ClientLink
from domain.errors import Invalid
from domain.ids import key_id

ACTIVE, INACTIVE = "Active", "Inactive"
REMOVED = "Removed"  # the read model keeps a removed link's row (never listed) for a later booking
AUTO_NOTES = "Auto-linked via appointment booking"


def link_key(client_id: str, consultant_id: str) -> str:
    return f"link:{client_id}:{consultant_id}"


def link_uuid(client_id: str, consultant_id: str) -> UUID:
    return key_id(link_key(client_id, consultant_id))


def is_active(link: object) -> bool:
    return isinstance(link, ClientLink) and not link.removed and link.status == ACTIVE


def exists(link: object) -> bool:
    return isinstance(link, ClientLink) and not link.removed


def after_booking(link: object, client_id: str, consultant_id: str) -> list[Aggregate]:
    """A successful booking creates the pair's link when it has none (a removed one comes back);
    an existing link is left as it is (an Inactive one is not re-activated). No notification."""
    if not isinstance(link, ClientLink):
        return [ClientLink(client_id=client_id, consultant_id=consultant_id)]
    if link.removed:
        link.relink(AUTO_NOTES, "booking")
        return [link]
    return []


def explicit_link(link: object, client_id: str, consultant_id: str, notes: str, by: str) -> tuple[ClientLink, bool]:
    """`POST /client-consultants/link`: the pair's link becomes Active with these notes (upsert).
    Returns the link and whether it is new or re-activated (rows 12/12b notify only then)."""
    if not isinstance(link, ClientLink):
        created = ClientLink(client_id=client_id, consultant_id=consultant_id)
        created.relink(notes, by)
        return created, True
    newly = link.removed or link.status != ACTIVE
    link.relink(notes, by)
    return link, newly


def change_status(link: ClientLink, status: str, by: str) -> None:
    if status not in (ACTIVE, INACTIVE):
        raise Invalid("Valid status required")
    if link.status != status:
        link.change_status(status, by)
