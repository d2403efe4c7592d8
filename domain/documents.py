"""Documents shared between a client and a consultant (contract platform §4): one aggregate each,
linked to both parties and optionally to an appointment, pointing at a stored file."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import aggregate_id

DOCUMENT_TYPES = (
    "Medical Report",
    "Consultation Notes",
    "Prescription",
    "Invoice",
    "Lab Results",
    "Treatment Plan",
    "Other",
)
STATUSES = ("Active", "Archived", "Deleted")
EDITABLE = ("title", "type", "description", "status")


class Document(Aggregate):
    @staticmethod
    def create_id(document_id: str) -> UUID:  # type: ignore[override]
        return aggregate_id(document_id)

    @event("Created")
    def __init__(
        self,
        document_id: str,
        client_id: str,
        consultant_id: str,
        appointment_id: str | None,
        uploaded_by: str,
        file: dict[str, Any],
        fields: dict[str, Any],
    ) -> None:
        self.document_id = document_id
        self.client_id = client_id
        self.consultant_id = consultant_id
        self.appointment_id = appointment_id
        self.uploaded_by = uploaded_by
        self.file = dict(file)  # key, fileName, originalFileName, fileSize, mimeType, fileUrl
        self.fields = {"description": "", "status": "Active", **fields}  # title, type, description, status
        self.deleted = False

    @event("Updated")
    def update(self, changes: dict[str, Any]) -> None:
        self.fields.update({k: v for k, v in changes.items() if k in EDITABLE})

    @event("Deleted")
    def delete(self) -> None:
        self.deleted = True

    def may_change(self, actor_id: str, role: str) -> bool:
        """Only the uploader or an Admin edits or deletes (the other party may not)."""
        return role == "Admin" or actor_id == self.uploaded_by

    def may_read(self, actor_id: str, role: str) -> bool:
        if role in ("Admin", "Employee"):
            return True
        return actor_id == (self.client_id if role == "Client" else self.consultant_id if role == "Consultant" else "")


def formatted_size(size: int) -> str:
    """The model's virtual `formattedSize`: `0 Bytes`, or Bytes/KB/MB/GB with at most two decimals."""
    if size <= 0:
        return "0 Bytes"
    units = ("Bytes", "KB", "MB", "GB")
    index = 0
    value = float(size)
    while value >= 1024 and index < len(units) - 1:
        value /= 1024
        index += 1
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text} {units[index]}"
