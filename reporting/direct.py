"""Direct ingestion: the `Transaction.Recorded` events of a batch written to `transactions` by DuckDB
from their stored states, without becoming Python objects (issue 17: decoding an event through the
mapper and building its row in Python cost more than reading it from the log).

The stored states (JSON text, as read from the log) travel as one parameter; DuckDB parses them,
checks each one and extracts its columns (C++), and one `INSERT ... SELECT` writes the rows. An event
is taken only when the result is certainly what the Python path (reporting/activity_rows.py
`transaction`) would write, else it is left to that path, unchanged, with its parking:

- its aggregate has no other event in the batch (a later event would change the row in Python);
- the state is plain JSON text as the transcoder writes it: neither compressed nor encrypted as a whole
  (`ReportingStore(direct=...)`), valid UTF-8, no control character or `\\u` escape, DuckDB's minified
  form of it is the text itself (DuckDB accepts trailing commas, which Python's parser refuses), no
  duplicate key, no `class_version` (upcasting), no sealed value (`_pii`: opening it is the mapper's);
- exactly four transcoded values (`_type_`), at `timestamp` (`datetime_iso`, UTC as `+00:00`, years
  1000 to 2999) and at the three amounts (`decimal_str`, at most two decimals and sixteen digits before:
  no rounding to reproduce, `domain.money.exact` keeps such a figure's value), each an object of those
  two keys;
- `kind` and `status` are strings, `currency`, `user_id`, `consultant_id`, `appointment_id`,
  `payment_method` and `reference` strings or null;
- the business-local time: the offset of the state's UTC hour, computed here with `zoneinfo` (the one
  source of the projection's local times; DuckDB's ICU data is not consulted), constant over the hour.

The rows are staged as the Python path stages them, so the rollups add them by the same grouped SQL
(reporting/rollups.py `add_staged`), and their keys are journaled for the analysts' snapshot
(position -1, set by `snapshot.record`). `earned` follows `_derive_earned` of reporting/projection.py
against the appointments as stored; the Python part of the batch, applied after, recomputes it for the
payments of every appointment it touches, as it does for a previous batch's rows."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from eventsourcing.utils import get_topic

from domain.ledger import Transaction
from reporting.rollups import add_staged, staged

RECORDED = get_topic(Transaction.Recorded)
MINIMUM = 64  # below this many takeable events a batch goes the Python way (the statements' fixed cost)
CONTROL = re.compile(rb"[\x00-\x1f]")
TYPED = {
    "timestamp": "datetime_iso",
    "amount": "decimal_str",
    "platform_fee": "decimal_str",
    "net_amount": "decimal_str",
}
REQUIRED = ("kind", "status")
OPTIONAL = ("currency", "user_id", "consultant_id", "appointment_id", "payment_method", "reference")
INSTANT = r"[12][0-9]{3}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{6})?\+00:00"
CENTS = r"-?[0-9]{1,16}(\.[0-9]{1,2})?"  # exact to the cent: `exact` keeps the value (no rounding)
HOUR = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)


def _paths() -> list[str]:
    paths = []
    for name in TYPED:
        paths += [f"$.{name}", f"$.{name}._type_", f"$.{name}._data_"]
    return [*paths, *(f"$.{name}" for name in (*REQUIRED, *OPTIONAL)), "$.class_version"]


PATHS = _paths()


def _at(path: str) -> int:
    return PATHS.index(path) + 1  # DuckDB lists count from 1


def _checks() -> str:
    checks = ["json_type(j) = 'OBJECT'", "len(json_keys(j)) = len(list_distinct(json_keys(j)))"]
    for name, kind in TYPED.items():
        pattern = INSTANT if kind == "datetime_iso" else CENTS
        checks += [
            f"t[{_at(f'$.{name}')}] = 'OBJECT'",
            f"len(json_keys(j, '$.{name}')) = 2",
            f"t[{_at(f'$.{name}._type_')}] = 'VARCHAR' AND v[{_at(f'$.{name}._type_')}] = '{kind}'",
            f"t[{_at(f'$.{name}._data_')}] = 'VARCHAR'",
            f"regexp_full_match(v[{_at(f'$.{name}._data_')}], '{pattern}')",
        ]
    checks += [f"t[{_at(f'$.{name}')}] = 'VARCHAR'" for name in REQUIRED]
    checks += [f"t[{_at(f'$.{name}')}] IN ('VARCHAR', 'NULL')" for name in OPTIONAL]
    checks.append(f"t[{_at('$.class_version')}] IS NULL")
    return " AND ".join(f"coalesce({check}, false)" for check in checks)


def _value(name: str) -> str:
    return f"v[{_at(f'$.{name}')}]"


INSTANT_TEXT = _value("timestamp._data_")
CREATED_AT = f"TRY_CAST(substr({INSTANT_TEXT}, 1, length({INSTANT_TEXT}) - 6) AS TIMESTAMP)"  # without `+00:00`
TEXTS = ", ".join(f"{_value(name)} AS {name}" for name in (*REQUIRED, *OPTIONAL))
AMOUNTS = ", ".join(
    f"CASE WHEN ok THEN CAST({_value(f'{name}._data_')} AS DECIMAL(18, 2)) END AS {name}"
    for name, kind in TYPED.items()
    if kind == "decimal_str"
)
STATES = f"""CREATE OR REPLACE TEMP TABLE direct_states AS
    WITH raw AS (
        SELECT unnest(states) AS s, unnest(ids) AS id, generate_subscripts(states, 1) AS i
        FROM (SELECT string_split($1, chr(10)) AS states, string_split($2, chr(10)) AS ids)),
    parsed AS (SELECT i, id, CASE WHEN json_valid(s) AND json(s)::VARCHAR = s THEN s::JSON END AS j FROM raw),
    typed AS (SELECT i, id, j, json_type(j, {PATHS}) AS t, json_extract_string(j, {PATHS}) AS v FROM parsed),
    checked AS (SELECT i, id, v, {_checks()} AS ok FROM typed),
    extracted AS (
        SELECT i, id, ok, CASE WHEN ok THEN {CREATED_AT} END AS created_at, {TEXTS}, {AMOUNTS} FROM checked)
    SELECT i, id, ok AND created_at IS NOT NULL AS ok, * EXCLUDE (i, id, ok) FROM extracted"""
ROWS = """INSERT INTO {into}
    SELECT d.id, d.kind, d.status, d.amount, d.platform_fee, d.net_amount, d.currency, d.user_id, d.consultant_id,
           d.appointment_id, d.payment_method, d.reference, NULL, d.created_at,
           d.created_at + to_microseconds(o.micros), d.created_at,
           d.kind = 'Payment' AND d.status = 'Success'
               AND (coalesce(d.appointment_id, '') = '' OR a.status IS NULL OR a.status = 'Completed')
    FROM direct_states d JOIN direct_offsets o ON o.hour = date_trunc('hour', d.created_at)
    LEFT JOIN (SELECT id, status FROM appointments WHERE id IN (
                   SELECT appointment_id FROM direct_states WHERE ok AND kind = 'Payment' AND status = 'Success')) a
           ON a.id = d.appointment_id
    WHERE d.ok AND o.micros IS NOT NULL
    ORDER BY d.i"""


def takeable(notifications: list[Any]) -> list[int]:
    """The indices of the events whose stored states may go the direct way (checked further by DuckDB)."""
    counts = Counter(n.originator_id for n in notifications)
    found = []
    for index, n in enumerate(notifications):
        state = n.state
        if (
            n.topic == RECORDED
            and type(state) is bytes
            and counts[n.originator_id] == 1
            and hasattr(n.originator_id, "hex")
            and state.count(b'"_type_"') == 4
            and b'"_pii"' not in state
            and b"\\u" not in state
            and CONTROL.search(state) is None
        ):
            found.append(index)
    return found


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


class Direct:
    def __init__(self, zone: ZoneInfo, minimum: int = MINIMUM):
        self.zone = zone
        self.minimum = minimum

    def ingest(self, con: duckdb.DuckDBPyConnection, notifications: list[Any], journal: bool) -> tuple[list[Any], int]:
        """In the batch's transaction, before its Python part: write the events it can (their rows, their
        rollup groups, the journal). Returns the events left to the Python path (in order) and how many it took."""
        indices = takeable(notifications)
        try:
            states = b"\n".join(notifications[i].state for i in indices).decode("utf-8")
        except UnicodeDecodeError:  # some state is not UTF-8 (the mapper refuses it): left to the Python path
            indices = [i for i in indices if _utf8(notifications[i].state)]
            states = b"\n".join(notifications[i].state for i in indices).decode("utf-8")
        if not indices or len(indices) < self.minimum:  # (an empty text would split into one empty state)
            return notifications, 0
        ids = "\n".join(notifications[i].originator_id.hex[:24] for i in indices)
        con.execute(STATES, [states, ids])
        hours = [
            row[0]
            for row in con.execute(
                "SELECT DISTINCT date_trunc('hour', created_at) FROM direct_states WHERE created_at IS NOT NULL"
            ).fetchall()
        ]
        con.execute(
            "CREATE OR REPLACE TEMP TABLE direct_offsets AS SELECT unnest($1::TIMESTAMP[]) AS hour, "
            "unnest($2::BIGINT[]) AS micros",
            [hours, [offset_micros(hour, self.zone) for hour in hours]],
        )
        table = "transactions"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {staged(table)} AS FROM {table} LIMIT 0")
        con.execute(ROWS.format(into=staged(table)))
        left = {  # the complement of ROWS's rows (few: those that do not validate)
            indices[i - 1]
            for (i,) in con.execute(
                """SELECT d.i FROM direct_states d LEFT JOIN direct_offsets o ON o.hour = date_trunc('hour', d.created_at)
                   WHERE NOT (d.ok AND o.micros IS NOT NULL)"""
            ).fetchall()
        }
        con.execute("DROP TABLE direct_states")
        taken = set(indices) - left
        if not taken:
            return notifications, 0
        con.execute(f"INSERT INTO {table} FROM {staged(table)}")
        add_staged(con, table, journal)
        if journal:  # the rows' keys, for the analysts' snapshot (reporting/snapshot.py `record` sets the position)
            con.execute(f"INSERT INTO reporting_changes SELECT -1, '{table}', id FROM {staged(table)}")
        return [n for index, n in enumerate(notifications) if index not in taken], len(taken)
