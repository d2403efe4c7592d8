"""Projects `Document` events into the `documents` read model (rows plus the stored JSON that
`GET /documents` answers, parties populated at read time) and `document_counters` (the rows per type and
status, so that a list over every party counts none of them)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from domain.documents import EDITABLE, Document, formatted_size
from infrastructure.directory_projection import iso_utc
from infrastructure.document_tables import document_counters, documents
from infrastructure.json_text import dumps, loads
from infrastructure.projector import Batch, CounterAdds, Handles, HandlesDeclared

COUNTER_ADDS = CounterAdds(document_counters)


class DocumentsProjector(HandlesDeclared):
    handles = Handles(Document.Event)

    def reset(self, conn: sa.Connection) -> None:
        conn.execute(documents.delete())
        conn.execute(document_counters.delete())

    def flush(self, batch: Batch) -> None:
        """Rows go straight to the table; the batch's changes of the counters, netted, at its end."""
        COUNTER_ADDS.queue(batch, batch.pending.pop("document_counters", {}))

    @staticmethod
    def _count(batch: Batch, type_: str, status: str, n: int) -> None:
        counts: Counter[tuple[str, str]] = batch.pending.setdefault("document_counters", Counter())
        counts[(type_, status)] += n

    def apply(self, batch: Batch, event: Any, position: int) -> None:
        if not self.handles.covers(event):
            return
        document_id = event.originator_id.hex[:24]
        when = iso_utc(event.timestamp)
        if isinstance(event, Document.Created):
            fields = {"description": "", "status": "Active", **event.fields}
            body = {
                "_id": document_id,
                "title": fields["title"],
                "type": fields["type"],
                "client": event.client_id,
                "consultant": event.consultant_id,
                "appointment": event.appointment_id,
                **event.file,
                "formattedSize": formatted_size(int(event.file.get("fileSize") or 0)),
                "uploadedBy": event.uploaded_by,
                "description": fields["description"],
                "status": fields["status"],
                "createdAt": when,
                "updatedAt": when,
                "__v": 0,
            }
            batch.insert(
                documents.insert(),
                {
                    "id": document_id,
                    "client_id": event.client_id,
                    "consultant_id": event.consultant_id,
                    "appointment_id": event.appointment_id,
                    "uploaded_by": event.uploaded_by,
                    "file_key": event.file["fileKey"],
                    "type": fields["type"],
                    "status": fields["status"],
                    "created_at": event.timestamp,
                    "seq": position,
                    "document": dumps(body),
                },
            )
            self._count(batch, fields["type"], fields["status"], 1)
            return
        conn = batch.conn
        if isinstance(event, Document.Deleted):  # a hard delete, as the original's
            gone = conn.execute(
                documents.delete().where(documents.c.id == document_id).returning(documents.c.type, documents.c.status)
            ).first()
            if gone is not None:
                self._count(batch, gone.type, gone.status, -1)
            return
        raw = conn.execute(sa.select(documents.c.document).where(documents.c.id == document_id)).scalar()
        if raw is None or not isinstance(event, Document.Updated):
            return
        body = loads(raw)
        self._count(batch, body["type"], body["status"], -1)
        body.update({k: v for k, v in event.changes.items() if k in EDITABLE})
        self._count(batch, body["type"], body["status"], 1)
        body["updatedAt"] = when
        conn.execute(
            documents.update()
            .where(documents.c.id == document_id)
            .values(type=body["type"], status=body["status"], document=dumps(body))
        )
