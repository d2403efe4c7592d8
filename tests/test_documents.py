"""Documents (contract platform §4) through HTTP on SQLite and PostgreSQL: the two app flows
(upload, then POST /documents), visibility per role, the signed `fileUrl`, edits and deletion
(the file goes too), the refusals of the rewrite, and a rebuild that keeps them."""

from __future__ import annotations

import time
from typing import Any

from domain.documents import DOCUMENT_TYPES
from tests.conftest import bearer, employee_token, refused
from tests.files_support import API, PDF, PNG, upload
from tests.test_appointments import World, next_weekday

BASE = "http://127.0.0.1:8000"  # BACKEND_URL of the tests' settings


def _path(url: str) -> str:
    assert url.startswith(BASE + "/api/v1/storage/proxy?"), url
    return url.removeprefix(BASE)


def _share(api: Any, who: Any, content: bytes = PDF, **fields: Any) -> Any:
    """What the two document pages do: upload the file, then create the document with its data."""
    uploaded = upload(api, "document", "document", content, "application/pdf", who.token, "Blood test.pdf")
    assert uploaded.status_code == 200, uploaded.text
    data = uploaded.json()["data"]
    body = {
        "title": "Blood test",
        "type": "Lab Results",
        "description": "",
        "fileUrl": data["url"],
        "fileKey": data["key"],
        "fileName": data["fileName"],
        "originalFileName": data["fileName"],
        "fileSize": 1,  # the stored file's size wins
        "mimeType": "text/html",  # and its detected type
        **fields,
    }
    return api.post(f"{API}/documents", json=body, headers=who.auth)


def _list(api: Any, who: Any, **params: Any) -> dict[str, Any]:
    reply = api.get(f"{API}/documents", params=params, headers=who if isinstance(who, dict) else who.auth)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["message"] == "Documents fetched successfully"
    return body["data"]  # type: ignore[no-any-return]


def test_documents_flow_visibility_and_rebuild(api: Any) -> None:
    world = World(api)
    admin = bearer(world.admin)
    employee = bearer(employee_token(api, admin))
    consultant, other_consultant = world.consultant(), world.consultant()
    client, other_client = world.client(), world.client()

    # the client's My Documents page: names its consultant
    created = _share(api, client, consultant=consultant.id)
    assert created.status_code == 201, created.text
    assert created.json()["message"] == "Document created successfully"
    mine = created.json()["data"]
    assert (mine["client"]["_id"], mine["consultant"]["_id"], mine["uploadedBy"]) == (
        client.id,
        consultant.id,
        client.id,
    )
    assert mine["client"]["fullName"] == client.data["name"] and mine["consultant"]["fullName"]
    assert (mine["fileSize"], mine["mimeType"], mine["formattedSize"]) == (len(PDF), "application/pdf", "1.97 KB")
    assert mine["appointment"] is None and mine["status"] == "Active"
    # the consultant's client profile: names the client, linked to their appointment
    day = next_weekday(0)
    appointment = world.book(client, consultant, day, "09:00", "10:00")
    created = _share(api, consultant, title="Notes", type="Other", client=client.id, appointment=appointment)
    assert created.status_code == 201, created.text
    notes = created.json()["data"]
    assert notes["appointment"] == appointment and notes["uploadedBy"] == consultant.id
    third = _share(api, other_client, consultant=other_consultant.id, appointment="").json()["data"]

    # visibility: own documents only; query parameters cannot widen it
    assert [d["_id"] for d in _list(api, client)["documents"]] == [notes["_id"], mine["_id"]]
    assert [d["_id"] for d in _list(api, client, client=other_client.id)["documents"]] == [notes["_id"], mine["_id"]]
    assert _list(api, consultant, consultant=other_consultant.id)["pagination"]["total"] == 2
    assert _list(api, consultant, client=other_client.id)["documents"] == []
    assert [d["_id"] for d in _list(api, other_consultant)["documents"]] == [third["_id"]]
    for staff in (admin, employee):
        assert _list(api, staff)["pagination"] == {"page": 1, "limit": 20, "total": 3, "pages": 1}
        assert [d["_id"] for d in _list(api, staff, client=other_client.id)["documents"]] == [third["_id"]]
    listed = _list(api, admin, appointment=appointment, type="Other")["documents"]
    assert [d["_id"] for d in listed] == [notes["_id"]] and listed[0]["appointment"]["_id"] == appointment
    assert listed[0]["appointment"]["startAt"]
    paged = _list(api, admin, page=2, limit=1)
    assert [d["_id"] for d in paged["documents"]] == [notes["_id"]] and paged["pagination"]["pages"] == 3
    assert _list(api, admin, limit=1000)["pagination"]["limit"] == 100
    for bad in ({"client": "nope"}, {"appointment": "1" * 23}, {"page": "x"}, {"page": "0"}, {"limit": "1.5"}):
        refused(api.get(f"{API}/documents", params=bad, headers=admin), 400, "Validation failed")

    # the signed fileUrl opens in a new tab without any header; tampering or expiry refuses it
    url = _list(api, client)["documents"][1]["fileUrl"]
    assert "signature=" in url and "token" not in url
    fetched = api.get(_path(url))
    assert fetched.status_code == 200 and fetched.content == PDF
    assert 'filename="Blood_test.pdf"' in fetched.headers["content-disposition"]
    refused(api.get(_path(url).replace("Blood", "Bad")), 403, "Access denied")
    signer = api.app.state.container.signer
    expired = signer.signed(mine["fileKey"], "Blood test.pdf", now=time.time() - 3601)
    refused(api.get(_path(expired)), 403, "Access denied")
    # with a token: the owner, the document's other party and staff; a stranger 403
    plain = _path(signer.plain(mine["fileKey"]))
    for reader in (client.auth, consultant.auth, admin, employee):
        assert api.get(plain, headers=reader).content == PDF
    refused(api.get(plain, headers=other_consultant.auth), 403, "Access denied")

    # GET /documents/:id
    one = api.get(f"{API}/documents/{mine['_id']}", headers=consultant.auth)
    assert one.status_code == 200 and one.json()["message"] == "Document fetched successfully"
    assert api.get(_path(one.json()["data"]["fileUrl"])).content == PDF
    refused(
        api.get(f"{API}/documents/{mine['_id']}", headers=other_client.auth),
        403,
        "Unauthorized to access this document",
    )
    refused(api.get(f"{API}/documents/{'0' * 24}", headers=admin), 404, "Document not found")
    refused(api.get(f"{API}/documents/xyz", headers=admin), 400, "Validation failed")
    types = api.get(f"{API}/documents/types", headers=client.auth).json()
    assert types["message"] == "Document types fetched successfully" and types["data"] == {
        "types": list(DOCUMENT_TYPES)
    }

    # PATCH: the uploader or an Admin; the other party may not
    refused(
        api.patch(f"{API}/documents/{mine['_id']}", json={"title": "x"}, headers=consultant.auth),
        403,
        "Unauthorized to update this document",
    )
    refused(api.patch(f"{API}/documents/{mine['_id']}", json={}, headers=client.auth), 400, "Validation failed")
    refused(
        api.patch(f"{API}/documents/{mine['_id']}", json={"type": "Selfie"}, headers=client.auth),
        400,
        "Validation failed",
    )
    changed = api.patch(
        f"{API}/documents/{mine['_id']}", json={"title": " Blood test 2 ", "status": "Archived"}, headers=client.auth
    )
    assert changed.status_code == 200 and changed.json()["message"] == "Document updated successfully"
    assert (changed.json()["data"]["title"], changed.json()["data"]["status"]) == ("Blood test 2", "Archived")
    assert api.patch(f"{API}/documents/{third['_id']}", json={"status": "Deleted"}, headers=admin).status_code == 200
    assert _list(api, admin)["pagination"]["total"] == 2
    assert [d["_id"] for d in _list(api, admin, status="Deleted")["documents"]] == [third["_id"]]

    # Employees read everything but write nothing
    refused(api.delete(f"{API}/documents/{mine['_id']}", headers=employee), 403, "Forbidden: Access denied")
    refused(api.patch(f"{API}/documents/{mine['_id']}", json={}, headers=employee), 403, "Forbidden: Access denied")

    # a file still used by a document cannot be removed through /upload
    refused(
        api.delete(f"{API}/upload", params={"key": notes["fileKey"]}, headers=consultant.auth),
        409,
        "File is used by a document",
    )

    # rebuild from the events gives the same answers
    before = {who: _list(api, headers)["documents"] for who, headers in (("admin", admin), ("client", client.auth))}
    runner = api.app.state.container.runner
    runner.reset()  # empties every read model (documents included: re-inserting a row would fail)
    runner.catch_up()
    after = {who: _list(api, headers)["documents"] for who, headers in (("admin", admin), ("client", client.auth))}
    for who in before:
        assert [_unsigned(d) for d in after[who]] == [_unsigned(d) for d in before[who]]

    # DELETE: the uploader or an Admin; the file goes with the document
    refused(
        api.delete(f"{API}/documents/{notes['_id']}", headers=client.auth), 403, "Unauthorized to delete this document"
    )
    gone = api.delete(f"{API}/documents/{notes['_id']}", headers=consultant.auth)
    assert gone.status_code == 200 and gone.json()["data"] == {"deletedId": notes["_id"]}
    refused(api.get(_path(signer.plain(notes["fileKey"])), headers=consultant.auth), 404, "File not found")
    refused(api.get(f"{API}/documents/{notes['_id']}", headers=admin), 404, "Document not found")
    refused(api.delete(f"{API}/documents/{notes['_id']}", headers=admin), 404, "Document not found")
    assert api.delete(f"{API}/documents/{mine['_id']}", headers=admin).status_code == 200


def _unsigned(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "fileUrl"}


def test_creation_refusals(api: Any) -> None:
    world = World(api)
    admin = bearer(world.admin)
    consultant, other_consultant, client, other_client = (
        world.consultant(),
        world.consultant(),
        world.client(),
        world.client(),
    )
    stranger_key = upload(api, "document", "document", PDF, "application/pdf", other_client.token).json()["data"]["key"]
    own_image = upload(api, "image", "image", PNG, "image/png", client.token).json()["data"]["key"]
    base = {"title": "T", "type": "Other", "fileUrl": "https://example.com/x.pdf"}

    def post(who: Any, **fields: Any) -> Any:
        return api.post(f"{API}/documents", json={**base, **fields}, headers=who if isinstance(who, dict) else who.auth)

    own_key = upload(api, "document", "document", PDF, "application/pdf", client.token).json()["data"]["key"]
    refused(post(client, fileKey=stranger_key, consultant=consultant.id), 403, "Access denied")
    refused(post(client, fileKey=own_key.replace(".pdf", ".txt"), consultant=consultant.id), 400, "Invalid file key")
    refused(post(client, fileKey="consultation/documents/abc123", consultant=consultant.id), 400, "Invalid file key")
    refused(post(client, fileKey=own_image, consultant=consultant.id), 400, "Invalid file key")
    refused(post(client, fileKey=own_key), 400, "Consultant is required")
    refused(post(consultant, fileKey=own_key), 400, "Client is required")
    refused(post(client, fileKey=own_key, consultant=client.id), 404, "Consultant not found")
    refused(post(client, fileKey=own_key, consultant="a" * 24), 404, "Consultant not found")
    refused(post(client, fileKey=own_key, consultant=consultant.id, fileUrl="ftp://x/y.pdf"), 400, "Validation failed")
    refused(post(client, fileKey=own_key, consultant=consultant.id, type="Selfie"), 400, "Validation failed")
    refused(post(client, fileKey=own_key, consultant=consultant.id, title=" "), 400, "Validation failed")
    refused(
        post(bearer(employee_token(api, admin)), fileKey=own_key, consultant=consultant.id, type="bad"),
        403,
        "Forbidden: Access denied",
    )
    appointment = world.book(client, other_consultant, next_weekday(1), "09:00", "10:00")
    refused(
        post(client, fileKey=own_key, consultant=consultant.id, appointment=appointment),
        400,
        "Appointment does not match this client and consultant",
    )
    refused(post(admin, fileKey=own_key, consultant=consultant.id), 400, "Validation failed")
    assert _list(api, admin)["documents"] == []
    ok = post(client, fileKey=own_key, consultant=other_consultant.id, appointment=appointment)
    assert ok.status_code == 201, ok.text
