"""Where a reader's hidden broadcasts end (`people_tables.inbox_bounds`, migration 0022).

A reader who clears its inbox (`DELETE /notifications/all`) hides every broadcast it sees, one state row
each; its lists and `grouped` step over those rows on every read, so an admin who clears the signup
notices now and then would pay for every signup ever made. Per reader and broadcast audience (`global`,
`role:<Role>`), a bound (`created_at`, `seq`): every notification of that audience below it is hidden by
the reader or expired, so a walk of the audience starts there (`from_bound`, used by the inbox's reads).

The people projection keeps it with the events alone, so a rebuild comes to the same bounds:
- a hide raises the bound of each audience it touched to the first notification there the reader still
  sees (`raise_bound`): a walk from the old bound, so each notification is walked past once;
- a broadcast projected below readers' bounds (an earlier `createdAt`: an import, or a send that
  committed after a later one) lowers them to itself (`lower_bounds`), queued once per batch.
A list reads the bounds, then its rows, in two statements (`page`'s counters and rows are two as well):
a broadcast projected below a bound between them appears from the next read on. Expiry is judged at the
hide's time, so a reader whose clock runs behind the hiding process's may miss, for that difference, a
notification that expired just before the hide."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from infrastructure.people_tables import inbox, inbox_bounds, inbox_states
from infrastructure.projector import Batch
from infrastructure.tables import UtcDateTime

KEY = (inbox.c.created_at, inbox.c.seq)  # the lists' order
# below every instant a notification can carry (an import keeps the original's `createdAt`, 1969 included)
FIRST = datetime(1, 1, 1, tzinfo=UTC)


def bound_audience(role: str | None, is_global: bool) -> str:
    """A broadcast audience's name in `inbox_bounds`."""
    return "global" if is_global else f"role:{role}"


def from_bound(side: str) -> Any:
    """The condition on a broadcast audience's rows that a list reads (`side`: "role" or "global"): from
    the reader's bound on, bound as `<side>_from_at` and `<side>_from_seq` by `bound_params`. Values, not a
    sub-select: the planner, seeing how few rows lie past the bound, walks them in order. The audience's
    indexes hold (`created_at`, `seq`) right after its equality (`people_tables.audience_indexes`), so the
    walk stops at the bound."""
    since = (sa.bindparam(f"{side}_from_at", type_=UtcDateTime), sa.bindparam(f"{side}_from_seq", type_=sa.BigInteger))
    return sa.tuple_(*KEY) >= sa.tuple_(*since)


def bound_params(conn: sa.Connection | None, reader: str, role: str) -> dict[str, Any]:
    """The reader's bounds as `from_bound`'s parameters (no bound, or no `conn` to read them with: from the
    first row on, which is always right, only slower)."""
    names = {"global": "global", f"role:{role}": "role"}
    found: list[Any] = []
    if conn is not None:
        audiences = inbox_bounds.c.audience.in_(list(names))
        columns = inbox_bounds.c["audience", "created_at", "seq"]
        found = list(conn.execute(sa.select(*columns).where(inbox_bounds.c.reader_id == reader, audiences)))
    params: dict[str, Any] = {f"{side}_from_at": FIRST for side in names.values()}
    params.update({f"{side}_from_seq": -1 for side in names.values()})
    for audience, created, seq in found:
        params.update({f"{names[audience]}_from_at": created, f"{names[audience]}_from_seq": seq})
    return params


LOWER = inbox_bounds.update().where(
    inbox_bounds.c.audience == sa.bindparam("b_audience"),
    sa.tuple_(inbox_bounds.c.created_at, inbox_bounds.c.seq)
    > sa.tuple_(sa.bindparam("b_created", type_=UtcDateTime), sa.bindparam("b_seq", type_=sa.BigInteger)),
)


def lower_bounds(batch: Batch, audience: str, created: datetime, seq: int) -> None:
    """With a broadcast's insert: the bounds of its audience above it are to come down to it. Kept per
    audience for the batch, the lowest (lowering to each in turn comes to the same), and queued before
    the batch reads a bound (`raise_bound`) or ends (`flush_lowered`), so the broadcasts' inserts stay
    one statement."""
    lows: dict[str, tuple[datetime, int]] = batch.pending.setdefault("inbox_lows", {})
    if audience not in lows or (created, seq) < lows[audience]:
        lows[audience] = (created, seq)


def flush_lowered(batch: Batch) -> None:
    """Queue the batch's lowerings (as a rule none finds a bound above it: an index range of
    `ix_inbox_bounds_audience`)."""
    for audience, (created, seq) in sorted(batch.pending.pop("inbox_lows", {}).items()):
        moved = {"created_at": created, "seq": seq}
        batch.write(LOWER, {**moved, "b_audience": audience, "b_created": created, "b_seq": seq})


def _upserts() -> dict[bool, Any]:
    statements = {}
    for is_postgres, dialect in ((True, postgresql), (False, sqlite)):
        new = dialect.insert(inbox_bounds)
        moved = {"created_at": new.excluded.created_at, "seq": new.excluded.seq}
        statements[is_postgres] = new.on_conflict_do_update(index_elements=["reader_id", "audience"], set_=moved)
    return statements


UPSERT = _upserts()


def raise_bound(batch: Batch, reader: str, audience: str, now: datetime) -> None:
    """After a hide: move the reader's bound of `audience` up to the first notification of it the reader
    still sees (neither hidden by it nor expired at `now`, the hide's time: expiry is for good), or past
    the last one."""
    flush_lowered(batch)
    conn = batch.conn
    rows = [inbox.c.is_global == sa.true() if audience == "global" else inbox.c.recipient_role == audience[5:]]
    bound = conn.execute(
        sa.select(*inbox_bounds.c["created_at", "seq"]).where(
            inbox_bounds.c.reader_id == reader, inbox_bounds.c.audience == audience
        )
    ).first()
    if bound is not None:
        rows.append(sa.tuple_(*KEY) >= sa.tuple_(sa.literal(bound[0], UtcDateTime), sa.literal(bound[1])))
    state = inbox_states.alias("state")
    seen = inbox.outerjoin(state, sa.and_(state.c.notification_id == inbox.c.id, state.c.reader_id == reader))
    shown = (
        sa.select(*KEY)
        .select_from(seen)
        .where(
            *rows,
            sa.or_(state.c.hidden.is_(None), state.c.hidden.is_(False)),
            sa.or_(inbox.c.expires_at.is_(None), inbox.c.expires_at > now),
        )
        .order_by(*KEY)
        .limit(1)
    )
    found = conn.execute(shown).first()
    if found is None:
        last = conn.execute(sa.select(*KEY).where(*rows).order_by(*(c.desc() for c in KEY)).limit(1)).first()
        if last is None:
            return
        first: tuple[datetime, int] = (last[0], last[1] + 1)
    else:
        first = (found[0], found[1])
    if bound is None or first != tuple(bound):
        moved = {"reader_id": reader, "audience": audience, "created_at": first[0], "seq": first[1]}
        batch.write(UPSERT[batch.connection.dialect.name == "postgresql"], moved)
