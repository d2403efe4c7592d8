"""Old ids that name an account of this service (contract mongo-import §3, availability.md §0).

A consultant of the original that once lived in `users` has two ids: its Consultant `_id` and the
`users` id of its old row; references written by some paths hold the latter. The import resolves
every reference to the account, and records here which old id names which account, so that the
routes keep accepting the old id (`interfaces.http.aliases`). One aggregate: aliases are few (one per
linked consultant or legacy client row) and are only ever added, by an import."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import key_id

ALIASES = "aliases"


def aliases_id() -> UUID:
    return key_id(ALIASES)


class IdAliases(Aggregate):
    @staticmethod
    def create_id() -> UUID:  # type: ignore[override]
        return aliases_id()

    @event("Opened")
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}

    @event("Recorded")
    def record(self, aliases: dict[str, str]) -> None:
        """`aliases`: old id -> the id of the account it names."""
        self.aliases.update(aliases)
