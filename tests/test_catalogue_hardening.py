"""Issue 12 §5 (last bullet): analytics follow a category rename; CSV cells of user text that start
with spaces and then a formula character are neutralised; a consultant cannot set `fees` to null or
its category to a name that is not in the catalogue."""

from __future__ import annotations

import csv
import io
from typing import Any

from reporting.csv_export import overview_csv, user_text
from tests.conftest import bearer, refused
from tests.test_appointments import World, next_weekday

API = "/api/v1"


def test_analytics_show_a_category_under_its_current_name_after_a_rename(api: Any) -> None:
    world = World(api)
    admin = bearer(world.admin)
    made = api.post(f"{API}/categories", headers=admin, json={"title": "Legal Advice"})
    assert made.status_code == 201, made.text
    category_id = made.json()["data"]["_id"]
    consultant = world.consultant(category=category_id)
    client = world.client()
    day = next_weekday(2, weeks_ahead=1)
    # one appointment that names the category, one that defers to the consultant's primary category
    for start, end, extra in (("09:00", "10:00", {"category": "Legal Advice"}), ("10:15", "11:15", {})):
        created = world.direct(world.admin, client, consultant, day, start, end, fee=500, **extra)
        assert created.status_code == 201, created.text
    month = {"viewType": "monthly", "year": day.year, "month": day.month}

    def overview() -> dict[str, Any]:
        reply = api.get(f"{API}/analytics/overview", headers=admin, params=month)
        assert reply.status_code == 200, reply.text
        return dict(reply.json()["data"])

    before = overview()
    assert [(c["name"], c["sessions"]) for c in before["categoryPerformance"]] == [("Legal Advice", 0)]
    renamed = api.patch(f"{API}/categories/{category_id}", headers=admin, json={"title": "Law"})
    assert renamed.status_code == 200, renamed.text
    after = overview()
    assert [c["name"] for c in after["categoryPerformance"]] == ["Law"]
    assert {c["category"] for c in after["topConsultants"]} <= {"Law"}
    # the reporting store holds the new name everywhere (a rebuild replays the same events)
    with api.app.state.container.reporting.reading() as con:
        assert con.execute("SELECT DISTINCT category FROM appointments WHERE category IS NOT NULL").fetchall() == [
            ("Law",)
        ]
        assert con.execute("SELECT primary_category FROM consultants WHERE id = ?", [consultant.id]).fetchall() == [
            ("Law",)
        ]
        assert "Legal Advice" not in {row[0] for row in con.execute("SELECT category FROM appointment_days").fetchall()}


def test_csv_neutralises_formulas_behind_leading_spaces() -> None:
    for text in (' =HYPERLINK("http://x")', "   +1", "  -2", " @SUM(A1)", " \t=1", "\u00a0=1", "\n=1"):
        assert user_text(text).startswith("'"), text
    for text in ("Legal", "  Legal", "A=B", "+20%"[1:]):
        assert user_text(text) == text
    data = {
        "cards": {"totalConsultants": 0, "totalAppointments": 0, "activeClients": 0, "monthlyRevenue": 0},
        "revenueBreakdown": {
            "monthlyGmv": 0,
            "monthlyPlatformRevenue": 0,
            "monthlyConsultantPayouts": 0,
            "monthlyTransactions": 0,
            "monthlyGmvGrowth": "+0%",
            "yearlyGmv": 0,
            "yoyGrowth": "+0%",
        },
        "payoutSummary": {"totalEarnings": 0, "totalPaidOut": 0, "remainingBalance": 0},
        "monthlyTrends": [],
        "categoryPerformance": [{"name": "  =cmd|' /C calc'!A0", "revenue": 1, "sessions": 1, "growth": "+0%"}],
        "topConsultants": [
            {"rank": 1, "name": " +Mallory", "category": "  @evil", "rating": 4.5, "sessions": 1, "revenue": 1}
        ],
    }
    rows = list(csv.reader(io.StringIO(overview_csv(data))))
    cells = [cell for row in rows for cell in row]
    assert "'  =cmd|' /C calc'!A0" in cells and "' +Mallory" in cells and "'  @evil" in cells
    assert not any(cell.lstrip().startswith(("=", "+", "@")) for cell in cells if cell not in ("+0%",))


def test_a_consultant_cannot_null_its_fees_or_pick_a_category_outside_the_catalogue(api: Any) -> None:
    world = World(api)
    admin = bearer(world.admin)
    made = api.post(f"{API}/categories", headers=admin, json={"title": "Finance"})
    assert made.status_code == 201, made.text
    finance_id = made.json()["data"]["_id"]
    me = world.consultant(fees=900)
    before = api.get(f"{API}/consultants/{me.id}", headers=me.auth).json()["data"]
    stored = api.app.state.container.market.recorder.max_notification_id()
    for body, field in (
        ({"fees": None}, "fees"),
        ({"about": "x", "fees": None}, "fees"),
        ({"category": "Astrology"}, "category"),
        ({"category": {"name": "Astrology"}}, "category"),
        ({"category": "665000000000000000000001"}, "category"),
        ({"subcategory": "Tarot"}, "subcategory"),
    ):
        body_of = refused(api.patch(f"{API}/consultants/{me.id}", json=body, headers=me.auth), 400, "Validation failed")
        assert [e["field"] for e in body_of["errors"]] == [field], body_of
    assert api.app.state.container.market.recorder.max_notification_id() == stored  # nothing recorded
    after = api.get(f"{API}/consultants/{me.id}", headers=me.auth).json()["data"]
    assert (after["fees"], after["category"]) == (before["fees"], before["category"])
    # names and ids of the catalogue are accepted, by the consultant and (any name) by an admin
    for value in ("Finance", finance_id, {"name": "Finance"}):
        reply = api.patch(f"{API}/consultants/{me.id}", json={"category": value}, headers=me.auth)
        assert reply.status_code == 200, reply.text
        assert reply.json()["data"]["category"]["name"] == "Finance"
    reply = api.patch(f"{API}/consultants/{me.id}", json={"fees": 1200}, headers=me.auth)
    assert reply.status_code == 200 and reply.json()["data"]["fees"] == 1200, reply.text
    refused(api.patch(f"{API}/consultants/{me.id}", json={"fees": None}, headers=admin), 400, "Validation failed")
