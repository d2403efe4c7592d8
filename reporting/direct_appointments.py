"""Direct ingestion of `Appointment.Created` (reporting/direct.py does the same for `Transaction.Recorded`):
the appointments a batch creates written to `appointments`, their rollups and the upcoming index by DuckDB
from their stored states, without becoming Python objects. An event is taken only when the row is
certainly what the Python path (reporting/activity_rows.py `appointment`) would write; every other one is
left to that path, unchanged, parking included:

- its aggregate has no other event in the batch, and the batch renames no category and erases nobody
  (`BLOCKING`: either would change appointments of the batch in the order of the events);
- `CANONICAL` matches the whole state: the keys in the transcoder's order, each once (no `class_version`);
  strings without escapes; `timestamp`, `start` and `end` (and `expires_at` unless null) `datetime_iso` in
  UTC written `+00:00` that DuckDB reads as instants (an impossible date is left to Python); `status` a
  string; the ids and `created_by` strings or null; `fields` a flat object of scalars (a sealed value, a
  snapshot, a nested object is not: no `clientSnapshot`/`consultantSnapshot` key at all, so both names
  are null), with at most one `fee` and one `category` key and no other transcoded value (`_type_` only
  where the form puts it);
- `fee` absent, null or a number of at most thirteen digits and two decimals (`domain.money.exact` keeps
  its value, from a float's shortest text as from an int: no rounding to reproduce), `category` absent,
  null or a string (`name_of`: the empty string is null);
- no transaction already stored names it (`_derive_earned` would recompute those payments' `earned`);
- both local times (of `timestamp` and of `start`) from offsets of hours within which the offset does not
  change (reporting/direct.py `Direct._offsets`: `zoneinfo`, the projection's one source).

Unlike the transactions, the rows are written before the batch's Python part, as if the appointments were
stored before the batch: the Python part then reads them as it reads stored appointments (the status the
payments of the batch are earned against; the uncategorised appointments a changed primary category
moves in the rollups, their groups counted first under the consultant's category as it was). No event of
the batch touches them otherwise (their aggregates have no other event in it, and `BLOCKING`)."""

from __future__ import annotations

from typing import Any

import duckdb
from eventsourcing.utils import get_topic

from domain.appointments import Appointment
from domain.catalogue import Category
from domain.privacy import Erasure
from reporting.rollups import add_staged, staged
from reporting.schema import TRACKING
from reporting.upcoming import NOT_LISTED

CREATED = get_topic(Appointment.Created)
BLOCKING = frozenset(get_topic(cls) for cls in (Category.Updated, Erasure.Recorded))
TABLE = "appointments"


def canonical(text: str, optional_text: str, flat: str, instant: str) -> str:
    """The form the transcoder writes an `Appointment.Created` in (see the module's rules)."""
    typed = rf'\{{"_type_":"datetime_iso","_data_":"{instant}"\}}'
    return "".join(
        [
            rf'\{{"timestamp":{typed},"originator_topic":"domain\.appointments:Appointment",',
            rf'"appointment_id":{optional_text},"consultant_id":{optional_text},"client_id":{optional_text},',
            rf'"start":{typed},"end":{typed},"status":{text},"expires_at":(?:null|{typed}),',
            rf'"fields":{flat},"created_by":{optional_text}\}}',
        ]
    )


FEE = r"-?(?:0|[1-9][0-9]{0,12})(?:\.[0-9]{1,2})?"  # as DuckDB's JSON prints it back (a float: shortest)
PATHS = [
    "$.timestamp._data_",
    "$.start._data_",
    "$.end._data_",
    "$.expires_at._data_",
    "$.consultant_id",
    "$.client_id",
    "$.status",
    "$.created_by",
    "$.fields.fee",
    "$.fields.category",
]
# `v` holds the JSON texts of PATHS: a string quoted (without escapes: its text is its value), null `null`


def _instant(index: int) -> str:
    return f"TRY_CAST(substr(v[{index}], 2, length(v[{index}]) - 8) AS TIMESTAMP)"  # without `"` and `+00:00"`


def _text(index: int) -> str:
    return f"CASE WHEN v[{index}] <> 'null' THEN substr(v[{index}], 2, length(v[{index}]) - 2) END"


STATES = """CREATE OR REPLACE {kind} TABLE {appointment_states} AS
    SELECT i, id, ok, types, CASE WHEN ok THEN json_extract(s, $3)::VARCHAR[] END AS v FROM (
        SELECT i, id, s, regexp_full_match(s, $4) AS ok, (length(s) - length(replace(s, '"_type_"', ''))) // 8 AS types
        FROM (SELECT unnest(states) AS s, unnest(ids) AS id, generate_subscripts(states, 1) AS i
              FROM (SELECT string_split($1, chr(10)) AS states, string_split($2, chr(10)) AS ids)))"""
EXTRACTED = f"""CREATE OR REPLACE {{kind}} TABLE {{appointment_rows}} AS
    SELECT i, id, {_text(5)} AS consultant_id, {_text(6)} AS client_id, {_text(7)} AS status,
           {_instant(2)} AS start_at, {_instant(3)} AS end_at, {_instant(1)} AS created_at,
           CASE WHEN v[9] IS NULL OR v[9] = 'null' THEN 0 ELSE TRY_CAST(v[9] AS DECIMAL(18, 2)) END AS fee,
           CASE WHEN starts_with(v[10], '"') THEN nullif({_text(10)}, '') END AS category, {_text(8)} AS created_by,
           types = 3 + (v[4] IS NOT NULL)::INTEGER
               AND (v[4] IS NULL OR {_instant(4)} IS NOT NULL)
               AND (v[9] IS NULL OR v[9] = 'null' OR regexp_full_match(v[9], $1))
               AND (v[10] IS NULL OR v[10] = 'null' OR starts_with(v[10], '"')) AS good
    FROM {{appointment_states}} WHERE ok"""
# the rows taken: valid, both local times known, named by no stored transaction
TAKEN = """CREATE OR REPLACE TEMP TABLE direct_appointments AS
    SELECT d.i, d.id, d.consultant_id, d.client_id, d.status, d.start_at, d.end_at,
           d.start_at + to_microseconds(s.micros) AS start_local, d.created_at,
           d.created_at + to_microseconds(c.micros) AS created_local, d.fee, d.category,
           NULL::VARCHAR AS client_name, NULL::VARCHAR AS consultant_name, d.created_by, false AS deleted
    FROM {appointment_rows} d
    JOIN direct_offsets c ON d.created_at >= c.since AND d.created_at < c.until
    JOIN direct_offsets s ON d.start_at >= s.since AND d.start_at < s.until
    WHERE d.good AND c.micros IS NOT NULL AND s.micros IS NOT NULL AND d.start_at IS NOT NULL
          AND d.end_at IS NOT NULL AND d.created_at IS NOT NULL AND d.fee IS NOT NULL
          AND d.id NOT IN (SELECT appointment_id FROM transactions WHERE appointment_id IN (
                               SELECT id FROM {appointment_rows}))"""
LEFT = "SELECT i FROM {appointment_states} WHERE i NOT IN (SELECT i FROM direct_appointments)"
BOUNDS = """SELECT least(min(created_at), min(start_at)), greatest(max(created_at), max(start_at))
            FROM {appointment_rows} WHERE good"""
LISTED = f"""NOT deleted AND status IS NOT NULL AND status NOT IN {NOT_LISTED}
             AND start_at >= (SELECT upcoming_since FROM reporting_tracking WHERE name = $1)"""


def extract(con: duckdb.DuckDBPyConnection, states: str, ids: str, form: str, names: dict[str, str]) -> Any:
    """Check the states (joined by newlines) and extract their columns into the tables `names` gives
    (reporting/direct.py `Names`); returns the span of their instants."""
    con.execute(STATES.format(**names), [states, ids, PATHS, form])
    con.execute(EXTRACTED.format(**names), [FEE])
    return con.execute(BOUNDS.format(**names)).fetchone()


def left(con: duckdb.DuckDBPyConnection, names: dict[str, str]) -> list[int]:
    """After the offsets are known (`direct_offsets`): the rows taken (`direct_appointments`), and the
    (1-based) positions of the states not taken."""
    con.execute(TAKEN.format(**names))
    return [i for (i,) in con.execute(LEFT.format(**names)).fetchall()]


def write(con: duckdb.DuckDBPyConnection, journal: bool) -> None:
    """In the batch's transaction, before its Python part: the rows taken, their rollup groups, the upcoming
    index (reporting/upcoming.py `replace`) and their keys in the journal (as reporting/snapshot.py `record`)."""
    table = staged(TABLE)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS FROM {TABLE} LIMIT 0")
    con.execute(f"INSERT INTO {table} SELECT * EXCLUDE (i) FROM direct_appointments ORDER BY i")
    con.execute("DROP TABLE direct_appointments")
    con.execute(f"INSERT INTO {TABLE} FROM {table}")
    add_staged(con, TABLE, journal)
    con.execute(f"INSERT INTO upcoming_appointments SELECT id, start_at FROM {table} WHERE {LISTED}", [TRACKING])
    con.execute(
        f"""INSERT INTO upcoming_soon SELECT id, start_at FROM {table} WHERE {LISTED}
               AND start_at < (SELECT upcoming_until FROM reporting_tracking WHERE name = $1)""",
        [TRACKING],
    )
    if journal:
        for name in (TABLE, "upcoming_appointments"):
            con.execute(f"INSERT INTO reporting_changes SELECT -1, '{name}', id FROM {table}")
    con.execute(f"DROP TABLE {table}")
