"""`GET /analytics/overview`: the admin platform overview (contract analytics §1.4/§1.5 as fixed by
CONTRACT.md), as SQL over the reporting store.

Every figure but `recentAppointments` comes from the rollups the projection keeps
(reporting/rollups.py: `account_months`, `platform_months`, `appointment_days`, and `appointment_months`
or `appointment_years` for `topConsultants`), each read once, and the rest is done in Python on those few hundred rows: DuckDB's fixed cost per
statement (about 0.5 ms to parse, bind and optimise) is a large share of an overview. One statement with
a scalar subquery per part was tried and dropped: DuckDB took far longer to plan it than to run the
parts. `recentAppointments` reads the index of upcoming appointments (reporting/upcoming.py).
Calendar windows are whole local days, months or years, so `start_local >= start` is `day >= start`.

Decisions where the contract leaves room (documented in docs/REPORTING.md): holds (live or expired)
and deleted appointments are never counted; `recentAppointments` skips cancelled ones;
`topConsultants` is bounded to the period; ties sort by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from reporting import upcoming
from reporting.periods import (
    MONTH_NAMES,
    Period,
    Window,
    category_growth,
    clock_text,
    growth,
    iso_utc,
    js_round,
    number,
)

PLACEHOLDER_RATING = 4.5
NOT_COUNTED = ("Hold", "Expired")  # holds, live or lapsed, are in no appointment figure
NOT_BOOKED = ("Cancelled", *NOT_COUNTED)
SESSIONS = ("Completed", "Upcoming")  # the statuses of `activityTrend` and of `categoryPerformance`'s list


def payout_sql(table: str, where: str = "") -> str:
    """All-time earnings (the one rule) and successful payouts from a money rollup."""
    return f"""SELECT coalesce(sum(net_amount) FILTER (WHERE earned), 0),
                      coalesce(sum(amount) FILTER (WHERE kind = 'Payout' AND status = 'Success'), 0)
               FROM {table} {where}"""


def _people(con: duckdb.DuckDBPyConnection, trend: list[Window]) -> dict[str, tuple[int, list[int]]]:
    """Per kind (`consultant`, `client`): the Active accounts, and those registered before each trend
    month ends (trend months end on the first of a month)."""
    out = {kind: (0, [0] * len(trend)) for kind in ("consultant", "client")}
    for month, kind, status, n in con.execute("SELECT month, kind, status, n FROM account_months").fetchall():
        active, made = out[kind]
        out[kind] = (
            active + n if status == "Active" else active,
            [count + n if month < bucket.end.date() else count for count, bucket in zip(made, trend, strict=True)],
        )
    return out


@dataclass
class Money:
    """Successful payments per business month (GMV, platform fee, consultants' share, count) and the
    all-time payout figures, from one pass over `platform_months`."""

    months: dict[date, tuple[Any, Any, Any, int]]
    earned: Any
    paid: Any

    def total(self, window: Window, column: int) -> Any:
        return sum(
            (
                values[column] or 0
                for month, values in self.months.items()
                if window.start.date() <= month < window.end.date()
            ),
            0,
        )

    def month(self, bucket: Window) -> tuple[Any, Any, Any, int]:
        return self.months.get(bucket.start.date(), (0, 0, 0, 0))


def _money(con: duckdb.DuckDBPyConnection) -> Money:
    paid_in = "kind = 'Payment' AND status = 'Success'"
    rows = con.execute(
        f"""SELECT month, sum(amount) FILTER (WHERE {paid_in}), sum(platform_fee) FILTER (WHERE {paid_in}),
                   sum(net_amount) FILTER (WHERE {paid_in}), coalesce(sum(n) FILTER (WHERE {paid_in}), 0),
                   coalesce(sum(net_amount) FILTER (WHERE earned), 0),
                   coalesce(sum(amount) FILTER (WHERE kind = 'Payout' AND status = 'Success'), 0)
            FROM platform_months GROUP BY 1"""
    ).fetchall()
    return Money({row[0]: row[1:5] for row in rows}, sum((row[5] for row in rows), 0), sum((row[6] for row in rows), 0))


@dataclass
class Sessions:
    """Appointment counts and gross fees by business month of the months asked for, status and resolved
    category (from `appointment_days`), and all-time by status and category (from `appointment_totals`)."""

    rows: list[tuple[date, str, str, int, Any]]
    totals: list[tuple[str, str, int]]

    def count(self, statuses: Callable[[str], bool], window: Window | None = None) -> int:
        """The appointments whose status `statuses` accepts, all-time or in the months of `window`."""
        if window is None:
            return sum(n for status, _, n in self.totals if statuses(status))
        return sum(n for month, status, _, n, _ in self.rows if statuses(status) and _inside(month, window))

    def top_categories(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for status, category, n in self.totals:
            if status not in NOT_BOOKED:
                counts[category] = counts.get(category, 0) + n
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]

    def performance(self, window: Window, previous: Window) -> dict[str, list[Any]]:
        """Per category with a Completed or Upcoming appointment in the previous period or this one:
        [revenue, sessions] of the Completed ones of this period, revenue of the previous period."""
        out: dict[str, list[Any]] = {}
        for month, status, category, n, fee in self.rows:
            if status not in SESSIONS or not (_inside(month, previous) or _inside(month, window)):
                continue
            entry = out.setdefault(category, [0, 0, 0])
            if status == "Completed" and _inside(month, window):
                entry[0] += fee
                entry[1] += n
            elif status == "Completed":
                entry[2] += fee
        return out


def counted(status: str) -> bool:
    return status not in NOT_COUNTED


def _inside(month: date | None, window: Window) -> bool:
    return month is not None and window.start.date() <= month < window.end.date()


def _sessions(con: duckdb.DuckDBPyConnection, months: Window) -> Sessions:
    """The days of `months` only (`appointment_days` is kept in day order: reporting/clustering.py), and
    the all-time totals, in one statement (a NULL month marks a total)."""
    rows = con.execute(
        """SELECT CAST(date_trunc('month', day) AS DATE), status, category, sum(n), sum(fee)
           FROM appointment_days WHERE day >= $1 AND day < $2 GROUP BY ALL
           UNION ALL SELECT NULL, status, category, n, fee FROM appointment_totals""",
        [months.start.date(), months.end.date()],
    ).fetchall()
    return Sessions(
        [row for row in rows if row[0] is not None],
        [(status, category, n) for month, status, category, n, _ in rows if month is None],
    )


def _daily_activity(con: duckdb.DuckDBPyConnection, window: Window) -> dict[date, int]:
    return dict(
        con.execute(
            """SELECT day, sum(n) FROM appointment_days WHERE status IN ('Completed', 'Upcoming') AND day >= $1 AND day < $2
           GROUP BY 1""",
            [window.start.date(), window.end.date()],
        ).fetchall()
    )


# The window of `topConsultants` is one month or one year: its rollup has one row per consultant and status
# in it, so the ranking ranks those rows (no grouping) in one statement: every row ranked among the first
# five on (revenue, sessions), so a tie across the cut comes whole and names decide it here, and only the
# ranked consultants are looked up. The rollups are kept in order of their period (reporting/clustering.py),
# so DuckDB's zone maps skip the row groups of other periods.
TOP_RANKED = """SELECT consultant_id, fee, n FROM {table} WHERE status = 'Completed' AND {key} = $1
                QUALIFY rank() OVER (ORDER BY fee DESC, n DESC) <= {top}"""
CONSULTANT_NAMES = """
    SELECT id, coalesce(nullif(name, ''), 'Unknown Consultant'),
           coalesce(nullif(primary_category, ''), nullif(primary_subcategory, ''), 'General')
    FROM consultants WHERE id IN (SELECT unnest($1::VARCHAR[]))"""
UNKNOWN_CONSULTANT = ("Unknown Consultant", "General")
TOP = 5


def top_consultants(con: duckdb.DuckDBPyConnection, period: Period) -> list[tuple[str, str, Any, int]]:
    """(name, category, revenue, sessions) of the five consultants with the most revenue from Completed
    appointments in the period's window, then the most sessions, then by name and id."""
    table, key = ("appointment_years", "year") if period.view == "yearly" else ("appointment_months", "month")
    rows = con.execute(TOP_RANKED.format(table=table, key=key, top=TOP), [period.window.start.date()]).fetchall()
    names = {row[0]: row[1:] for row in con.execute(CONSULTANT_NAMES, [[row[0] for row in rows]]).fetchall()}
    ranking = [(*names.get(cid, UNKNOWN_CONSULTANT), fee, n, cid) for cid, fee, n in rows]
    ranking.sort(key=lambda row: (-row[2], -row[3], row[0], row[4]))
    return [row[:4] for row in ranking[:TOP]]


# The next five listable appointments from now ($1): from the index of upcoming appointments when
# now >= its upcoming_since (reporting/upcoming.py), else from every appointment; the same answer. From
# the index, its first part (`upcoming_soon`) answers when it holds five from now on.
FROM_APPOINTMENTS = """
    SELECT id, client_id, consultant_id, client_name, consultant_name, category, start_local, start_at, status
    FROM appointments WHERE NOT deleted AND status NOT IN ('Hold', 'Expired', 'Cancelled') AND start_at >= $1
    ORDER BY start_at, id LIMIT 5"""
FROM_UPCOMING = """
    SELECT a.id, a.client_id, a.consultant_id, a.client_name, a.consultant_name, a.category, a.start_local,
           a.start_at, a.status
    FROM (SELECT id FROM {index} WHERE start_at >= $1 ORDER BY start_at, id LIMIT 5) u
    JOIN appointments a ON a.id = u.id"""
RECENT = """
    SELECT a.id, coalesce(nullif(a.client_name, ''), nullif(cl.name, ''), 'Unknown Client'),
           coalesce(nullif(a.consultant_name, ''), nullif(c.name, ''), 'Unknown Consultant'),
           coalesce(nullif(nullif(a.category, ''), 'General'), nullif(c.primary_category, ''), 'General'),
           a.start_local, a.start_at, a.status
    FROM ({source}) a LEFT JOIN clients cl ON cl.id = a.client_id LEFT JOIN consultants c ON c.id = a.consultant_id
    ORDER BY a.start_at, a.id"""


def recent_appointments(
    con: duckdb.DuckDBPyConnection, now_utc: datetime, indexed: bool | None = None
) -> list[tuple[Any, ...]]:
    """`indexed` forces a source (tests compare both); by default the index whenever it covers now."""
    since, bounded = upcoming.bounds(con)
    if indexed is None:
        indexed = now_utc >= since
    if not indexed:
        return con.execute(RECENT.format(source=FROM_APPOINTMENTS), [now_utc]).fetchall()
    rows = con.execute(RECENT.format(source=FROM_UPCOMING.format(index="upcoming_soon")), [now_utc]).fetchall()
    if len(rows) < 5 and bounded:  # fewer than five before upcoming_until: the rest of the index decides
        rows = con.execute(
            RECENT.format(source=FROM_UPCOMING.format(index="upcoming_appointments")), [now_utc]
        ).fetchall()
    return rows


def overview(con: duckdb.DuckDBPyConnection, period: Period, now: datetime, now_utc: datetime) -> dict[str, Any]:
    window, previous, year = period.window, period.previous, period.year_window
    trend = period.trend_months()
    people = _people(con, trend)
    money = _money(con)
    months = Window(min(trend[0].start, previous.start), max(trend[-1].end, window.end))
    sessions = _sessions(con, months)
    if period.view == "yearly":
        activity = [sessions.count(SESSIONS.__contains__, bucket) for bucket in period.activity_buckets()]
    else:
        daily = _daily_activity(con, window)
        activity = [int(daily.get(bucket.start.date(), 0)) for bucket in period.activity_buckets()]
    gmv, fee, net, count = (money.total(window, column) for column in range(4))
    monthly_trends = []
    for index, bucket in enumerate(trend):
        values = money.month(bucket)
        monthly_trends.append(
            {
                "name": MONTH_NAMES[bucket.start.month - 1],
                "gmv": number(values[0]),
                "revenue": number(values[1]),
                "consultantPayouts": number(values[2]),
                "appt": sessions.count(counted, bucket),
                "consultants": people["consultant"][1][index],
                "clients": people["client"][1][index],
            }
        )
    performance = [
        {
            "name": name,
            "revenue": number(revenue),
            "sessions": int(done),
            "rate": f"\u20b9{js_round(float(revenue) / done) if done else 0}/hr avg",
            "growth": category_growth(revenue, last),
        }
        for name, (revenue, done, last) in sessions.performance(window, previous).items()
    ]
    performance.sort(key=lambda item: (-item["revenue"], item["name"]))
    recent = recent_appointments(con, now_utc)
    return {
        "cards": {
            "totalConsultants": people["consultant"][0],
            "totalAppointments": sessions.count(counted),
            "activeClients": people["client"][0],
            "monthlyRevenue": number(fee),
        },
        "revenueBreakdown": {
            "monthlyGmv": number(gmv),
            "monthlyPlatformRevenue": number(fee),
            "monthlyConsultantPayouts": number(net),
            "monthlyTransactions": int(count),
            "monthlyGmvGrowth": growth(gmv, money.total(previous, 0)),
            "monthlyPlatformGrowth": growth(fee, money.total(previous, 1)),
            "yearlyGmv": number(money.total(year, 0)),
            "yearlyPlatformRevenue": number(money.total(year, 1)),
            "yearlyConsultantPayouts": number(money.total(year, 2)),
            "yoyGrowth": growth(money.total(year, 1), money.total(period.previous_year, 1)),
        },
        "topCategories": [
            {
                "title": title,
                "appointmentCount": n,
                "monthlyRevenue": 0,
                "consultants": 0,
                "clients": 0,
                "rating": PLACEHOLDER_RATING,
            }
            for title, n in sessions.top_categories()
        ],
        "recentAppointments": [
            {
                "_id": row[0],
                "client": row[1],
                "consultant": row[2],
                "category": row[3],
                "date": row[4].date().isoformat(),
                "time": clock_text(row[4]),
                "startAt": iso_utc(row[5]),
                "status": row[6],
            }
            for row in recent
        ],
        "monthlyTrends": monthly_trends,
        "categoryPerformance": performance,
        "topConsultants": [
            {
                "rank": rank,
                "name": name,
                "category": category,
                "rating": PLACEHOLDER_RATING,
                "sessions": int(done),
                "revenue": number(revenue),
            }
            for rank, (name, category, revenue, done) in enumerate(top_consultants(con, period), start=1)
        ],
        "activityTrend": activity,
        "payoutSummary": payout_view(money.earned, money.paid),
    }


def payout_view(earned: Any, paid: Any) -> dict[str, int | float]:
    return {"totalEarnings": number(earned), "totalPaidOut": number(paid), "remainingBalance": number(earned - paid)}


def payout_summary(con: duckdb.DuckDBPyConnection, consultant_id: str) -> dict[str, int | float]:
    """One consultant's all-time earnings, successful payouts and their difference, from the rollup."""
    earned, paid = con.execute(
        payout_sql("transaction_months", "WHERE consultant_id = ?"), [consultant_id]
    ).fetchone() or (0, 0)
    return payout_view(earned, paid)


def money_by_month(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, where: str, params: list[Any] | None = None
) -> dict[date, tuple[Any, ...]]:
    """(amount, platform fee, net amount, count) per business month from the `transaction_months`
    rollup, for the transactions `where` selects (on kind, status, earned, consultant_id)."""
    rows = con.execute(
        f"""SELECT month, sum(amount), sum(platform_fee), sum(net_amount), sum(n) FROM transaction_months
            WHERE month >= ? AND month < ? AND {where} GROUP BY 1""",
        [start.date(), end.date(), *(params or [])],
    ).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def activity(con: duckdb.DuckDBPyConnection, period: Period, where: str, params: list[Any]) -> list[int]:
    """Upcoming and Completed appointments per month (yearly) or per day (monthly) of the period."""
    window = period.window
    unit = "month" if period.view == "yearly" else "day"
    rows = dict(
        con.execute(
            f"""SELECT CAST(date_trunc('{unit}', start_local) AS DATE), count(*) FROM appointments
            WHERE NOT deleted AND status IN ('Upcoming', 'Completed') AND start_local >= ? AND start_local < ? {where}
            GROUP BY 1""",
            [window.start, window.end, *params],
        ).fetchall()
    )
    return [int(rows.get(bucket.start.date(), 0)) for bucket in period.activity_buckets()]


def today_window(now: datetime) -> Window:
    start = datetime(now.year, now.month, now.day)
    return Window(start, start + timedelta(days=1))
