"""Client-consultant link commands (people.md §2.4): explicit link, status change, removal.

Bookings create or keep links themselves (`domain.links.after_booking`, saved with the booking)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from application.marketplace import Marketplace
from domain import links
from domain.accounts import CLIENT, CONSULTANT, Account
from domain.appointments import ClientLink
from domain.errors import Forbidden, NotFound
from domain.ids import aggregate_id
from domain.notifications import link_notices

NOT_FOUND = "Relationship not found"


class LinkRow(Protocol):
    client_id: str
    consultant_id: str


class LinkReads(Protocol):
    def link(self, link_id: str) -> LinkRow | None: ...
    def has_booked(self, client_id: str, consultant_id: str) -> bool: ...


@dataclass(frozen=True)
class Actor:
    id: str
    role: str


def _name(account: Account) -> str:
    profile = account.profile
    return str(profile.get("displayName") or profile.get("name") or profile.get("fullName") or "")


class LinkService:
    def __init__(self, market: Marketplace, reads: LinkReads):
        self.market = market
        self.reads = reads

    def _account(self, account_id: str, kind: str, missing: str) -> Account:
        found = self.market.find(aggregate_id(account_id), readonly=True)
        if not isinstance(found, Account) or found.deleted or found.kind != kind:
            raise NotFound(missing)
        return found

    def link(self, actor: Actor, client_id: str, consultant_id: str, notes: str) -> str:
        """Upsert the pair's link as Active (Admin: any pair; a Consultant: itself, with a client that
        has booked it). Rows 12/12b notify both when the link is new or re-activated."""
        if actor.role not in ("Admin", "Consultant"):
            raise Forbidden("Forbidden: Access denied")
        if actor.role == "Consultant" and actor.id != consultant_id:
            raise Forbidden("Consultants can only link themselves")

        def command() -> tuple[str, list[Any]]:
            client = self._account(client_id, CLIENT, "Client not found")
            consultant = self._account(consultant_id, CONSULTANT, "Consultant not found")
            if actor.role == "Consultant" and not self.reads.has_booked(client_id, consultant_id):
                raise Forbidden("Client has not booked this consultant")
            existing = self.market.find(links.link_uuid(client_id, consultant_id), snapshotted=True)
            link, newly = links.explicit_link(existing, client_id, consultant_id, notes, actor.role)
            notices = link_notices(client_id, consultant_id, _name(client), _name(consultant)) if newly else []
            return link.link_id, [link, *notices]

        return self.market.run(command)  # type: ignore[no-any-return]

    def _owned(self, actor: Actor, link_id: str, refusal: str) -> ClientLink:
        row = self.reads.link(link_id)
        if row is None:
            raise NotFound(NOT_FOUND)
        if actor.role == "Consultant" and row.consultant_id != actor.id:
            raise Forbidden(refusal)
        if actor.role == "Client" and row.client_id != actor.id:
            raise Forbidden(refusal)
        if actor.role not in ("Admin", "Consultant", "Client"):
            raise Forbidden("Forbidden: Access denied")
        found = self.market.find(links.link_uuid(row.client_id, row.consultant_id), snapshotted=True)
        if not links.exists(found):
            raise NotFound(NOT_FOUND)
        assert isinstance(found, ClientLink)
        return found

    def remove(self, actor: Actor, link_id: str) -> None:
        def command() -> tuple[None, list[Any]]:
            link = self._owned(actor, link_id, "Not authorized to remove this relationship")
            link.remove(actor.role)
            return None, [link]

        self.market.run(command)

    def set_status(self, actor: Actor, link_id: str, status: Any) -> None:
        if actor.role == "Client":
            raise Forbidden("Forbidden: Access denied")

        def command() -> tuple[None, list[Any]]:
            link = self._owned(actor, link_id, "Not authorized to update this relationship")
            links.change_status(link, status, actor.role)
            return None, [link]

        self.market.run(command)
