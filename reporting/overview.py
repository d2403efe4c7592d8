"""`GET /analytics/overview`: the admin platform overview (contract analytics §1.4/§1.5 as fixed by
CONTRACT.md), as SQL over the reporting store.

Decisions where the contract leaves room (documented in docs/REPORTING.md): holds (live or expired)
and deleted appointments are never counted; `recentAppointments` skips cancelled ones;
`topConsultants` is bounded to the period; ties sort by name."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import duckdb

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
# Category resolution in two steps, so the join with consultants runs on grouped rows only: group by
# the stored category (`cat`, unless empty or General) or, for appointments without one, by consultant
# (`cid`); then resolve `cid` groups to the consultant's primary category. Same rule as the
# `appointment_facts` view.
STORED = "nullif(nullif(category, ''), 'General')"
BY_STORED_CATEGORY = f"SELECT {STORED} AS cat, CASE WHEN {STORED} IS NULL THEN consultant_id END AS cid,"
RESOLVED = "coalesce(g.cat, nullif(c.primary_category, ''), 'General')"
RESOLVED_ROW = "coalesce(nullif(nullif(a.category, ''), 'General'), nullif(c.primary_category, ''), 'General')"


def money_by_month(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, where: str,
                   params: list[Any] | None = None) -> dict[date, tuple[Any, ...]]:
    """(amount, platform fee, net amount, count) per business month from the `transaction_months`
    rollup, for the transactions `where` selects (on kind, status, earned, consultant_id)."""
    rows = con.execute(
        f"""SELECT month, sum(amount), sum(platform_fee), sum(net_amount), sum(n) FROM transaction_months
            WHERE month >= ? AND month < ? AND {where} GROUP BY 1""",
        [start.date(), end.date(), *(params or [])]).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


SUCCESSFUL_PAYMENTS = "kind = 'Payment' AND status = 'Success'"


def sum_months(buckets: dict[date, tuple[Any, ...]], window: Window, column: int) -> Any:
    return sum((values[column] or 0 for month, values in buckets.items()
                if window.start.date() <= month < window.end.date()), 0)


def activity(con: duckdb.DuckDBPyConnection, period: Period, where: str, params: list[Any]) -> list[int]:
    """Upcoming and Completed appointments per month (yearly) or per day (monthly) of the period."""
    window = period.window
    unit = "month" if period.view == "yearly" else "day"
    rows = dict(con.execute(
        f"""SELECT CAST(date_trunc('{unit}', start_local) AS DATE), count(*) FROM appointments
            WHERE NOT deleted AND status IN ('Upcoming', 'Completed') AND start_local >= ? AND start_local < ? {where}
            GROUP BY 1""", [window.start, window.end, *params]).fetchall())
    return [int(rows.get(bucket.start.date(), 0)) for bucket in period.activity_buckets()]


def overview(con: duckdb.DuckDBPyConnection, period: Period, now: datetime, now_utc: datetime) -> dict[str, Any]:
    window, previous = period.window, period.previous
    trend = period.trend_months()
    consultants, appointments_total, clients = con.execute(
        """SELECT (SELECT count(*) FROM consultants WHERE NOT deleted AND status = 'Active'),
                  (SELECT count(*) FROM appointments WHERE NOT deleted AND status NOT IN ('Hold', 'Expired')),
                  (SELECT count(*) FROM clients WHERE NOT deleted AND status = 'Active')""").fetchone() or (0, 0, 0)

    lo = min(period.previous_year.start, trend[0].start, previous.start)
    hi = max(period.year_window.end, window.end)
    money = money_by_month(con, lo, hi, SUCCESSFUL_PAYMENTS)
    gmv, fee, net, count = (sum_months(money, window, c) for c in range(4))
    previous_gmv, previous_fee = sum_months(money, previous, 0), sum_months(money, previous, 1)
    year = period.year_window
    yearly_gmv, yearly_fee, yearly_net = (sum_months(money, year, c) for c in range(3))
    previous_year_fee = sum_months(money, period.previous_year, 1)

    appointments_by_month = {row[0]: row[1] for row in con.execute(
        """SELECT CAST(date_trunc('month', start_local) AS DATE), count(*) FROM appointments
           WHERE NOT deleted AND status NOT IN ('Hold', 'Expired') AND start_local >= ? AND start_local < ?
           GROUP BY 1""", [trend[0].start, trend[-1].end]).fetchall()}
    ends = [w.end for w in trend]
    counts = ", ".join(f"count(*) FILTER (WHERE created_local < ${i + 1})" for i in range(len(ends)))
    made_consultants = con.execute(f"SELECT {counts} FROM consultants WHERE NOT deleted", ends).fetchone() or ()
    made_clients = con.execute(f"SELECT {counts} FROM clients WHERE NOT deleted", ends).fetchone() or ()
    accounts_by_end = {end: (made_consultants[i], made_clients[i]) for i, end in enumerate(ends)}
    monthly_trends = []
    for bucket in trend:
        values = money.get(bucket.start.date(), (0, 0, 0, 0))
        made = accounts_by_end.get(bucket.end, (0, 0))
        monthly_trends.append({
            "name": MONTH_NAMES[bucket.start.month - 1], "gmv": number(values[0]), "revenue": number(values[1]),
            "consultantPayouts": number(values[2]), "appt": int(appointments_by_month.get(bucket.start.date(), 0)),
            "consultants": int(made[0]), "clients": int(made[1])})

    top_categories = [
        {"title": title, "appointmentCount": int(n), "monthlyRevenue": 0, "consultants": 0, "clients": 0,
         "rating": PLACEHOLDER_RATING}
        for title, n in con.execute(
            f"""WITH grouped AS ({BY_STORED_CATEGORY} count(*) AS n FROM appointments
                                 WHERE NOT deleted AND status NOT IN ('Cancelled', 'Hold', 'Expired') GROUP BY 1, 2)
                SELECT {RESOLVED} AS title, sum(n) AS total FROM grouped g LEFT JOIN consultants c ON c.id = g.cid
                GROUP BY 1 ORDER BY total DESC, 1 LIMIT 5""").fetchall()]

    recent = []
    for row in con.execute(
            f"""WITH next AS (SELECT id, client_id, consultant_id, client_name, consultant_name, category, start_local,
                                     start_at, status FROM appointments
                              WHERE NOT deleted AND status NOT IN ('Hold', 'Expired', 'Cancelled') AND start_at >= ?
                              ORDER BY start_at, id LIMIT 5)
                SELECT a.id, coalesce(nullif(a.client_name, ''), nullif(cl.name, ''), 'Unknown Client'),
                       coalesce(nullif(a.consultant_name, ''), nullif(c.name, ''), 'Unknown Consultant'),
                       {RESOLVED_ROW}, a.start_local, a.start_at, a.status
                FROM next a LEFT JOIN clients cl ON cl.id = a.client_id
                     LEFT JOIN consultants c ON c.id = a.consultant_id
                ORDER BY a.start_at, a.id""", [now_utc]).fetchall():
        recent.append({"_id": row[0], "client": row[1], "consultant": row[2], "category": row[3],
                       "date": row[4].date().isoformat(), "time": clock_text(row[4]), "startAt": iso_utc(row[5]),
                       "status": row[6]})

    performance = []
    for name, revenue, sessions, last in con.execute(
            f"""WITH grouped AS ({BY_STORED_CATEGORY}
                        coalesce(sum(fee) FILTER (WHERE status = 'Completed' AND start_local >= $p0), 0) AS revenue,
                        count(*) FILTER (WHERE status = 'Completed' AND start_local >= $p0) AS sessions,
                        coalesce(sum(fee) FILTER (WHERE status = 'Completed' AND start_local < $p0), 0) AS last
                    FROM appointments
                    WHERE NOT deleted AND status IN ('Completed', 'Upcoming') AND start_local >= $q0
                          AND start_local < $p1
                    GROUP BY 1, 2)
                SELECT {RESOLVED} AS name, sum(revenue), sum(sessions), sum(last)
                FROM grouped g LEFT JOIN consultants c ON c.id = g.cid GROUP BY 1""",
            {"p0": window.start, "p1": window.end, "q0": previous.start}).fetchall():
        performance.append({"name": name, "revenue": number(revenue), "sessions": int(sessions),
                            "rate": f"\u20b9{js_round(float(revenue) / sessions) if sessions else 0}/hr avg",
                            "growth": category_growth(revenue, last)})
    performance.sort(key=lambda item: (-item["revenue"], item["name"]))

    top_consultants = [
        {"rank": rank, "name": name, "category": category, "rating": PLACEHOLDER_RATING, "sessions": int(sessions),
         "revenue": number(revenue)}
        for rank, (_, name, category, revenue, sessions) in enumerate(con.execute(
            """WITH per AS (SELECT consultant_id, sum(fee) AS revenue, count(*) AS sessions FROM appointments
                            WHERE NOT deleted AND status = 'Completed' AND start_local >= ? AND start_local < ?
                            GROUP BY 1)
               SELECT per.consultant_id, coalesce(nullif(c.name, ''), 'Unknown Consultant') AS name,
                      coalesce(nullif(c.primary_category, ''), nullif(c.primary_subcategory, ''), 'General'),
                      per.revenue, per.sessions
               FROM per LEFT JOIN consultants c ON c.id = per.consultant_id
               ORDER BY per.revenue DESC, per.sessions DESC, name, per.consultant_id LIMIT 5""",
            [window.start, window.end]).fetchall(), start=1)]

    return {
        "cards": {"totalConsultants": int(consultants), "totalAppointments": int(appointments_total),
                  "activeClients": int(clients), "monthlyRevenue": number(fee)},
        "revenueBreakdown": {
            "monthlyGmv": number(gmv), "monthlyPlatformRevenue": number(fee), "monthlyConsultantPayouts": number(net),
            "monthlyTransactions": int(count), "monthlyGmvGrowth": growth(gmv, previous_gmv),
            "monthlyPlatformGrowth": growth(fee, previous_fee), "yearlyGmv": number(yearly_gmv),
            "yearlyPlatformRevenue": number(yearly_fee), "yearlyConsultantPayouts": number(yearly_net),
            "yoyGrowth": growth(yearly_fee, previous_year_fee)},
        "topCategories": top_categories,
        "recentAppointments": recent,
        "monthlyTrends": monthly_trends,
        "categoryPerformance": performance,
        "topConsultants": top_consultants,
        "activityTrend": activity(con, period, "", []),
        "payoutSummary": payout_summary(con, None),
    }


def payout_summary(con: duckdb.DuckDBPyConnection, consultant_id: str | None) -> dict[str, int | float]:
    """All-time earnings (the one rule), successful payouts and their difference, from the rollup."""
    where, params = ("WHERE consultant_id = ?", [consultant_id]) if consultant_id else ("", [])
    earned, paid = con.execute(
        f"""SELECT coalesce(sum(net_amount) FILTER (WHERE earned), 0),
                   coalesce(sum(amount) FILTER (WHERE kind = 'Payout' AND status = 'Success'), 0)
            FROM transaction_months {where}""", params).fetchone() or (0, 0)
    return {"totalEarnings": number(earned), "totalPaidOut": number(paid), "remainingBalance": number(earned - paid)}


def today_window(now: datetime) -> Window:
    start = datetime(now.year, now.month, now.day)
    return Window(start, start + timedelta(days=1))
