"""Golden tests of the analytics routes: a scripted history (tests/analytics_history.py) whose
expected figures, for every field and both view types, are computed from the script in plain
Python; the CSV exports parsed back with `csv` carry the same numbers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests import analytics_history as history
from tests.conftest import bearer, create_admin

API = "/api/v1/analytics"
PERIODS = [("monthly", 2025, 6), ("monthly", 2025, 1), ("monthly", 2024, 12), ("yearly", 2025, 6), ("yearly", 2024, 6)]


@pytest.fixture
def scripted(api: Any) -> dict[str, Any]:
    admin = bearer(create_admin(api))
    container = api.app.state.container
    history.script(container)
    container.analytics.clock = lambda: history.NOW
    return {"admin": admin, "container": container}


def get(api: Any, path: str, headers: dict[str, str], **params: Any) -> Any:
    reply = api.get(API + path, headers=headers, params=params)
    assert reply.status_code == 200, reply.text
    return reply


def test_every_field_of_every_answer_matches_the_script(api: Any, scripted: dict[str, Any]) -> None:
    for view, year, month in PERIODS:
        params = {"viewType": view, "year": year, "month": month}
        data = get(api, "/overview", scripted["admin"], **params).json()["data"]
        expected = history.expected_overview(view, year, month)
        for key, value in expected.items():
            assert data[key] == value, (view, year, month, key)
        assert list(data) == list(expected)  # key order of §1.4
        for person in history.CONSULTANTS:
            mine = get(api, "/consultant", bearer(person.token), **params).json()["data"]
            assert mine == history.expected_consultant(person.key, view, year, month), (person.key, view, year, month)


def test_the_history_is_not_trivial(api: Any, scripted: dict[str, Any]) -> None:
    """Guards the script itself: each rule it exercises changes a number."""
    june = history.expected_overview("monthly", 2025, 6)
    assert june["revenueBreakdown"]["monthlyGmv"] > 0 and june["payoutSummary"]["totalPaidOut"] == 2300
    jan = history.expected_overview("monthly", 2025, 1)
    assert jan["revenueBreakdown"]["monthlyTransactions"] == 2  # the 00:15 IST payment falls in January
    assert {c["name"] for c in june["categoryPerformance"]} >= {"Legal", "Finance", "Health"}


def safe(text: str) -> str:
    return "'" + text if text[:1] in "=+-@" else text


def parse(text: str) -> list[list[str]]:
    assert not text.endswith("\n") and "\r" not in text
    return list(csv.reader(io.StringIO(text)))


def number_text(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def test_csv_exports_carry_the_numbers_of_the_json(api: Any, scripted: dict[str, Any]) -> None:
    for view, year, month in PERIODS:
        params = {"viewType": view, "year": year, "month": month}
        reply = get(api, "/overview", scripted["admin"], format="csv", **params)
        assert reply.headers["content-type"] == "text/csv; charset=utf-8"
        name = f"analytics-overview-{year}.csv" if view == "yearly" else f"analytics-overview-{year}-{month:02d}.csv"
        assert reply.headers["content-disposition"] == f'attachment; filename="{name}"'
        rows = parse(reply.text)
        e = history.expected_overview(view, year, month)
        cards, rev, pay = e["cards"], e["revenueBreakdown"], e["payoutSummary"]
        head = [
            ["Section", "Metric", "Value"],
            ["Cards", "Total Consultants", str(cards["totalConsultants"])],
            ["Cards", "Total Appointments", str(cards["totalAppointments"])],
            ["Cards", "Active Clients", str(cards["activeClients"])],
            ["Cards", "Monthly Revenue", number_text(cards["monthlyRevenue"])],
            ["Revenue", "Monthly GMV", number_text(rev["monthlyGmv"])],
            ["Revenue", "Platform Revenue", number_text(rev["monthlyPlatformRevenue"])],
            ["Revenue", "Consultant Payouts", number_text(rev["monthlyConsultantPayouts"])],
            ["Revenue", "Transactions", str(rev["monthlyTransactions"])],
            ["Revenue", "Monthly GMV Growth", rev["monthlyGmvGrowth"]],
            ["Revenue", "Yearly GMV", number_text(rev["yearlyGmv"])],
            ["Revenue", "YoY Growth", rev["yoyGrowth"]],
            ["Payout", "Total Consultant Earnings", number_text(pay["totalEarnings"])],
            ["Payout", "Total Paid Out", number_text(pay["totalPaidOut"])],
            ["Payout", "Remaining Balance", number_text(pay["remainingBalance"])],
            [],
        ]
        trends = [
            ["Monthly Trends", "Month", "GMV", "Appointments"],
            *(["Trend", t["name"], number_text(t["gmv"]), str(t["appt"])] for t in e["monthlyTrends"]),
            [],
        ]
        categories = [
            ["Category Performance", "Category", "Revenue", "Sessions", "Growth"],
            *(
                ["Category", safe(c["name"]), number_text(c["revenue"]), str(c["sessions"]), c["growth"]]
                for c in e["categoryPerformance"]
            ),
            [],
        ]
        consultants = [
            ["Top Consultants", "Rank", "Name", "Category", "Rating", "Sessions", "Revenue"],
            *(
                [
                    "Consultant",
                    str(c["rank"]),
                    safe(c["name"]),
                    safe(c["category"]),
                    "4.5",
                    str(c["sessions"]),
                    number_text(c["revenue"]),
                ]
                for c in e["topConsultants"]
            ),
        ]
        assert rows == head + trends + categories + consultants, (view, year, month)

        for person in history.CONSULTANTS:
            reply = get(api, "/consultant", bearer(person.token), format="csv", **params)
            name = (
                f"consultant-analytics-{year}.csv"
                if view == "yearly"
                else f"consultant-analytics-{year}-{month:02d}.csv"
            )
            assert reply.headers["content-disposition"] == f'attachment; filename="{name}"'
            c = history.expected_consultant(person.key, view, year, month)
            perf, metrics, pay = c["performance"], c["metrics"], c["payoutSummary"]
            assert parse(reply.text) == [
                ["Section", "Metric", "Value"],
                *(["Stats", s["title"], s["value"]] for s in c["stats"]),
                ["Performance", "Session Completion", f"{perf['sessionCompletion']}%"],
                ["Performance", "Avg Rating", "4.5"],
                ["Performance", "Response Time", "2 hrs"],
                ["Performance", "Rebooking Rate", f"{perf['rebookingRate']}%"],
                ["Metrics", "Monthly Revenue", number_text(metrics["monthlyRevenue"])],
                ["Metrics", "Total Sessions", str(metrics["totalSessions"])],
                ["Payout", "Total Earnings", number_text(pay["totalEarnings"])],
                ["Payout", "Total Paid Out", number_text(pay["totalPaidOut"])],
                ["Payout", "Remaining Balance", number_text(pay["remainingBalance"])],
                [],
                ["Monthly Revenue Trends", "Month", "Revenue"],
                *(["Trend", t["name"], number_text(t["revenue"])] for t in c["monthlyRevenueTrends"]),
            ]


def test_a_formula_in_a_name_is_neutralised_and_a_comma_is_quoted(api: Any, scripted: dict[str, Any]) -> None:
    text = get(api, "/overview", scripted["admin"], format="csv", viewType="monthly", year=2025, month=6).text
    assert "'=Dev Pending" in text and "\n=Dev" not in text
    a = next(p for p in history.CONSULTANTS if p.key == "A")
    consultant_text = get(api, "/consultant", bearer(a.token), format="csv", year=2025, month=6).text
    revenue = history.expected_consultant("A", "monthly", 2025, 6)["stats"][3]["value"]
    assert "," in revenue and f'Stats,Total Revenue,"{revenue}"' in consultant_text  # RFC 4180 quoting
