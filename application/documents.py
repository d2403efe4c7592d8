"""Document commands (contract platform §4.5-4.7): create, update and delete, each one event on the
document's aggregate. The stored file is identified by its key, which must be the caller's own
upload; its size and type come from the store, never from the request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from eventsourcing.domain import Aggregate

from application.marketplace import Marketplace
from application.ports import AccountDirectory, FileStore
from domain.accounts import CLIENT, CONSULTANT
from domain.appointments import Appointment
from domain.documents import Document
from domain.errors import Forbidden, Invalid, NotFound
from domain.files import BadKey, parse_key
from domain.ids import aggregate_id, new_object_id

log = logging.getLogger(__name__)
STAFF_WRITE_REFUSAL = "Forbidden: Access denied"


class Documents:
    def __init__(
        self,
        market: Marketplace,
        directory: AccountDirectory,
        store: FileStore,
        references: Callable[[str], int],
    ):
        self.market = market
        self.directory = directory
        self.store = store
        self.references = references  # how many documents (read model) point at a key

    def create(self, actor_id: str, role: str, body: dict[str, Any]) -> str:
        if role not in ("Client", "Consultant", "Admin"):
            raise Forbidden(STAFF_WRITE_REFUSAL)
        client_id, consultant_id = body.get("client"), body.get("consultant")
        if role == "Client":
            client_id = actor_id
            if not consultant_id:
                raise Invalid("Consultant is required")
        elif role == "Consultant":
            consultant_id = actor_id
            if not client_id:
                raise Invalid("Client is required")
        else:
            missing = [name for name, value in (("client", client_id), ("consultant", consultant_id)) if not value]
            if missing:
                raise Invalid(
                    "Validation failed", [{"field": name, "message": f"Path `{name}` is required."} for name in missing]
                )
        assert client_id and consultant_id
        file = self._own_file(actor_id, body)
        if self.directory.by_id(CONSULTANT, consultant_id) is None:
            raise NotFound("Consultant not found")
        if self.directory.by_id(CLIENT, client_id) is None:
            raise NotFound("Client not found")
        appointment_id = body.get("appointment") or None
        document_id = new_object_id()

        def command() -> tuple[str, list[Aggregate | None]]:
            if appointment_id is not None:
                found = self.market.find(aggregate_id(appointment_id), readonly=True)
                if (
                    not isinstance(found, Appointment)
                    or found.deleted
                    or (found.client_id, found.consultant_id) != (client_id, consultant_id)
                ):
                    raise Invalid("Appointment does not match this client and consultant")
            fields = {"title": body["title"], "type": body["type"], "description": body.get("description") or ""}
            document = Document(
                document_id=document_id,
                client_id=client_id,
                consultant_id=consultant_id,
                appointment_id=appointment_id,
                uploaded_by=actor_id,
                file=file,
                fields=fields,
            )
            return document_id, [document]

        return self.market.run(command)

    def _own_file(self, actor_id: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            key = parse_key(str(body.get("fileKey") or ""))
        except BadKey:
            raise Invalid("Invalid file key") from None
        if key.owner != actor_id:
            raise Forbidden("Access denied")
        if key.kind != "documents":
            raise Invalid("Invalid file key")
        size = self.store.size(key.text)
        if size is None:
            raise Invalid("Invalid file key")
        stored_name = key.text.rsplit("/", 1)[1]
        file_name = body.get("fileName") or body.get("originalFileName") or stored_name
        return {
            "fileKey": key.text,
            "fileUrl": body.get("fileUrl") or "",
            "fileName": file_name,
            "originalFileName": body.get("originalFileName") or file_name,
            "fileSize": size,
            "mimeType": key.content_type,
        }

    def _changeable(self, document_id: str, actor_id: str, role: str, verb: str) -> Document:
        if role not in ("Client", "Consultant", "Admin"):
            raise Forbidden(STAFF_WRITE_REFUSAL)
        found = self.market.find(aggregate_id(document_id))
        if not isinstance(found, Document) or found.deleted:
            raise NotFound("Document not found")
        if not found.may_change(actor_id, role):
            raise Forbidden(f"Unauthorized to {verb} this document")
        return found

    def authorize(self, document_id: str, actor_id: str, role: str, verb: str) -> None:
        """Refuse (404, else 403) a caller who may not change the document, before its body is read."""
        self._changeable(document_id, actor_id, role, verb)

    def update(self, document_id: str, actor_id: str, role: str, changes: dict[str, Any]) -> None:
        def command() -> tuple[None, list[Aggregate | None]]:
            document = self._changeable(document_id, actor_id, role, "update")
            delta = {k: v for k, v in changes.items() if document.fields.get(k) != v}
            if delta:
                document.update(delta)
            return None, [document]

        self.market.run(command)

    def delete(self, document_id: str, actor_id: str, role: str) -> None:
        """Delete the document, then its file unless another document still points at it (a failure
        to remove the file is logged: the document is gone either way)."""

        def command() -> tuple[str, list[Aggregate | None]]:
            document = self._changeable(document_id, actor_id, role, "delete")
            document.delete()
            return str(document.file["fileKey"]), [document]

        key = self.market.run(command)
        try:
            if self.references(key) == 0:
                self.store.delete(key)
        except Exception:  # noqa: BLE001
            log.exception("could not remove the file %s of deleted document %s", key, document_id)
