"""Privacy commands: consent preferences and the right to erasure ("erase the person, keep the ledger",
CONTRACT.md and contract people §4.6).

Erasure, in order:
1. the password is checked (400 `Invalid password`, never a 401 that would log the caller out);
   the last Active admin cannot erase itself (409);
2. the person's live holds are released and its Upcoming appointments cancelled as if the person had
   cancelled each one (the booking command itself: refund rule, slots freed, the other party notified);
3. one atomic write: the account is deleted, its unique keys (e-mail, phone) are released so they are
   free again, and `Erasure.Recorded` is stored (read models drop or anonymise their copies); the
   person's documents and an admin's own settings `profile` are deleted by events in the same write
   (`application.privacy_files`);
4. the person's encryption key is destroyed, so the personal fields of every stored event about the
   person decode to placeholders ("Deleted user") from now on, rebuilds included;
5. the deleted documents' files and the person's own uploads are removed from the file store.
Payments, refunds, payouts and their amounts are never touched: analytics totals stay as they were."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from eventsourcing.domain import Aggregate

from application.bookings import Bookings, Caller
from application.marketplace import Marketplace
from application.ports import PasswordHasher
from application.privacy_files import PersonalFiles
from domain.accounts import USER, Account, unique_keys
from domain.appointments import CANCELLED, HOLD, UPCOMING
from domain.errors import Conflict, Invalid, NotFound
from domain.ids import aggregate_id, unique_key_id
from domain.privacy import CONSENT_DEFAULTS, CONSENT_FIELDS, AdminErasures, Erasure

PASSWORD_REQUIRED = "Password is required to delete your account"
INVALID_PASSWORD = "Invalid password"
LAST_ADMIN = "Cannot delete the last admin account"


class KeyShredder(Protocol):
    def destroy(self, subject: str) -> None: ...


# (kind, account id) -> [(appointment id, status)] of the person's live holds and Upcoming appointments
BookingsOf = Callable[[str, str], list[tuple[str, str]]]
# account id -> the ids of the OTHER admins the read model lists as Active (checked again on the write side)
OtherAdmins = Callable[[str], list[str]]


class Privacy:
    def __init__(
        self,
        market: Marketplace,
        bookings: Bookings,
        hasher: PasswordHasher,
        bookings_of: BookingsOf,
        other_admins: OtherAdmins,
        shredder: KeyShredder,
        files: PersonalFiles | None = None,
    ):
        self.market = market
        self.bookings = bookings
        self.hasher = hasher
        self.bookings_of = bookings_of
        self.other_admins = other_admins
        self.shredder = shredder
        self.files = files  # documents, stored files and admin profile settings of the person

    # -- consent ----------------------------------------------------------------------------------

    def set_consent(self, account_id: str, kind: str, changes: dict[str, bool]) -> dict[str, bool]:
        """Record the changed consent flags as an event on the account; answer both current values."""
        wanted = {k: bool(v) for k, v in changes.items() if k in CONSENT_FIELDS}
        if not wanted:
            raise Invalid("No valid consent fields to update")

        def change(account: Account) -> None:
            delta = {k: v for k, v in wanted.items() if account.profile.get(k, CONSENT_DEFAULTS[k]) != v}
            if delta:
                account.update_profile(delta)

        account = self.market.change_account(account_id, kind, change)
        return {k: bool(account.profile.get(k, CONSENT_DEFAULTS[k])) for k in CONSENT_FIELDS}

    # -- erasure ----------------------------------------------------------------------------------

    def erase(self, account_id: str, kind: str, role: str, password: str | None) -> list[str]:
        """Erase the person; returns the ids of the appointments it cancelled."""
        account = self.market.account(account_id, kind)
        if account.password_hash:
            if not password:
                raise Invalid(PASSWORD_REQUIRED)
            if not self.hasher.verify(password, account.password_hash):
                raise Invalid(INVALID_PASSWORD)
        if role == "Admin" and not self.other_admins(account_id):
            raise Conflict(LAST_ADMIN)
        cancelled: list[str] = []
        for appointment_id, status in self.bookings_of(kind, account_id):
            if status == HOLD:
                self._release_hold(appointment_id)
            elif status == UPCOMING:
                try:
                    self.bookings.change(Caller(account_id, role), appointment_id, None, None, CANCELLED, {})
                except NotFound:  # the other party is gone already (erased meanwhile): nothing to cancel for
                    continue
                cancelled.append(appointment_id)

        released: list[str] = []
        file_keys: list[str] = []

        def command() -> tuple[None, list[Aggregate | None]]:
            found = self.market.account(account_id, kind)
            keys = list(unique_keys(found.kind, found.profile).values())
            released[:] = keys
            found.delete()
            record = Erasure(account_id=account_id, kind=kind, role=role, cancelled=cancelled)
            owned: list[Aggregate] = []
            if self.files is not None:
                owned, file_keys[:] = self.files.erasure_changes(account_id, kind)
            return None, [found, *self.market.release(keys, account_id), record, *owned, *self._admin_gate(found)]

        self.market.run(command)
        self.shredder.destroy(account_id)
        if self.files is not None:
            self.files.remove_files(account_id, file_keys)
        for uuid in [aggregate_id(account_id), *(unique_key_id(key) for key in released)]:
            self.market.forget(uuid)  # cached states decoded with the key: replayed (anonymised) when next loaded
        return cancelled

    def _admin_gate(self, account: Account) -> list[Aggregate]:
        """An admin's erasure: another Active admin must remain, as the event store says now; the
        shared `AdminErasures` aggregate makes concurrent admin erasures take turns (version conflict)."""
        if account.kind != USER or account.role != "Admin":
            return []
        gate = self.market.find(AdminErasures.create_id())
        if not isinstance(gate, AdminErasures):
            gate = AdminErasures()
        others = self.market.find_many([aggregate_id(i) for i in self.other_admins(account.account_id)])
        if not any(
            isinstance(a, Account) and not a.deleted and a.role == "Admin" and a.status == "Active"
            for a in others.values()
        ):
            raise Conflict(LAST_ADMIN)
        gate.record(account.account_id)
        return [gate]

    def _release_hold(self, hold_id: str) -> None:
        """A live hold of the erased person is released at once (as its expiry would: a paid one is
        refunded in full)."""
        self.bookings.expire_hold(hold_id, even_if_live=True)
