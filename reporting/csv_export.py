"""CSV exports of the overview (contract §2.2) and of consultant stats (§3.5), written from the same
payload as the JSON answer: RFC 4180 quoting (Python's csv module), `\\n` line ends, no trailing
newline. Cells of user-supplied text (names, titles, categories) that start with a formula character,
also after leading whitespace, get a leading apostrophe; computed strings (`+20%`, `₹12,750`) and numbers are written as they are."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from reporting.periods import js_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def user_text(value: Any) -> str:
    """Spreadsheets skip leading whitespace before they look for a formula, so `  =1` is one too."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) or text.lstrip().startswith(FORMULA_STARTS) else text


def _render(rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([js_text(cell) for cell in row])
    return buffer.getvalue().removesuffix("\n")


def overview_csv(data: dict[str, Any]) -> str:
    cards, revenue, payout = data["cards"], data["revenueBreakdown"], data["payoutSummary"]
    rows: list[list[Any]] = [
        ["Section", "Metric", "Value"],
        ["Cards", "Total Consultants", cards["totalConsultants"]],
        ["Cards", "Total Appointments", cards["totalAppointments"]],
        ["Cards", "Active Clients", cards["activeClients"]],
        ["Cards", "Monthly Revenue", cards["monthlyRevenue"]],
        ["Revenue", "Monthly GMV", revenue["monthlyGmv"]],
        ["Revenue", "Platform Revenue", revenue["monthlyPlatformRevenue"]],
        ["Revenue", "Consultant Payouts", revenue["monthlyConsultantPayouts"]],
        ["Revenue", "Transactions", revenue["monthlyTransactions"]],
        ["Revenue", "Monthly GMV Growth", revenue["monthlyGmvGrowth"]],
        ["Revenue", "Yearly GMV", revenue["yearlyGmv"]],
        ["Revenue", "YoY Growth", revenue["yoyGrowth"]],
        ["Payout", "Total Consultant Earnings", payout["totalEarnings"]],
        ["Payout", "Total Paid Out", payout["totalPaidOut"]],
        ["Payout", "Remaining Balance", payout["remainingBalance"]],
        [],
        ["Monthly Trends", "Month", "GMV", "Appointments"],
        *(["Trend", t["name"], t["gmv"], t["appt"]] for t in data["monthlyTrends"]),
        [],
        ["Category Performance", "Category", "Revenue", "Sessions", "Growth"],
        *(
            ["Category", user_text(c["name"]), c["revenue"], c["sessions"], c["growth"]]
            for c in data["categoryPerformance"]
        ),
        [],
        ["Top Consultants", "Rank", "Name", "Category", "Rating", "Sessions", "Revenue"],
        *(
            [
                "Consultant",
                c["rank"],
                user_text(c["name"]),
                user_text(c["category"]),
                c["rating"],
                c["sessions"],
                c["revenue"],
            ]
            for c in data["topConsultants"]
        ),
    ]
    return _render(rows)


def consultant_csv(data: dict[str, Any]) -> str:
    performance, metrics, payout = data["performance"], data["metrics"], data["payoutSummary"]
    rows: list[list[Any]] = [
        ["Section", "Metric", "Value"],
        *(["Stats", stat["title"], stat["value"]] for stat in data["stats"]),
        ["Performance", "Session Completion", f"{js_text(performance['sessionCompletion'])}%"],
        ["Performance", "Avg Rating", performance["avgRating"]],
        ["Performance", "Response Time", f"{js_text(performance['responseTime'])} hrs"],
        ["Performance", "Rebooking Rate", f"{js_text(performance['rebookingRate'])}%"],
        ["Metrics", "Monthly Revenue", metrics["monthlyRevenue"]],
        ["Metrics", "Total Sessions", metrics["totalSessions"]],
        ["Payout", "Total Earnings", payout["totalEarnings"]],
        ["Payout", "Total Paid Out", payout["totalPaidOut"]],
        ["Payout", "Remaining Balance", payout["remainingBalance"]],
        [],
        ["Monthly Revenue Trends", "Month", "Revenue"],
        *(["Trend", t["name"], t["revenue"]] for t in data["monthlyRevenueTrends"]),
    ]
    return _render(rows)
