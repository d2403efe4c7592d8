"""The `notifications` section of the privacy export (people.md §4.2): the caller's personal
notifications from the inbox read model, in place of the empty placeholder section."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from infrastructure.json_text import loads
from infrastructure.people_tables import inbox
from infrastructure.privacy_export import SECTIONS, Export, Section

KEYS = ("name", "message", "type", "category")


def own_notifications(context: Export) -> list[dict[str, Any]]:
    rows = context.conn.execute(
        sa.select(inbox.c.document, inbox.c.read_at)
        .where(inbox.c.recipient == context.account_id)
        .order_by(inbox.c.seq.desc())
    )
    out = []
    for document, read_at in rows:
        doc = loads(document)
        out.append(
            {**{key: doc.get(key) for key in KEYS}, "read": read_at is not None, "createdAt": doc.get("createdAt")}
        )
    return out


# in place of the placeholder section, at its position (the export's keys keep their order)
SECTIONS[:] = [Section(s.name, s.roles, own_notifications) if s.name == "notifications" else s for s in SECTIONS]
