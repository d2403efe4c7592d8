"""The people projection (its own tracking row, `people`): the notifications inbox and the
client-consultant links, from the events alone.

- `inbox`: every `Notification.Sent`, and the admin notices of signups and registrations derived
  from `Account.Registered` (people.md §1.4 rows 1-4; their `_id` is derived from the event).
  `inbox_states`: per-reader read/hidden state of broadcasts; `inbox_counters`: the counters the
  unread count and the lists' totals add up (see `infrastructure.people_tables`). Each stored notification is pushed as
  `notification:new` to its room once the batch has committed, with the `_id` the inbox lists.
- `links`: `ClientLink` events. The aggregate has been recorded with every successful booking since
  the first version of the service, so links implied by earlier bookings appear when this
  projection first runs over an existing store (it starts at position 0 of its own tracking row).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from domain.accounts import Account
from domain.appointments import ClientLink
from domain.ids import aggregate_id, derived_object_id
from domain.links import AUTO_NOTES, REMOVED
from domain.notifications import Inbox, Notification, reader_of
from domain.privacy import Erasure
from infrastructure.directory_projection import REGISTRATION_NOTICES, admin_notification, iso_utc
from infrastructure.inbox_bounds import bound_audience, flush_lowered, lower_bounds, raise_bound
from infrastructure.json_text import dumps, loads
from infrastructure.people_tables import (
    PEOPLE_TABLES,
    inbox,
    inbox_bounds,
    inbox_counters,
    inbox_states,
    link_counters,
    links,
)
from infrastructure.personal_fields import DELETED_NAME
from infrastructure.projector import Batch, CounterAdds, Handles, HandlesDeclared
from infrastructure.pushes import Emit

PEOPLE = "people"
DEFAULTS: dict[str, Any] = {
    "avatar": "",
    "read": False,
    "recipient": None,
    "recipientRole": None,
    "isGlobal": False,
    "type": "other",
    "category": "general",
    "priority": "normal",
    "actionUrl": "",
    "actionLabel": "",
    "relatedId": None,
    "relatedType": None,
    "sender": None,
    "senderRole": "System",
    "metadata": {},
    "expiresAt": None,
}
INSERT_INBOX = inbox.insert()
INSERT_LINK = links.insert()
# a link's later events find its row by the pair they name (one link per pair); queued: `Batch.write`
UPDATE_LINK = links.update().where(
    links.c.client_id == sa.bindparam("b_client"), links.c.consultant_id == sa.bindparam("b_consultant")
)


def _link_count_changes() -> dict[bool, Any]:
    """Per dialect (PostgreSQL: True), the statement queued before a link's own write: it adds to the
    consultant's counter `b_active` (1 when the link is Active after the event) less the pair's Active
    links before it (0 or 1), so the counter follows the links without a read in the batch."""
    active_before = (
        sa.select(sa.func.count())
        .where(
            links.c.client_id == sa.bindparam("b_client"),
            links.c.consultant_id == sa.bindparam("b_consultant"),
            links.c.status == "Active",
        )
        .scalar_subquery()
    )
    change = sa.select(
        sa.bindparam("b_consultant", type_=sa.String), sa.bindparam("b_active", type_=sa.Integer) - active_before
    )
    statements = {}
    for is_postgres, dialect in ((True, postgresql), (False, sqlite)):
        new = dialect.insert(link_counters).from_select(["consultant_id", "n"], change)
        set_n = {"n": link_counters.c.n + new.excluded.n}
        statements[is_postgres] = new.on_conflict_do_update(index_elements=["consultant_id"], set_=set_n)
    return statements


LINK_COUNT_CHANGES = _link_count_changes()

SELECT_INBOX = sa.select(
    inbox.c.recipient, inbox.c.recipient_role, inbox.c.is_global, inbox.c.read_at, inbox.c.expires_at, inbox.c.category
)
# the counters of one account (`infrastructure.people_tables`), each also kept per category
OWN_COUNTERS = ("user", "mine", "seen", "hidden")


def audience(recipient: str | None, role: str | None, is_global: bool) -> tuple[str | None, str | None, bool]:
    """(recipient, role, global) as the inbox sees them: a recipient makes it personal (§1.2 rule 1);
    otherwise a global notice reaches everyone, the role included."""
    if recipient:
        return recipient, None, False
    if is_global:
        return None, None, True
    return None, role, False


def counter_key(recipient: str | None, role: str | None, is_global: bool) -> str:
    return f"user:{recipient}" if recipient else ("global" if is_global else f"role:{role}")


def room_of(recipient: str | None, role: str | None, is_global: bool) -> str | None:
    return f"user:{recipient}" if recipient else (None if is_global else f"role:{role}")


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


class PeopleProjector(HandlesDeclared):
    handles = Handles(Notification.Sent, Inbox.Event, ClientLink.Event, Account.Registered, Erasure.Recorded)

    def reset(self, conn: sa.Connection) -> None:
        for table in PEOPLE_TABLES:
            conn.execute(table.delete())

    def apply(self, batch: Batch, event: Any, position: int) -> None:
        if not self.handles.covers(event):
            return
        if isinstance(event, Notification.Sent):
            self._store(
                batch,
                {**event.content, "_id": event.notification_id},
                event,
                position,
                event.recipient,
                event.recipient_role,
            )
        elif isinstance(event, Account.Registered):
            notice = REGISTRATION_NOTICES.get((event.kind, event.channel))
            if notice:
                name = event.profile.get("name") or event.profile.get("fullName") or ""
                notice_id = derived_object_id(event.originator_id, event.originator_version)
                document = admin_notification(notice_id, iso_utc(event.timestamp), notice, name)
                self._store(batch, document, event, position, None, "Admin")
        elif isinstance(event, Inbox.Event):
            self._reader(batch, event)
        elif isinstance(event, ClientLink.Event):
            self._link(batch, event)
        elif isinstance(event, Erasure.Recorded):
            self._erase(batch, event.account_id)

    @staticmethod
    def _erase(batch: Batch, account_id: str) -> None:
        """Erasure (people.md §4.6): the person's own inbox and links go; notifications already in other
        people's inboxes stay as they were delivered."""
        conn = batch.conn
        conn.execute(inbox.delete().where(inbox.c.recipient == account_id))
        conn.execute(inbox_states.delete().where(inbox_states.c.reader_id == account_id))
        conn.execute(inbox_bounds.delete().where(inbox_bounds.c.reader_id == account_id))
        own = [f"{kind}:{account_id}" for kind in OWN_COUNTERS]
        key = inbox_counters.c.key
        conn.execute(inbox_counters.delete().where(sa.or_(key.in_(own), *(key.startswith(f"{k}:") for k in own))))
        counts = batch.pending.get("inbox_counters")
        if counts is not None:  # changes of this batch to those counters are gone with them
            for changed in [k for k in counts if ":".join(k.split(":")[:2]) in own]:  # whole or per category
                del counts[changed]
        # the consultants' counters lose the person's Active links (one per pair); a consultant's own goes
        conn.execute(link_counters.delete().where(link_counters.c.consultant_id == account_id))
        linked_to = sa.select(links.c.consultant_id).where(links.c.client_id == account_id, links.c.status == "Active")
        conn.execute(
            link_counters.update().where(link_counters.c.consultant_id.in_(linked_to)).values(n=link_counters.c.n - 1)
        )
        conn.execute(links.delete().where(sa.or_(links.c.client_id == account_id, links.c.consultant_id == account_id)))
        # the admins' signup notice named the person: as a rebuild decodes it once the key is destroyed
        notice_id = derived_object_id(aggregate_id(account_id), 1)
        found = conn.execute(sa.select(inbox.c.document).where(inbox.c.id == notice_id)).scalar()
        if found is not None:
            document = loads(found)
            for title, message, *_ in REGISTRATION_NOTICES.values():
                if document.get("name") == title:
                    document["message"] = message.format(name=DELETED_NAME)
            conn.execute(inbox.update().where(inbox.c.id == notice_id).values(document=dumps(document)))

    # -- notifications ------------------------------------------------------------------------------

    def _store(
        self, batch: Batch, content: dict[str, Any], event: Any, position: int, recipient: str | None, role: str | None
    ) -> None:
        when = iso_utc(event.timestamp)
        document = {"_id": content["_id"], **DEFAULTS, "recipient": recipient, "recipientRole": role, **content}
        document.update(read=False, createdAt=when, updatedAt=when)
        who, to_role, everyone = audience(document["recipient"], document["recipientRole"], bool(document["isGlobal"]))
        expires = _instant(document.get("expiresAt"))
        batch.insert(
            INSERT_INBOX,
            {
                "id": document["_id"],
                "recipient": who,
                "recipient_role": to_role,
                "is_global": everyone,
                "name": str(document.get("name") or ""),
                "type": str(document["type"]),
                "category": str(document["category"]),
                "priority": str(document["priority"]),
                "read_at": None,
                "created_at": event.timestamp,
                "updated_at": event.timestamp,
                "expires_at": expires,
                "seq": position,
                "document": dumps(document),
            },
        )
        if who is None:
            lower_bounds(batch, bound_audience(to_role, everyone), event.timestamp, position)
        if expires is None:
            category = str(document["category"])
            self._count(batch, counter_key(who, to_role, everyone), 1, category)
            if who:
                self._count(batch, f"mine:{who}", 1, category)
        batch.emits.append(Emit("notification:new", document, room=room_of(who, to_role, everyone)))

    @staticmethod
    def _count(batch: Batch, key: str, delta: int, category: str) -> None:
        """Add `delta` to the counter `key` and to its twin of the notification's category."""
        counts: Counter[str] = batch.pending.setdefault("inbox_counters", Counter())
        counts[key] += delta
        counts[f"{key}:{category}"] += delta

    def _reader(self, batch: Batch, event: Any) -> None:
        if isinstance(event, Inbox.Opened):
            return
        conn = batch.conn
        reader = reader_of(event.originator_id)
        hidden_in = set()
        for notification_id in event.notification_ids:
            row = conn.execute(SELECT_INBOX.where(inbox.c.id == notification_id)).first()
            if row is None:
                continue
            recipient, role, everyone, read_at, expires, category = row
            if recipient is None and isinstance(event, Inbox.Hidden):
                hidden_in.add(bound_audience(role, everyone))
            counted = category if expires is None else None
            if isinstance(event, Inbox.Deleted):
                self._delete(batch, notification_id, recipient, role, everyone, read_at, counted)
            elif recipient is not None:  # personal: one flag; hiding does not apply
                if isinstance(event, Inbox.Read) and read_at is None and recipient == reader:
                    conn.execute(
                        inbox.update()
                        .where(inbox.c.id == notification_id)
                        .values(read_at=event.at, updated_at=event.at)
                    )
                    if counted is not None:
                        self._count(batch, f"user:{recipient}", -1, counted)
            else:
                self._broadcast_state(batch, reader, notification_id, event, counted)
        for name in sorted(hidden_in):
            raise_bound(batch, reader, name, event.timestamp)

    def _broadcast_state(
        self, batch: Batch, reader: str, notification_id: str, event: Any, counted: str | None
    ) -> None:
        """`counted`: the category of a notification the counters count (None: one with an `expiresAt`)."""
        conn = batch.conn
        state = conn.execute(
            sa.select(inbox_states.c.read_at, inbox_states.c.hidden).where(
                inbox_states.c.reader_id == reader, inbox_states.c.notification_id == notification_id
            )
        ).first()
        read_at = event.at if isinstance(event, Inbox.Read) else None
        hidden = isinstance(event, Inbox.Hidden)
        if state is None:
            conn.execute(
                inbox_states.insert().values(
                    reader_id=reader, notification_id=notification_id, read_at=read_at, hidden=hidden
                )
            )
            if counted is not None:
                self._count(batch, f"seen:{reader}", 1, counted)
                if hidden:
                    self._count(batch, f"hidden:{reader}", 1, counted)
            return
        changes: dict[str, Any] = {}
        if read_at is not None and state.read_at is None:
            changes["read_at"] = read_at
        if hidden and not state.hidden:
            changes["hidden"] = True
            if counted is not None:
                self._count(batch, f"hidden:{reader}", 1, counted)
        if changes:
            conn.execute(
                inbox_states.update()
                .where(inbox_states.c.reader_id == reader, inbox_states.c.notification_id == notification_id)
                .values(**changes)
            )

    def _delete(
        self,
        batch: Batch,
        notification_id: str,
        recipient: str | None,
        role: str | None,
        everyone: bool,
        read_at: Any,
        counted: str | None,
    ) -> None:
        conn = batch.conn
        conn.execute(inbox.delete().where(inbox.c.id == notification_id))
        if recipient is not None:
            if counted is not None:
                self._count(batch, f"mine:{recipient}", -1, counted)
                if read_at is None:
                    self._count(batch, f"user:{recipient}", -1, counted)
            return
        readers = conn.execute(
            sa.select(inbox_states.c.reader_id, inbox_states.c.hidden).where(
                inbox_states.c.notification_id == notification_id
            )
        ).all()
        if counted is not None:
            self._count(batch, counter_key(None, role, everyone), -1, counted)
            for seen_by, hid in readers:
                self._count(batch, f"seen:{seen_by}", -1, counted)
                if hid:
                    self._count(batch, f"hidden:{seen_by}", -1, counted)
        conn.execute(inbox_states.delete().where(inbox_states.c.notification_id == notification_id))

    # -- links --------------------------------------------------------------------------------------

    def _link(self, batch: Batch, event: Any) -> None:
        """A link's row: its id is the public one (`link_id`: an imported link keeps its original
        `_id`); later events find it by the pair they name (one link per pair)."""
        when = event.timestamp
        active = isinstance(event, (ClientLink.Linked, ClientLink.Relinked)) or (
            isinstance(event, ClientLink.StatusChanged) and event.status == "Active"
        )
        batch.write(
            LINK_COUNT_CHANGES[batch.connection.dialect.name == "postgresql"],
            {"b_client": event.client_id, "b_consultant": event.consultant_id, "b_active": int(active)},
        )
        if isinstance(event, ClientLink.Linked):
            batch.insert(
                INSERT_LINK,
                {
                    "id": getattr(event, "link_id", None) or event.originator_id.hex[:24],
                    "client_id": event.client_id,
                    "consultant_id": event.consultant_id,
                    "status": "Active",
                    "notes": AUTO_NOTES,
                    "linked_at": when,
                    "created_at": when,
                    "updated_at": when,
                },
            )
            return
        pair = {"b_client": event.client_id, "b_consultant": event.consultant_id, "updated_at": when}
        if isinstance(event, ClientLink.Removed):  # kept as `Removed` (never listed) until a new link
            batch.write(UPDATE_LINK, {**pair, "status": REMOVED})
        elif isinstance(event, ClientLink.StatusChanged):
            batch.write(UPDATE_LINK, {**pair, "status": event.status})
        elif isinstance(event, ClientLink.Relinked):
            notes = event.notes if isinstance(event.notes, str) else ""
            batch.write(UPDATE_LINK, {**pair, "status": "Active", "notes": notes, "linked_at": when})

    def flush(self, batch: Batch) -> None:
        flush_lowered(batch)
        COUNTER_ADDS.queue(batch, batch.pending.pop("inbox_counters", {}))  # (a counter back at zero is deleted)


# Add to a counter (created at its first change), and delete a counter back at zero: queued on the batch
# (`Batch.write`), so on PostgreSQL they go out with the batch's claim and COMMIT.
COUNTER_ADDS = CounterAdds(inbox_counters)


def document_of(row_document: str) -> dict[str, Any]:
    return loads(row_document)  # type: ignore[no-any-return]
