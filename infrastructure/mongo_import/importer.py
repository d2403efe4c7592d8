"""`consult import DIR`: a directory of mongoexport files recorded as this service's events
(contract mongo-import). Files are streamed twice at most (the account stores: identities first,
then the accounts), every other collection once, in the order references need."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from domain.accounts import CLIENT, CONSULTANT, USER, Singleton
from domain.aliases import IdAliases, aliases_id
from domain.ids import key_id
from infrastructure.mongo_import.accounts import AccountImport, CatalogueImport
from infrastructure.mongo_import.bookings import BookingImport
from infrastructure.mongo_import.extjson import ObjectId, read_file
from infrastructure.mongo_import.history import NotificationImport
from infrastructure.mongo_import.identities import Identities
from infrastructure.mongo_import.ledger import LedgerImport
from infrastructure.mongo_import.values import Report
from infrastructure.mongo_import.writer import Writer, create, trigger

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
MARKER = "mongo-import"  # recorded with the last batch: the import is complete
STARTED = "mongo-import-started"  # recorded with the first batch: which dump, since when


def fingerprint(directory: Path) -> str:
    """A digest of the dump's collection files (names and contents): the same dump on a re-run."""
    digest = hashlib.sha256()
    for name in sorted(COLLECTIONS):
        path = directory / f"{name}.json"
        if path.is_file():
            digest.update(name.encode() + b"\0")
            with path.open("rb") as file:
                while chunk := file.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()[:16]


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
        batch_events: int = 5000,
    ):
        self.market = market
        self.directory = directory
        self.report = report
        self.dry_run = dry_run
        self.allow_nonempty = allow_nonempty
        self.now = now or datetime.now(UTC)
        nonempty = bool(market.recorder.max_notification_id())
        self.writer = Writer(
            market, dry_run=dry_run, check_existing=nonempty, progress=progress, batch_events=batch_events
        )
        self.ids = Identities()
        self.catalogue: dict[str, str] = {}
        self.accounts = AccountImport(self.writer, report, self.ids, self.catalogue)
        self.categories = CatalogueImport(self.writer, report, self.catalogue)
        self.bookings = BookingImport(
            self.writer, report, self.ids, self.accounts, zone or ZoneInfo("Asia/Kolkata"), self.now
        )
        self.ledger = LedgerImport(self.bookings, report, currency)
        self.notifications = NotificationImport(self.writer, report, self.ids)
        self.nonempty = nonempty
        self.resumed: str | None = None  # when the half-finished import this run completes started
        self.missing: set[str] = set()

    def check(self, dump: str) -> None:
        """Refuse (nothing written) an unreadable directory, a store that holds a complete import or
        other data, and a half-finished import of another dump; a half-finished import of this same
        dump is resumed (every record is looked up first, so what it saved is not written again)."""
        if not self.directory.is_dir():
            raise Refused(f"{self.directory} is not a readable directory")
        if not self.nonempty:
            return
        done = self.market.find(key_id("singleton:" + MARKER)) is not None
        started = self.market.find(key_id("singleton:" + STARTED))
        if started is not None and not done:
            previous, _, when = started.by.partition(" ")
            if previous == dump:
                self.resumed = when
                self.report.note(f"resumed the import of this dump started at {when}, which stopped before it finished")
                return
            if not self.allow_nonempty:
                raise Refused(
                    f"this store holds an import started at {when} that stopped before it finished, from another "
                    "dump; run `consult import` again with that dump to finish it, or import into an empty store"
                )
        if self.allow_nonempty:
            return
        if done:
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
        dump = fingerprint(self.directory) if self.directory.is_dir() else ""
        self.check(dump)
        self._unknown_files()
        started = key_id("singleton:" + STARTED)
        if not self.writer.exists(started):  # saved with the first batch: a crash after it is detected
            marker = create(Singleton, Singleton.Taken, self.now, name=STARTED, by=f"{dump} {self.now.isoformat()}")
            self.writer.add(marker)
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
        for collection in NOT_IMPORTED:
            count = sum(1 for _ in self.documents(collection))
            if count:
                self.report.note(f"{collection}: {count} documents not imported (out of scope)")
        if self.bookings.ended_upcoming:
            self.report.note(
                f"appointments: {self.bookings.ended_upcoming} Upcoming whose end has passed (H14): "
                "the scheduler completes them"
            )
        if not self.report.total_imported and self.resumed is None:
            self.writer.pending.pop(started, None)  # nothing imported: no batch was saved, nothing to resume
        elif not self.writer.exists(key_id("singleton:" + MARKER)):
            self._record_aliases()
            self.writer.add(create(Singleton, Singleton.Taken, self.now, name=MARKER, by=self.now.isoformat()))
        self.writer.finish()
        return self.report

    def _record_aliases(self) -> None:
        """The old ids that name an imported account (`domain.aliases`), for the routes."""
        aliases = {}
        for old, consultant in self.ids.consultant_alias.items():
            target = self.ids.consultants.resolve(consultant)
            if target is not None and old != target:
                aliases[old] = target
        aliases.update((old, client) for old, client in self.ids.client_alias.items() if old != client)
        if not aliases:
            return
        found = self.writer.load(aliases_id())  # a store's own aggregate is held: saved with the next batch
        opened = found is None
        if found is None:
            found = create(IdAliases, IdAliases.Opened, self.now)
        new = {old: target for old, target in sorted(aliases.items()) if found.aliases.get(old) != target}
        if new:
            trigger(found, IdAliases.Recorded, self.now, aliases=new)
        if opened:
            self.writer.add(found)

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
            "notifications": self.notifications.notification,
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
