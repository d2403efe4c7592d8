"""`consult rebuild` gives the same answers as the live system (ARCHITECTURE.md, "Write side"): a history
scripted through HTTP, every list and detail answer captured, the read models wiped, the rebuild run as
a subprocess with no server on the store, then the same questions asked of an app that runs no
projections (so only the rebuilt read models can answer)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from infrastructure.tables import READ_MODEL_TABLES
from interfaces.http.app import create_app
from tests.conftest import bearer, create_admin, rebuild, signup

API = "/api/v1"


def call(api: Any, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
    reply = getattr(api, method)(f"{API}{url}", headers=headers or {}, **kwargs)
    assert reply.status_code in (200, 201), (method, url, reply.text)
    return reply.json().get("data")


def script_history(api: Any) -> dict[str, Any]:
    admin = bearer(create_admin(api))
    ids: dict[str, str] = {}
    for title in ("Legal", "Finance", "Health"):
        ids[title] = call(api, "post", "/categories", admin, json={"title": title, "description": f"{title}!"})["_id"]
    for title, parent in (
        ("Family Law", "Legal"),
        ("Criminal Law", "Legal"),
        ("Tax", "Finance"),
        ("Audit", "Finance"),
        ("Nutrition", "Health"),
    ):
        ids[title] = call(api, "post", "/subcategories", admin, json={"title": title, "parentCategory": ids[parent]})[
            "_id"
        ]

    def entry(category: str, sub: str) -> dict[str, str]:
        return {"categoryId": ids[category], "subcategoryId": ids[sub]}

    multi = signup(
        api,
        "Consultant",
        fullName="Multi Cat",
        fees=1500,
        currency="INR",
        categories=[entry("Legal", "Family Law"), entry("Finance", "Tax")],
    )
    auditor = signup(api, "Consultant", fullName="Audi Tor", categories=[entry("Finance", "Audit")])
    healer = signup(api, "Consultant", fullName="Heal Er", categories=[entry("Health", "Nutrition")])
    made = call(
        api,
        "post",
        "/consultants",
        admin,
        json={
            "name": "Made Admin",
            "email": "made@example.com",
            "phone": "9876543210",
            "category": "Legal",
            "subcategory": "Criminal Law",
            "commission": {"platformPercent": 15},
        },
    )
    doomed = call(
        api,
        "post",
        "/consultants",
        admin,
        json={
            "firstName": "Doomed",
            "lastName": "One",
            "email": "doomed@example.com",
            "phone": "9876543211",
            "category": ids["Finance"],
        },
    )
    portal_deleted = signup(api, "Consultant", fullName="Portal Gone")
    for consultant_id in (multi["user"]["id"], auditor["user"]["id"], made["_id"], healer["user"]["id"]):
        call(api, "post", f"/consultants/{consultant_id}/approve", admin)
    call(api, "post", f"/consultants/{auditor['user']['id']}/block", admin)
    call(api, "post", f"/consultants/{healer['user']['id']}/reject", admin)
    call(
        api,
        "patch",
        f"/consultants/{multi['user']['id']}",
        bearer(multi["token"]),
        json={"about": "Two fields", "tags": "family, tax", "city": "Pune"},
    )
    call(api, "patch", f"/consultants/{made['_id']}", admin, json={"status": "Approved", "yearsOfExperience": 4})
    call(api, "delete", f"/consultants/{doomed['_id']}", admin)
    call(api, "delete", f"/users/{portal_deleted['user']['id']}", admin)

    call(api, "patch", f"/categories/{ids['Legal']}", admin, json={"title": "Law", "rating": 4})
    call(api, "patch", f"/subcategories/{ids['Tax']}", admin, json={"title": "Taxation"})
    call(api, "patch", f"/subcategories/{ids['Audit']}", admin, json={"status": "Inactive"})
    call(api, "patch", f"/subcategories/{ids['Criminal Law']}", admin, json={"parentCategory": ids["Finance"]})
    call(api, "delete", f"/categories/{ids['Health']}", admin)

    clients = [signup(api, "Client", fullName=f"Client {name}") for name in ("Ann", "Bob", "Cid")]
    call(
        api,
        "patch",
        "/clients/profile",
        bearer(clients[0]["token"]),
        json={"city": "Delhi", "dob": "1991-02-03", "avatar": "https://img/ann.png"},
    )
    call(
        api,
        "patch",
        f"/clients/{clients[1]['user']['id']}",
        admin,
        json={"email": "bob.new@example.com", "status": "Inactive"},
    )

    legal_staff = call(
        api,
        "post",
        "/users",
        admin,
        json={
            "userId": "EMP100",
            "fullName": "Legal Staff",
            "email": "staff@example.com",
            "mobile": "9111111100",
            "role": "Employee",
            "category": ids["Legal"],
        },
    )
    blocked_staff = call(
        api,
        "post",
        "/users",
        admin,
        json={
            "userId": "EMP101",
            "fullName": "Blocked Staff",
            "email": "blocked@example.com",
            "mobile": "9111111101",
            "role": "Employee",
        },
    )
    gone_staff = call(
        api,
        "post",
        "/users",
        admin,
        json={
            "userId": "EMP102",
            "fullName": "Gone Staff",
            "email": "gone@example.com",
            "mobile": "9111111102",
            "role": "Admin",
        },
    )
    call(api, "patch", f"/users/{blocked_staff['id']}", admin, json={"verificationStatus": "Blocked"})
    call(api, "patch", f"/users/{legal_staff['id']}", admin, json={"fullName": "Law Staff"})
    call(api, "delete", f"/users/{gone_staff['id']}", admin)
    return {
        "admin": admin,
        "ids": ids,
        "multi": multi,
        "clients": clients,
        "consultant_ids": [
            multi["user"]["id"],
            auditor["user"]["id"],
            healer["user"]["id"],
            made["_id"],
            doomed["_id"],
            portal_deleted["user"]["id"],
        ],
    }


def answers(api: Any, history: dict[str, Any]) -> dict[str, Any]:
    """Every list and detail answer of the routes under test, keyed by the question."""
    admin, ids = history["admin"], history["ids"]
    consultant, client = bearer(history["multi"]["token"]), bearer(history["clients"][0]["token"])
    questions: list[tuple[str, dict[str, str]]] = [
        ("/categories", {}),
        ("/subcategories", {}),
        ("/consultants/public", {}),
        ("/consultants/public?category=Law", {}),
        ("/consultants/public?category=Finance", {}),
        ("/consultants/public?q=multi", {}),
        ("/consultants", admin),
        ("/consultants?status=Active", admin),
        ("/consultants", consultant),
        ("/consultants", client),
        ("/clients", admin),
        ("/clients?limit=2&page=2", admin),
        ("/clients?search=bob", admin),
        ("/clients?status=Inactive", admin),
        ("/clients", consultant),
        ("/clients/profile", client),
        ("/users", admin),
        ("/users/consultants/active", admin),
        ("/users/consultants/active", client),
    ]
    questions += [(f"/subcategories?categoryId={category_id}", {}) for category_id in ids.values()]
    questions += [(f"/subcategories/{sub_id}", {}) for sub_id in ids.values()]
    questions += [(f"/consultants/{consultant_id}", admin) for consultant_id in history["consultant_ids"]]
    questions += [(f"/consultants/{consultant_id}", client) for consultant_id in history["consultant_ids"]]
    questions += [(f"/clients/{c['user']['id']}", admin) for c in history["clients"]]
    out = {}
    for url, headers in questions:
        reply = api.get(f"{API}{url}", headers=headers)
        out[f"{url} as {headers.get('Authorization', 'anonymous')[-12:]}"] = (reply.status_code, reply.json())
    return out


def test_rebuild_gives_the_same_answers(settings):
    with TestClient(create_app(settings)) as api:
        history = script_history(api)
        before = answers(api, history)
    # the history is rich enough to compare: lists are long and the detail views exist
    assert before["/consultants as " + history["admin"]["Authorization"][-12:]][1]["data"].__len__() == 4
    assert sum(status == 200 for status, _ in before.values()) > 35

    engine = sa.create_engine(settings.sqlalchemy_url)
    try:
        with engine.begin() as conn:  # wipe the read models, leave the tracking position alone
            rows = {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                for table in READ_MODEL_TABLES
            }
            assert rows["accounts"] == 10 and rows["categories"] == 6 and rows["consultant_categories"] == 4
            for table in READ_MODEL_TABLES:
                conn.execute(table.delete())
        done = rebuild(settings)
        assert "read models rebuilt from" in done.stdout
        # stderr is a pipe here: progress as whole lines with the rate (tests/test_progress.py)
        total = done.stdout.split("reporting store rebuilt from ")[1].split()[0]
        assert f"rebuilding reporting store: {int(total):,} of {int(total):,} events (100.0%), " in done.stderr
        assert " events/s, " in done.stderr and "\r" not in done.stderr
        with engine.connect() as conn:
            assert rows == {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                for table in READ_MODEL_TABLES
            }
    finally:
        engine.dispose()

    with TestClient(create_app(settings, run_projections=False)) as api:
        after = answers(api, history)
    assert after.keys() == before.keys()
    differing = [question for question in before if before[question] != after[question]]
    assert differing == [], {q: (before[q], after[q]) for q in differing[:3]}
