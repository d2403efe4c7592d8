"""Direct ingestion: the `Transaction.Recorded` events of a batch written to `transactions` by DuckDB
from their stored states, without becoming Python objects (issue 17: decoding an event through the
mapper and building its row in Python cost more than reading it from the log).

The stored states (JSON text, as read from the log) travel joined as one parameter; DuckDB checks each
one against the form the transcoder writes (`CANONICAL`, one regular expression: RE2, C++), extracts its
columns and one `INSERT ... SELECT` writes the rows. An event is taken only when the result is certainly
what the Python path (reporting/activity_rows.py `transaction`) would write; every other one is left to
that path, unchanged, parking included:

- its aggregate has no other event in the batch (a later event would change the row in Python);
- the state is plain text as the transcoder writes it (`ReportingStore(direct=...)`: the mapper neither
  compresses nor encrypts), valid UTF-8, exactly four transcoded values (`_type_`);
- `CANONICAL` matches the whole state: the keys in the transcoder's order, each once, nothing else (no
  `class_version`: upcasting is the mapper's); strings without escapes or control characters (their
  text is their value); `timestamp` a `datetime_iso` in UTC written `+00:00` (years 1000 to 2999; an
  impossible date is left to Python); each amount a `decimal_str` with at most two decimals and sixteen
  digits before (`domain.money.exact` keeps such a figure's value: no rounding to reproduce); `kind`
  and `status` strings, `currency`, `user_id`, `consultant_id`, `appointment_id`, `payment_method`,
  `reference` (and `transaction_id`) strings or null; `metadata` and `snapshots` flat objects of
  scalars (a sealed value, `_pii`, is an object: opening it is the mapper's). The expression is a
  strict subset of JSON's grammar, so Python's parser reads the same values from such a state;
- the business-local time: the offset of the state's UTC hour, computed here with `zoneinfo` (the one
  source of the projection's local times; DuckDB's ICU data is not consulted), constant over the hour
  (the hours of a batch's span are joined as runs of one offset: a few rows, not one per hour).

The events are checked and extracted before the batch's Python part (which then decodes only the others)
and written after it, as if they came last in the batch: they create aggregates no other event of the
batch touches, and their rows depend on nothing else but `earned`, which follows `_derive_earned` of
reporting/projection.py against the appointments as the batch leaves them (written first, the rows of a
payment whose appointment the batch changes would be loaded and written again by that path). The rows
are staged as the Python path stages them, so the rollups add them by the same grouped SQL
(reporting/rollups.py `add_staged`), and their keys are journaled for the analysts' snapshot (position
-1, set by `snapshot.record`)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import duckdb
from eventsourcing.utils import get_topic

from domain.ledger import Transaction
from reporting import direct_appointments as appointment_rows
from reporting.rollups import add_staged, staged

RECORDED = get_topic(Transaction.Recorded)
MINIMUM = 64  # below this many takeable events a batch goes the Python way (the statements' fixed cost)
TEXT = r'"[^"\\\x00-\x1f]*"'  # a JSON string without escapes: its text is its value
OPTIONAL_TEXT = f"(?:{TEXT}|null)"
SCALAR = rf"(?:{TEXT}|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?|true|false|null)"
FLAT = rf"\{{(?:{TEXT}:{SCALAR}(?:,{TEXT}:{SCALAR})*)?\}}"
INSTANT = r"[12][0-9]{3}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{6})?\+00:00"
CENTS = r"-?[0-9]{1,16}(?:\.[0-9]{1,2})?"  # exact to the cent: `exact` keeps the value (no rounding)
MONEY = ("amount", "platform_fee", "net_amount")
TEXTS = ("kind", "status", "currency", "user_id", "consultant_id", "appointment_id", "payment_method", "reference")


def _typed(name: str, pattern: str) -> str:
    return rf'\{{"_type_":"{name}","_data_":"{pattern}"\}}'


CANONICAL = "".join(
    [
        rf'\{{"timestamp":{_typed("datetime_iso", INSTANT)},"originator_topic":"domain\.ledger:Transaction",',
        rf'"transaction_id":{OPTIONAL_TEXT},"kind":{TEXT},"status":{TEXT},',
        *(rf'"{name}":{_typed("decimal_str", CENTS)},' for name in MONEY),
        *(rf'"{name}":{OPTIONAL_TEXT},' for name in TEXTS[2:]),
        rf'"metadata":{FLAT},"snapshots":{FLAT}\}}',
    ]
)
APPOINTMENT = appointment_rows.canonical(TEXT, OPTIONAL_TEXT, FLAT, INSTANT)
PATHS = ["$.timestamp._data_", *(f"$.{name}._data_" for name in MONEY), *(f"$.{name}" for name in TEXTS)]
HOUR = timedelta(hours=1)
SCRATCH = "direct_scratch"  # an in-memory database attached to the store, for `Direct.prepare`
MICROSECOND = timedelta(microseconds=1)
STATES = """CREATE OR REPLACE {kind} TABLE {states} AS
    SELECT i, id, ok, CASE WHEN ok THEN json_extract_string(s, $3) END AS v FROM (
        SELECT i, id, s, regexp_full_match(s, $4) AS ok FROM (
            SELECT unnest(states) AS s, unnest(ids) AS id, generate_subscripts(states, 1) AS i
            FROM (SELECT string_split($1, chr(10)) AS states, string_split($2, chr(10)) AS ids)))"""
FIELDS = ", ".join(
    [
        "TRY_CAST(substr(v[1], 1, length(v[1]) - 6) AS TIMESTAMP) AS created_at",  # without `+00:00`
        *(f"CAST(v[{index}] AS DECIMAL(18, 2)) AS {name}" for index, name in enumerate(MONEY, start=2)),
        *(f"v[{index}] AS {name}" for index, name in enumerate(TEXTS, start=2 + len(MONEY))),
    ]
)
EXTRACTED = f"""CREATE OR REPLACE {{kind}} TABLE {{rows}} AS
    SELECT i, id, {FIELDS} FROM {{states}} WHERE ok"""
ROWS = """INSERT INTO {into}
    SELECT d.id, d.kind, d.status, d.amount, d.platform_fee, d.net_amount, d.currency, d.user_id, d.consultant_id,
           d.appointment_id, d.payment_method, d.reference, NULL, d.created_at,
           d.created_at + to_microseconds(o.micros), d.created_at,
           d.kind = 'Payment' AND d.status = 'Success'
               AND (coalesce(d.appointment_id, '') = '' OR a.status IS NULL OR a.status = 'Completed')
    FROM {rows} d JOIN direct_offsets o ON d.created_at >= o.since AND d.created_at < o.until
    LEFT JOIN (SELECT id, status FROM appointments WHERE id IN (
                   SELECT appointment_id FROM {rows} WHERE kind = 'Payment' AND status = 'Success')) a
           ON a.id = d.appointment_id
    WHERE o.micros IS NOT NULL
    ORDER BY d.i"""
# the complement of ROWS's rows (few: those that do not validate)
LEFT = """SELECT s.i FROM {states} s LEFT JOIN {rows} d USING (i)
          LEFT JOIN direct_offsets o ON d.created_at >= o.since AND d.created_at < o.until
          WHERE o.micros IS NULL"""


def takeable(notifications: list[Any], appointments: bool = True) -> tuple[list[int], list[int]]:
    """The indices of the `Transaction.Recorded` and of the `Appointment.Created` events whose stored states
    may go the direct way (checked further by DuckDB); no appointment if `appointments` is false."""
    counts = Counter([n.originator_id.int for n in notifications if type(n.originator_id) is UUID])
    recorded, created = [], []
    for index, n in enumerate(notifications):
        state = n.state
        topic = n.topic
        if topic == RECORDED:
            if (
                type(state) is bytes
                and type(n.originator_id) is UUID
                and counts[n.originator_id.int] == 1
                and state.count(b'"_type_"') == 4
                and b"\n" not in state  # (the states travel joined by newlines)
            ):
                recorded.append(index)
        elif (
            topic == appointment_rows.CREATED
            and appointments
            and type(state) is bytes
            and type(n.originator_id) is UUID
            and counts[n.originator_id.int] == 1
            and b"\n" not in state
            and b"_pii" not in state
            and b"Snapshot" not in state  # (no snapshot: both names are null)
            and state.count(b'"fee":') <= 1
            and state.count(b'"category":') <= 1
        ):
            created.append(index)
    return recorded, created


def _hex(notification: Any) -> str:
    return "%024x" % (notification.originator_id.int >> 32)  # UUID.hex[:24]


def _joined(notifications: list[Any], indices: list[int]) -> tuple[list[int], str]:
    """The states at `indices` joined by newlines, without those that are not UTF-8 (the mapper refuses them)."""
    try:
        return indices, b"\n".join(notifications[i].state for i in indices).decode("utf-8")
    except UnicodeDecodeError:
        indices = [i for i in indices if _utf8(notifications[i].state)]
        return indices, b"\n".join(notifications[i].state for i in indices).decode("utf-8")


def _utf8(state: bytes) -> bool:
    try:
        state.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def offset_micros(hour: Any, zone: ZoneInfo) -> int | None:
    """The zone's UTC offset (microseconds) over this UTC hour (naive), None if it changes within it."""
    start = hour.replace(tzinfo=UTC)
    first, last = start.astimezone(zone).utcoffset(), (start + HOUR - MICROSECOND).astimezone(zone).utcoffset()
    return None if first is None or first != last else first // MICROSECOND


@dataclass(frozen=True)
class Names:
    """Where one batch's checked states go: temporary tables of the batch's transaction (`take`), or tables
    of the attached in-memory database `SCRATCH` (`prepare`, on another connection: a temporary table is
    its connection's own)."""

    TEMP = ("TEMP", "direct_states", "direct_rows", "direct_appointment_states", "direct_appointment_rows")
    kind: str
    states: str
    rows: str
    appointment_states: str
    appointment_rows: str

    def sql(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Checked:
    notifications: list[Any]  # the batch's events it was made for
    names: Names
    recorded: list[int]  # the indices of the transactions and appointments checked
    created: list[int]
    spans: list[Any]  # (first, last) instant of each

    def of(self, notifications: list[Any]) -> bool:
        mine = self.notifications
        return len(mine) == len(notifications) and all(a is b for a, b in zip(mine, notifications, strict=True))


class Direct:
    def __init__(self, zone: ZoneInfo, minimum: int = MINIMUM, cursor: duckdb.DuckDBPyConnection | None = None):
        """`cursor`: a connection of the store's database for `prepare` (another thread's), or None."""
        self.zone = zone
        self.minimum = minimum
        self._offsets: dict[datetime, int | None] = {}  # by UTC hour (a store's history spans a few thousand)
        self._span: tuple[datetime, datetime, list[tuple[datetime, datetime, int | None]]] | None = None
        self._recorded: Names | None = None  # where `take` left the transactions for `write`
        self._prepared: list[Checked] = []  # made by `prepare` (in the reading thread), not yet taken
        self._prepared_lock = threading.Lock()
        self.prepared_taken = 0  # batches whose check `prepare` made
        self._slot = 0
        self._cursor = cursor
        if cursor is not None:
            cursor.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {SCRATCH}")

    def _runs(self, first: datetime, last: datetime) -> list[tuple[datetime, datetime, int | None]]:
        """Runs of one offset (since, until, micros) covering the UTC hours from `first`'s to `last`'s (and
        those of earlier calls: a batch's span is mostly inside the last one); an hour within which the
        offset changes is a run of None (its instants are left to the Python path)."""
        if self._span is not None:
            low, high, runs = self._span
            if low <= first and last < high:
                return runs
            first, last = min(first, low), max(last, high - MICROSECOND)
        runs = []
        hour = first.replace(minute=0, second=0, microsecond=0)
        while hour <= last:
            micros = self._offsets.get(hour, -1)
            if micros == -1:
                micros = self._offsets[hour] = offset_micros(hour, self.zone)
            if runs and runs[-1][1] == hour and runs[-1][2] == micros:
                runs[-1] = (runs[-1][0], hour + HOUR, micros)
            else:
                runs.append((hour, hour + HOUR, micros))
            hour += HOUR
        self._span = (runs[0][0], runs[-1][1], runs)
        return runs

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

    def prepare(self, notifications: list[Any]) -> None:
        """In the thread that checks the batches ahead (reporting/read_ahead.py), while an earlier one is
        applied: check and extract the batch's states in `SCRATCH` (DuckDB releases the interpreter), for
        `take` to use if it is given exactly this list. Anything failing here is done again by `take`."""
        if self._cursor is None:
            return
        self._slot = (self._slot + 1) % 3  # the batch being applied reads another slot
        names = Names("", *(f"{SCRATCH}.s{self._slot}_{name}" for name in Names.TEMP[1:]))
        try:
            checked = self._check(self._cursor, notifications, names)
        except Exception:  # (not this thread's to report: `take` checks the batch itself, and fails in its place)
            return
        with self._prepared_lock:  # (the batch being applied and the one waiting may not have taken theirs yet)
            self._prepared = [*self._prepared[-2:], checked]

    def _check(self, con: duckdb.DuckDBPyConnection, notifications: list[Any], names: Names) -> Checked:
        blocked = any(n.topic in appointment_rows.BLOCKING for n in notifications)
        recorded, created = takeable(notifications, appointments=not blocked)
        recorded, states = _joined(notifications, recorded) if len(recorded) >= self.minimum else ([], "")
        created, created_states = _joined(notifications, created) if len(created) >= self.minimum else ([], "")
        recorded = recorded if recorded and len(recorded) >= self.minimum else []  # (an empty text: one state)
        created = created if created and len(created) >= self.minimum else []
        spans = []
        if recorded:
            ids = "\n".join([_hex(notifications[i]) for i in recorded])
            con.execute(STATES.format(**names.sql()), [states, ids, PATHS, CANONICAL])
            con.execute(EXTRACTED.format(**names.sql()))
            spans.append(con.execute(f"SELECT min(created_at), max(created_at) FROM {names.rows}").fetchone())
        if created:
            ids = "\n".join([_hex(notifications[i]) for i in created])
            spans.append(appointment_rows.extract(con, created_states, ids, APPOINTMENT, names.sql()))
        return Checked(notifications, names, recorded, created, spans)

    def take(
        self, con: duckdb.DuckDBPyConnection, notifications: list[Any], journal: bool = True
    ) -> tuple[list[Any], int]:
        """In the batch's transaction, before its Python part: check and extract the events it can write
        (`prepare`'s work if it was given this list), and write the appointments
        (reporting/direct_appointments.py); the transactions' rows are left for `write`, after that part.
        Returns the events left to the Python path (in order) and how many it took."""
        with self._prepared_lock:
            checked = next((one for one in self._prepared if one.of(notifications)), None)
            self._prepared = [one for one in self._prepared if one is not checked]
        if checked is None:
            checked = self._check(con, notifications, Names(*Names.TEMP))
        else:
            self.prepared_taken += 1
        names, recorded, created, spans = checked.names, checked.recorded, checked.created, checked.spans
        self._recorded = None
        if not recorded and not created:
            return notifications, 0
        firsts = [span[0] for span in spans if span and span[0] is not None]
        lasts = [span[1] for span in spans if span and span[1] is not None]
        runs = self._runs(min(firsts), max(lasts)) if firsts else []
        con.execute(
            "CREATE OR REPLACE TEMP TABLE direct_offsets AS SELECT unnest($1::TIMESTAMP[]) AS since, "
            "unnest($2::TIMESTAMP[]) AS until, unnest($3::BIGINT[]) AS micros",
            [[run[0] for run in runs], [run[1] for run in runs], [run[2] for run in runs]],
        )
        left = set()
        if recorded:
            left.update(recorded[i - 1] for (i,) in con.execute(LEFT.format(**names.sql())).fetchall())
        if created:
            refused = appointment_rows.left(con, names.sql())
            left.update(created[i - 1] for i in refused)
            if len(refused) < len(created):
                appointment_rows.write(con, journal)
            else:
                con.execute("DROP TABLE direct_appointments")
        if names.kind:  # temporary tables: dropped when read
            read = ((names.states,) if recorded else ()) + (
                (names.appointment_states, names.appointment_rows) if created else ()
            )
            for table in read:
                con.execute(f"DROP TABLE {table}")
        if recorded and len(left.intersection(recorded)) < len(recorded):
            self._recorded = names
        elif recorded and names.kind:
            con.execute(f"DROP TABLE {names.rows}")
        taken = set(recorded).union(created) - left
        return [n for index, n in enumerate(notifications) if index not in taken], len(taken)

    def write(self, con: duckdb.DuckDBPyConnection, journal: bool) -> None:
        """After the batch's Python part, in its transaction: the transactions `take` took, their rollup groups
        and their keys in the journal."""
        names, self._recorded = self._recorded, None
        if names is None:
            return
        table = "transactions"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {staged(table)} AS FROM {table} LIMIT 0")
        con.execute(ROWS.format(into=staged(table), rows=names.rows))
        if names.kind:
            con.execute(f"DROP TABLE {names.rows}")
        con.execute(f"INSERT INTO {table} FROM {staged(table)}")
        add_staged(con, table, journal)
        if journal:  # the rows' keys, for the analysts' snapshot (reporting/snapshot.py `record` sets the position)
            con.execute(f"INSERT INTO reporting_changes SELECT -1, '{table}', id FROM {staged(table)}")
