"""The service answers on both backends: first admin, login, a category, the public list."""

from tests.conftest import bearer, create_admin, signup


def test_first_admin_category_and_consultant_listing(api):
    admin = create_admin(api)
    category = api.post("/api/v1/categories", json={"title": "Legal"}, headers=bearer(admin))
    assert category.status_code == 201
    consultant = signup(api, "Consultant", categories=[{"categoryId": category.json()["data"]["_id"]}])
    consultant_id = consultant["user"]["id"]
    assert api.get("/api/v1/consultants/public?category=Legal").json()["data"] == []
    approved = api.post(f"/api/v1/consultants/{consultant_id}/approve", headers=bearer(admin))
    assert approved.json()["data"]["status"] == "Active"
    listed = api.get("/api/v1/consultants/public", params={"category": "Legal"}).json()["data"]
    assert [doc["_id"] for doc in listed] == [consultant_id]
    assert "email" not in listed[0]
