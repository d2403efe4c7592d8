"""`consult import DIR`: a directory of mongoexport files recorded as this service's events
(contract mongo-import). Files are streamed twice at most (the account stores: identities first,
then the accounts), every other collection once, in the order references need."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from domain.accounts import CLIENT, CONSULTANT, USER, Singleton
from domain.ids import key_id
from infrastructure.mongo_import.accounts import AccountImport, CatalogueImport
from infrastructure.mongo_import.bookings import BookingImport
from infrastructure.mongo_import.extjson import ObjectId, read_file
from infrastructure.mongo_import.identities import Identities
from infrastructure.mongo_import.ledger import LedgerImport
from infrastructure.mongo_import.values import Report
from infrastructure.mongo_import.writer import Writer, create

ORDER = (
    "categories",
    "subcategories",
    "users",
    "consultants",
    "clients",
    "consultantsettings",
    "appointments",
    "transactions",
    "clientconsultants",
    "notifications",
)
NOT_IMPORTED = ("otps", "documents", "adminsettings")
COLLECTIONS = ORDER + NOT_IMPORTED
MARKER = "mongo-import"


class Refused(Exception):
    """The import did not run (nothing written); the message is the one-line reason."""


class Importer:
    def __init__(
        self,
        market: Any,
        directory: Path,
        report: Report,
        *,
        dry_run: bool = False,
        allow_nonempty: bool = False,
        currency: str = "INR",
        zone: ZoneInfo | None = None,
        now: datetime | None = None,
        progress: Callable[[int], None] = lambda n: None,
    ):
        self.market = market
        self.directory = directory
        self.report = report
        self.dry_run = dry_run
        self.allow_nonempty = allow_nonempty
        self.now = now or datetime.now(UTC)
        nonempty = bool(market.recorder.max_notification_id())
        self.writer = Writer(market, dry_run=dry_run, check_existing=nonempty, progress=progress)
        self.ids = Identities()
        self.catalogue: dict[str, str] = {}
        self.accounts = AccountImport(self.writer, report, self.ids, self.catalogue)
        self.categories = CatalogueImport(self.writer, report, self.catalogue)
        self.bookings = BookingImport(
            self.writer, report, self.ids, self.accounts, zone or ZoneInfo("Asia/Kolkata"), self.now
        )
        self.ledger = LedgerImport(self.bookings, report, currency)
        self.nonempty = nonempty
        self.unkept_notifications = 0
        self.missing: set[str] = set()

    def check(self) -> None:
        if not self.directory.is_dir():
            raise Refused(f"{self.directory} is not a readable directory")
        if not self.nonempty or self.allow_nonempty:
            return
        if self.market.find(key_id("singleton:" + MARKER)) is not None:
            raise Refused(
                "this store already holds an import; nothing imported (--allow-nonempty re-checks each record)"
            )
        raise Refused("the store is not empty; an import is meant for an empty store (--allow-nonempty to proceed)")

    def documents(self, collection: str) -> Iterator[dict[str, Any]]:
        path = self.directory / f"{collection}.json"
        if not path.is_file():
            if collection not in self.missing:
                self.missing.add(collection)
                self.report.note(f"{collection}: no file; imported as empty")
            return
        for read in read_file(path):
            if read.document is None:
                self.report.read(collection)
                self.report.skip(collection, f"{path.name}:{read.line}", read.error or "unreadable")
                continue
            ident = read.document.get("_id")
            if not isinstance(ident, ObjectId):
                self.report.read(collection)
                self.report.skip(collection, f"{path.name}:{read.line}", f"_id {ident!r} is not an ObjectId")
                continue
            yield read.document

    def run(self) -> Report:
        self.check()
        self._unknown_files()
        for document in self.documents("users"):
            self.ids.see_user(document)
        for document in self.documents("consultants"):
            self.ids.see_consultant(document)
        for document in self.documents("clients"):
            self.ids.see_client(document)
        self.ids.settle()
        for collection in ORDER:
            handler = self._handler(collection)
            for document in self.documents(collection):
                self.report.read(collection)
                try:
                    handler(document)
                except Exception as error:  # a shape no rule foresaw: reported with its id, never a crash
                    reason = getattr(error, "message", None) or str(error)
                    details = getattr(error, "details", None) or getattr(error, "errors", None)
                    if isinstance(details, list) and details:
                        reason += ": " + "; ".join(str(d.get("message", d)) for d in details if isinstance(d, dict))
                    self.report.skip(collection, str(document["_id"]), f"cannot be imported ({reason})")
                self.writer.maybe_flush()
            if collection == "transactions":
                self.ledger.finish()
        if self.unkept_notifications:
            self.report.note(
                f"notifications: {self.unkept_notifications} not imported (no notification history store yet, D11)"
            )
        for collection in NOT_IMPORTED:
            count = sum(1 for _ in self.documents(collection))
            if count:
                self.report.note(f"{collection}: {count} documents not imported (out of scope)")
        if self.bookings.ended_upcoming:
            self.report.note(
                f"appointments: {self.bookings.ended_upcoming} Upcoming whose end has passed (H14): "
                "the scheduler completes them"
            )
        if self.report.total_imported and not self.writer.exists(key_id("singleton:" + MARKER)):
            self.writer.add(create(Singleton, Singleton.Taken, self.now, name=MARKER, by=self.now.isoformat()))
        self.writer.finish()
        return self.report

    def _unknown_files(self) -> None:
        for path in sorted(self.directory.iterdir()):
            if path.suffix == ".json" and path.stem not in COLLECTIONS:
                self.report.note(f"{path.name}: not a collection of the original; ignored")

    def _handler(self, collection: str) -> Callable[[dict[str, Any]], None]:
        return {
            "categories": lambda d: self.categories.record("categories", d),
            "subcategories": lambda d: self.categories.record("subcategories", d),
            "users": self._user,
            "consultants": lambda d: self._account("consultants", CONSULTANT, d),
            "clients": lambda d: self._account("clients", CLIENT, d),
            "consultantsettings": self.bookings.settings,
            "appointments": self.bookings.appointment,
            "transactions": self.ledger.transaction,
            "clientconsultants": self.bookings.link,
            "notifications": self._notification,
        }[collection]

    def _user(self, document: dict[str, Any]) -> None:
        ident = str(document["_id"])
        role = document.get("role")
        if ident in self.ids.consultant_alias:
            self.report.skip("users", ident, f"legacy row of consultant {self.ids.consultant_alias[ident]} (an alias)")
        elif role == "Client":
            if self.ids.is_legacy_client(ident):
                self.report.warn("users", ident, "legacy Client row imported as a client account (D9)")
                self._account("users", CLIENT, document, tally=False)
            else:
                self.report.skip("users", ident, f"legacy Client row; alias of client {self.ids.client_alias[ident]}")
        elif role not in ("Admin", "Employee"):
            self.report.skip("users", ident, f"role {role!r} is not a back-office role")
        else:
            self._account("users", USER, document)

    def _account(self, collection: str, kind: str, document: dict[str, Any], tally: bool = True) -> None:
        ident = str(document["_id"])
        store = {USER: self.ids.users, CONSULTANT: self.ids.consultants, CLIENT: self.ids.clients}[kind]
        if tally and ident in store.reasons:
            self.report.skip(collection, ident, store.reasons[ident])
            return
        self.accounts.record(collection, kind, document)

    def _notification(self, document: dict[str, Any]) -> None:
        """No notification history store on this branch: counted; a missing recipient is named."""
        ident = str(document["_id"])
        recipient = document.get("recipient")
        if recipient is not None and self.ids.any_account(recipient) is None:
            self.report.skip("notifications", ident, f"recipient {recipient} does not exist")
        else:
            self.report.tallies["notifications"].skipped += 1
            self.unkept_notifications += 1
