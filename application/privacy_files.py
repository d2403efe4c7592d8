"""What an erasure removes beside the account (contract people §4.6 step 3): the person's documents,
the stored files they point at and the person's own uploads, and an admin's own settings `profile`.

Documents and admin profiles are event-sourced, so the erasure records their deletion as events in its
own atomic write (`Document.Deleted`, `AdminProfileSettings.Erased`): their read models drop them, and
`consult rebuild` drops them again. Their personal fields are also sealed with the person's key
(`infrastructure.personal_fields`), so the stored events themselves decode to placeholders once the
key is destroyed. Files are not events: they are deleted from the store after the write (a file still
used by another person's document is kept)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from eventsourcing.domain import Aggregate

from application.marketplace import Marketplace
from application.ports import FileStore
from domain.accounts import USER
from domain.documents import Document
from domain.ids import aggregate_id
from domain.platform_settings import AdminProfileSettings

log = logging.getLogger(__name__)

# account id -> the ids of the documents naming the person as client or consultant (read model)
DocumentsOf = Callable[[str], list[str]]


class PersonalFiles:
    def __init__(
        self,
        market: Marketplace,
        documents_of: DocumentsOf,
        store: FileStore,
        references: Callable[[str], int],
    ):
        self.market = market
        self.documents_of = documents_of
        self.store = store
        self.references = references  # how many documents (read model) point at a key

    def erasure_changes(self, account_id: str, kind: str) -> tuple[list[Aggregate], list[str]]:
        """Inside the erasure's command: the aggregates it deletes, and the file keys they pointed at."""
        changed: list[Aggregate] = []
        keys: list[str] = []
        ids = self.documents_of(account_id)
        found = self.market.find_many([aggregate_id(i) for i in ids]) if ids else {}
        for document in found.values():
            if isinstance(document, Document) and not document.deleted:
                document.delete()
                changed.append(document)
                keys.append(str(document.file["fileKey"]))
        if kind == USER:
            profile = self.market.find(AdminProfileSettings.create_id(account_id))
            if isinstance(profile, AdminProfileSettings):
                profile.erase(admin_id=account_id)
                changed.append(profile)
        return changed, keys

    def remove_files(self, account_id: str, keys: list[str]) -> None:
        """After the write: the deleted documents' files and the person's own uploads (`users/<id>/`),
        each unless a remaining document still points at it."""
        try:
            candidates = dict.fromkeys([*keys, *self.store.keys(f"users/{account_id}/")])
        except Exception:  # noqa: BLE001
            log.exception("could not list the stored files of erased account %s", account_id)
            candidates = dict.fromkeys(keys)
        for key in candidates:
            try:
                if self.references(key) == 0:
                    self.store.delete(key)
            except Exception:  # noqa: BLE001
                log.exception("could not remove the file %s of erased account %s", key, account_id)
