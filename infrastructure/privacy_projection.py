"""Read models after an erasure (`Erasure.Recorded`): what they copied of the erased person is
removed (settings, links) or anonymised exactly as a rebuild would decode it once the key is gone
(non-empty personal leaves become their placeholders), and the key is destroyed in the projection's
own transaction (again, idempotently: the command destroyed it already), so a crash between the
erasure's write and the key's destruction cannot leave the key alive.

Features with read models of their own that hold personal data register one function in `ERASERS`
(for example: delete the person's own inbox and documents)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from domain.privacy import Erasure
from infrastructure.json_text import dumps, loads
from infrastructure.personal_fields import DELETED_NAME, FREE_TEXT_LEAVES, SNAPSHOT_LEAVES
from infrastructure.privacy_keys import KeyStore
from infrastructure.projector import Batch, Handles, HandlesDeclared
from infrastructure.tables import appointments, client_links, consultant_settings, transactions

# (connection, account id, kind): remove or anonymise what a feature's read model holds of the person
Eraser = Callable[[sa.Connection, str, str], None]
ERASERS: list[Eraser] = []


def _scrub(document: dict[str, Any], path: tuple[str, ...], leaves: dict[str, Any]) -> bool:
    """Replace the non-empty `leaves` under `path` by their placeholders; True when something changed."""
    parent: Any = document
    for name in path:
        parent = parent.get(name) if isinstance(parent, dict) else None
    if not isinstance(parent, dict):
        return False
    changed = False
    for leaf, placeholder in leaves.items():
        value = parent.get(leaf)
        if leaf in parent and value not in (None, "", [], {}) and value != placeholder:
            parent[leaf] = placeholder
            changed = True
    return changed


def _search(document: dict[str, Any]) -> str:
    return f"{document.get('reason') or ''}\n{document.get('notes') or ''}".lower()


def erase_appointments(conn: sa.Connection, account_id: str, kind: str) -> None:
    for column, snapshot, text in (
        (appointments.c.client_id, "clientSnapshot", True),
        (appointments.c.consultant_id, "consultantSnapshot", False),
    ):
        for row in conn.execute(sa.select(appointments.c.id, appointments.c.document).where(column == account_id)):
            document = loads(row.document)
            changed = _scrub(document, (snapshot,), SNAPSHOT_LEAVES)
            if text:
                changed = _scrub(document, (), FREE_TEXT_LEAVES) or changed
            if changed:
                conn.execute(
                    appointments.update()
                    .where(appointments.c.id == row.id)
                    .values(document=dumps(document), search_text=_search(document))
                )


def erase_transactions(conn: sa.Connection, account_id: str, kind: str) -> None:
    for column, snapshot, notes in (
        (transactions.c.user_id, "userSnapshot", False),
        (transactions.c.consultant_id, "consultantSnapshot", True),
    ):
        for row in conn.execute(sa.select(transactions.c.id, transactions.c.document).where(column == account_id)):
            document = loads(row.document)
            changed = _scrub(document, (snapshot,), SNAPSHOT_LEAVES)
            if notes:
                changed = _scrub(document, ("metadata",), {"notes": ""}) or changed
            if changed:
                conn.execute(transactions.update().where(transactions.c.id == row.id).values(document=dumps(document)))


def erase_settings_and_links(conn: sa.Connection, account_id: str, kind: str) -> None:
    conn.execute(consultant_settings.delete().where(consultant_settings.c.consultant_id == account_id))
    conn.execute(
        client_links.delete().where(
            sa.or_(client_links.c.client_id == account_id, client_links.c.consultant_id == account_id)
        )
    )


ERASERS += [erase_appointments, erase_transactions, erase_settings_and_links]


class PrivacyProjector(HandlesDeclared):
    handles = Handles(Erasure.Recorded)

    def __init__(self, keys: KeyStore):
        self.keys = keys

    def reset(self, conn: sa.Connection) -> None:
        """Nothing of its own to reset: the key table is not a read model (never rebuilt)."""

    def flush(self, batch: Batch) -> None:
        """Writes go straight to the tables."""

    def apply(self, batch: Batch, event: Any, position: int) -> None:
        if not isinstance(event, Erasure.Recorded):
            return
        conn = batch.conn  # flushes the batch's pending inserts first
        batch.documents.clear()  # the erasers rewrite documents other projectors may hold
        batch.rewritten = True  # ... and the runner may keep (`infrastructure/document_memory.py`)
        self.keys.destroy(event.account_id, conn)
        for eraser in ERASERS:
            eraser(conn, event.account_id, event.kind)


assert DELETED_NAME == SNAPSHOT_LEAVES["name"]
