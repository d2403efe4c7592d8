"""The right to erasure as a fact of history: `Erasure.Recorded` says that a person was erased (its
account deleted in the same atomic write, its key destroyed right after). Read models react to it
by removing or anonymising what they copied of that person; a rebuild replays it the same way.

Consent is recorded on the account itself (`Account.update_profile` with the consent fields)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import erasure_id, singleton_id

CONSENT_FIELDS = ("marketingConsent", "dataProcessingConsent")
CONSENT_DEFAULTS = {"marketingConsent": False, "dataProcessingConsent": True}


class Erasure(Aggregate):
    @staticmethod
    def create_id(account_id: str) -> UUID:  # type: ignore[override]
        return erasure_id(account_id)

    @event("Recorded")
    def __init__(self, account_id: str, kind: str, role: str, cancelled: list[str]) -> None:
        self.account_id = account_id
        self.kind = kind
        self.role = role
        self.cancelled = list(cancelled)  # the upcoming appointments cancelled by the erasure


class AdminErasures(Aggregate):
    """Every erasure of an admin writes here (deterministic id), so two admins erasing themselves at
    once conflict on its version: the loser re-checks, from the event store, that another Active admin
    remains (the last one may not go: `POST /auth/create-admin` would open again)."""

    @staticmethod
    def create_id() -> UUID:  # type: ignore[override]
        return singleton_id("admin-erasures")

    @event("Opened")
    def __init__(self) -> None:
        self.erased: list[str] = []

    @event("AdminErased")
    def record(self, account_id: str) -> None:
        self.erased = [*self.erased, account_id]
