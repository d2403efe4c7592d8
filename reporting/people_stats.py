"""`GET /analytics/consultant` (contract §3.3/§3.4) and `GET /analytics/client[/:id]` (§4.1, §4.2), as
SQL over the reporting store. Earnings follow the one rule of CONTRACT.md (the `earned_payments` view)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import duckdb

from reporting.overview import activity, money_by_month, payout_summary, today_window
from reporting.periods import MONTH_NAMES, Period, clock_text, day_label, number, percent, rupees

PLACEHOLDER_AVATAR = "https://via.placeholder.com/40"
PLACEHOLDER_RATING = 4.5
RESPONSE_TIME_HOURS = 2
REBOOKING_DAYS = 30


def _stat(stat_id: str, title: str, value: str) -> dict[str, Any]:
    return {"id": stat_id, "title": title, "value": value, "delta": "+0%", "up": True}


def consultant_stats(
    con: duckdb.DuckDBPyConnection, consultant_id: str, period: Period, now: datetime, now_utc: datetime
) -> dict[str, Any]:
    window, today = period.window, today_window(now)
    completed_in_period, today_count, completed, booked = con.execute(
        """SELECT count(*) FILTER (WHERE status = 'Completed' AND start_local >= ? AND start_local < ?),
                  count(*) FILTER (WHERE counted AND status <> 'Cancelled' AND start_local >= ? AND start_local < ?),
                  count(*) FILTER (WHERE status = 'Completed'),
                  count(*) FILTER (WHERE status IN ('Completed', 'Upcoming'))
           FROM appointment_facts WHERE consultant_id = ?""",
        [window.start, window.end, today.start, today.end, consultant_id],
    ).fetchone() or (0, 0, 0, 0)
    active, inactive = con.execute(
        """SELECT count(*) FILTER (WHERE status = 'Active'), count(*) FILTER (WHERE status = 'Inactive')
           FROM client_consultants WHERE consultant_id = ?""",
        [consultant_id],
    ).fetchone() or (0, 0)
    trend = period.trend_months()
    earned = money_by_month(
        con, trend[0].start, max(trend[-1].end, window.end), "earned AND consultant_id = ?", [consultant_id]
    )
    period_revenue = sum(
        (values[2] or 0 for month, values in earned.items() if window.start.date() <= month < window.end.date()), 0
    )

    recent = []
    for row in con.execute(
        """SELECT a.id, coalesce(nullif(cl.name, ''), nullif(a.client_name, ''), 'Unknown Client'),
                      coalesce(nullif(cl.avatar, ''), ?), a.category_resolved, a.start_local, a.status
               FROM appointment_facts a LEFT JOIN clients cl ON cl.id = a.client_id
               WHERE a.consultant_id = ? AND a.counted AND a.start_local >= ? AND a.start_local < ?
               ORDER BY a.start_at DESC, a.id LIMIT 5""",
        [PLACEHOLDER_AVATAR, consultant_id, window.start, window.end],
    ).fetchall():
        recent.append(
            {
                "id": row[0],
                "name": row[1],
                "with": "You",
                "tag": row[3],
                "time": clock_text(row[4]),
                "date": day_label(row[4], now.date()),
                "status": row[5],
                "avatar": row[2],
            }
        )

    recent_clients, rebooked = con.execute(
        """WITH recent AS (SELECT client_id, status FROM appointment_facts
                           WHERE consultant_id = ? AND counted AND created_at >= ?)
           SELECT (SELECT count(DISTINCT client_id) FROM recent),
                  (SELECT count(*) FROM (SELECT client_id FROM recent WHERE status = 'Completed'
                                         GROUP BY client_id HAVING count(*) > 1))""",
        [consultant_id, now_utc - timedelta(days=REBOOKING_DAYS)],
    ).fetchone() or (0, 0)

    total_links = int(active) + int(inactive)
    return {
        "stats": [
            _stat("total", "Completed Appointments", str(completed_in_period)),
            _stat("today", "Today Appointments", str(today_count)),
            _stat("active", "Active Clients", str(active)),
            _stat("revenue", "Total Revenue", rupees(period_revenue)),
        ],
        "clientStats": {
            "total": total_links,
            "active": int(active),
            "inactive": int(inactive),
            "activePercent": percent(int(active), total_links),
            "inactivePercent": percent(int(inactive), total_links),
        },
        "recentAppointments": recent,
        "monthlyRevenueTrends": [
            {"name": MONTH_NAMES[w.start.month - 1], "revenue": number(earned.get(w.start.date(), (0, 0, 0))[2])}
            for w in trend
        ],
        "activityTrend": activity(con, period, "AND consultant_id = ?", [consultant_id]),
        "performance": {
            "sessionCompletion": percent(int(completed), int(booked)),
            "avgRating": PLACEHOLDER_RATING,
            "responseTime": RESPONSE_TIME_HOURS,
            "rebookingRate": percent(int(rebooked), int(recent_clients)),
        },
        "metrics": {
            "monthlyRevenue": number(period_revenue),
            "monthlyRevenueDelta": "+0%",
            "totalSessions": int(completed_in_period),
            "totalSessionsDelta": "+0%",
        },
        "payoutSummary": payout_summary(con, consultant_id),
    }


def ui_avatar(name: str) -> str:
    return f"https://ui-avatars.com/api/?name={quote(name)}&background=random"


def client_stats(con: duckdb.DuckDBPyConnection, client_id: str, period: Period, now: datetime) -> dict[str, Any]:
    window = period.window
    trend = period.trend_months()
    total, completed, upcoming = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE status = 'Completed'), count(*) FILTER (WHERE status = 'Upcoming')
           FROM appointment_facts WHERE client_id = ? AND status IN ('Upcoming', 'Completed')
                AND start_local >= ? AND start_local < ?""",
        [client_id, window.start, window.end],
    ).fetchone() or (0, 0, 0)
    recent = []
    for row in con.execute(
        """SELECT a.id, coalesce(nullif(c.name, ''), nullif(a.consultant_name, ''), 'Unknown Consultant'),
                      a.category_resolved, a.start_local, a.status
               FROM appointment_facts a LEFT JOIN consultants c ON c.id = a.consultant_id
               WHERE a.client_id = ? AND a.status IN ('Upcoming', 'Completed')
                     AND a.start_local >= ? AND a.start_local < ?
               ORDER BY a.start_at DESC, a.id LIMIT 5""",
        [client_id, window.start, window.end],
    ).fetchall():
        recent.append(
            {
                "id": row[0],
                "name": row[1],
                "with": "You",
                "tag": row[2],
                "time": clock_text(row[3]),
                "date": day_label(row[3], now.date()),
                "status": row[4],
                "avatar": ui_avatar(row[1]),
            }
        )
    spent = dict(
        con.execute(
            """SELECT CAST(date_trunc('month', created_local) AS DATE), sum(amount) FROM successful_payments
           WHERE user_id = ? AND created_local >= ? AND created_local < ? GROUP BY 1""",
            [client_id, trend[0].start, trend[-1].end],
        ).fetchall()
    )
    appointments = {
        row[0]: (row[1], row[2])
        for row in con.execute(
            """SELECT CAST(date_trunc('month', start_local) AS DATE), count(*), count(*) FILTER (WHERE status = 'Completed')
           FROM appointment_facts WHERE client_id = ? AND status IN ('Upcoming', 'Completed')
                AND start_local >= ? AND start_local < ? GROUP BY 1""",
            [client_id, trend[0].start, trend[-1].end],
        ).fetchall()
    }
    return {
        "stats": [
            _stat("total", "Total Appointments", str(total)),
            _stat("completed", "Completed Sessions", str(completed)),
            _stat("upcoming", "Upcoming Appointments", str(upcoming)),
        ],
        "recentAppointments": recent,
        "monthlySpendingTrends": [
            {"name": MONTH_NAMES[w.start.month - 1], "value": number(spent.get(w.start.date(), 0))} for w in trend
        ],
        "monthlyApptTrends": [
            {
                "name": MONTH_NAMES[w.start.month - 1],
                "total": int(appointments.get(w.start.date(), (0, 0))[0]),
                "completed": int(appointments.get(w.start.date(), (0, 0))[1]),
            }
            for w in trend
        ],
        "activityTrend": activity(con, period, "AND client_id = ?", [client_id]),
    }


def client_exists(con: duckdb.DuckDBPyConnection, client_id: str) -> bool:
    return con.execute("SELECT count(*) FROM clients WHERE id = ? AND NOT deleted", [client_id]).fetchone() != (0,)


def linked(con: duckdb.DuckDBPyConnection, client_id: str, consultant_id: str) -> bool:
    return con.execute(
        "SELECT count(*) FROM client_consultants WHERE client_id = ? AND consultant_id = ? AND status = 'Active'",
        [client_id, consultant_id],
    ).fetchone() != (0,)


def client_detail(
    con: duckdb.DuckDBPyConnection, client_id: str, consultant_id: str | None, now_utc: datetime
) -> dict[str, Any]:
    """All-time figures of one client; a consultant sees only its own appointments with that client."""
    where, params = ("AND a.consultant_id = ?", [consultant_id]) if consultant_id else ("", [])
    total, completed, upcoming = con.execute(
        f"""SELECT count(*) FILTER (WHERE status IN ('Upcoming', 'Completed')),
                   count(*) FILTER (WHERE status = 'Completed'),
                   count(*) FILTER (WHERE status = 'Upcoming' AND start_at >= ?)
            FROM appointment_facts a WHERE client_id = ? {where}""",
        [now_utc, client_id, *params],
    ).fetchone() or (0, 0, 0)
    link_where = "AND consultant_id = ?" if consultant_id else ""
    consultants = (
        con.execute(
            f"SELECT count(*) FROM client_consultants WHERE client_id = ? AND status = 'Active' {link_where}",
            [client_id, *params],
        ).fetchone()
        or (0,)
    )[0]
    recent = []
    for row in con.execute(
        f"""SELECT coalesce(nullif(c.name, ''), nullif(a.consultant_name, ''), 'Unknown Consultant'),
                       a.category_resolved, a.start_local, a.status
                FROM appointment_facts a LEFT JOIN consultants c ON c.id = a.consultant_id
                WHERE a.client_id = ? AND a.status = 'Upcoming' AND a.start_at >= ? {where}
                ORDER BY a.start_at, a.id LIMIT 5""",
        [client_id, now_utc, *params],
    ).fetchall():
        local: datetime = row[2]
        recent.append(
            {
                "name": row[0],
                "with": "You",
                "tag": row[1],
                "time": f"{MONTH_NAMES[local.month - 1]} {local.day}, {clock_text(local)}",
                "status": row[3],
                "avatar": ui_avatar(row[0]),
            }
        )
    return {
        "stats": [
            _stat("total", "Total Appointments", str(total)),
            _stat("completed", "Completed Sessions", str(completed)),
            _stat("upcoming", "Upcoming Appointments", str(upcoming)),
            _stat("consultants", "Active Consultants", str(consultants)),
        ],
        "recentAppointments": recent,
        "monthlySpendingTrends": [],
    }
