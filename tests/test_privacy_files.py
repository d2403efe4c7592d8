"""Privacy of the file features (contract people §4.2, §4.6; platform §4, §6), on SQLite and PostgreSQL:
the export carries the person's documents (with a signed download link) and an admin's own settings
profile; an erasure deletes the person's documents (events: gone from the read routes and after a
rebuild), their stored files and the person's own uploads, and an admin's settings profile; the
documents' personal fields are sealed in the stored events."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from infrastructure.platform_tables import platform_settings
from infrastructure.storage import S3FileStore, build_store
from tests.conftest import ADMIN_PASSWORD, bearer, refused
from tests.files_support import API, PDF, PNG, new_bucket, s3_endpoint, upload  # noqa: F401  (fixture)
from tests.test_admin_settings import admin_id, second_admin
from tests.test_appointments import World
from tests.test_privacy_erasure import PASSWORD, stored_states
from tests.test_privacy_export import exported

BASE = "http://127.0.0.1:8000"  # BACKEND_URL of the tests' settings
TITLE = "Biopsy of Aurelia Quenby"  # a document title that says who it is about


def _share(api: Any, who: Any, title: str, **fields: Any) -> dict[str, Any]:
    data = upload(api, "document", "document", PDF, "application/pdf", who.token, "report.pdf").json()["data"]
    reply = api.post(
        f"{API}/documents",
        json={"title": title, "type": "Lab Results", "fileUrl": data["url"], "fileKey": data["key"], **fields},
        headers=who.auth,
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["data"]  # type: ignore[no-any-return]


def _files(api: Any) -> list[str]:
    root = Path(api.app.state.container.store.root)
    return sorted(p.relative_to(root).as_posix() for p in (root / "users").rglob("*") if p.is_file())


def test_export_and_erasure_of_documents_files_and_admin_profile(api: Any) -> None:
    world = World(api)
    admin = bearer(world.admin)
    consultant, client, other = world.consultant(), world.client(), world.client()
    report = _share(api, client, TITLE, consultant=consultant.id, description="left lung")
    notes = _share(api, consultant, "Session notes", client=client.id)
    theirs = _share(api, other, "Someone else's", consultant=consultant.id)
    avatar = api.patch(f"{API}/clients/profile", files={"avatar": ("me.png", PNG, "image/png")}, headers=client.auth)
    assert avatar.status_code == 200, avatar.text
    loose = upload(api, "image", "image", PNG, "image/png", client.token).json()["data"]["key"]  # in no document

    # the export: the person's documents, metadata + key + a signed link to the same bytes, nothing of others
    mine = exported(api, "/clients/profile/export", client.token)
    assert [d["_id"] for d in mine["documents"]] == [notes["_id"], report["_id"]]
    first = mine["documents"][1]
    assert (first["title"], first["description"], first["fileKey"], first["mimeType"]) == (
        TITLE,
        "left lung",
        report["fileKey"],
        "application/pdf",
    )
    assert first["consultant"] == {"_id": consultant.id, "fullName": consultant.data["name"]}
    assert api.get(first["fileUrl"].removeprefix(BASE)).content == PDF  # signed: no token needed
    assert other.id not in str(mine) and consultant.data["email"] not in str(mine)
    staff = exported(api, "/consultants/me/export", consultant.token)
    assert {d["_id"] for d in staff["documents"]} == {report["_id"], notes["_id"], theirs["_id"]}

    # an admin's export: its own settings profile
    token2 = second_admin(api, admin)
    me2 = admin_id(token2)
    saved = api.put(f"{API}/admin-settings/{me2}/profile", headers=bearer(token2), json={"name": "Two", "email": ""})
    assert saved.status_code == 200, saved.text
    assert exported(api, "/users/profile/export", world.admin)["adminSettings"] is None
    assert exported(api, "/users/profile/export", token2)["adminSettings"]["profile"] == {"name": "Two", "email": ""}

    # the client's erasure: its documents (whoever uploaded them), their files and its own uploads go
    before = _files(api)
    for key in (report["fileKey"], notes["fileKey"], loose):
        assert key in before
    reply = api.request("DELETE", f"{API}/clients/profile", headers=client.auth, json={"password": PASSWORD})
    assert reply.status_code == 200, reply.text
    after = _files(api)
    assert not [key for key in after if key.startswith(f"users/{client.id}/")]
    assert notes["fileKey"] not in after and theirs["fileKey"] in after
    refused(api.get(f"{API}/storage/proxy", params={"key": report["fileKey"]}, headers=admin), 404, "File not found")

    def gone() -> None:
        for document in (report, notes):
            refused(api.get(f"{API}/documents/{document['_id']}", headers=admin), 404, "Document not found")
        listed = api.get(f"{API}/documents", headers=consultant.auth).json()["data"]["documents"]
        assert [d["_id"] for d in listed] == [theirs["_id"]]

    gone()
    runner = api.app.state.container.runner
    runner.reset()
    runner.catch_up()
    gone()
    # the stored events keep nothing readable of the client's documents
    assert not [state for state in stored_states(api.app.state.container) if TITLE.encode() in state]

    # an admin's erasure deletes its settings profile (read model, rebuild, stored events)
    me1 = admin_id(world.admin)
    saved = api.put(f"{API}/admin-settings/{me1}/profile", headers=admin, json={"name": "One", "email": "one@ex.com"})
    assert saved.status_code == 200, saved.text
    assert _profiles(api) == {f"profile:{me1}", f"profile:{me2}"}
    reply = api.request("DELETE", f"{API}/users/profile", headers=admin, json={"password": ADMIN_PASSWORD})
    assert reply.status_code == 200, reply.text
    assert _profiles(api) == {f"profile:{me2}"}
    runner.reset()
    runner.catch_up()
    assert _profiles(api) == {f"profile:{me2}"}
    assert exported(api, "/users/profile/export", token2)["adminSettings"]["profile"]["name"] == "Two"
    assert not [state for state in stored_states(api.app.state.container) if b"one@ex.com" in state]


def _profiles(api: Any) -> set[str]:
    with api.app.state.container.engine.connect() as conn:
        keys = conn.execute(sa.select(platform_settings.c.key)).scalars()
        return {key for key in keys if key.startswith("profile:")}


def test_both_stores_list_keys_under_a_prefix(tmp_path: Path, s3_endpoint: str) -> None:  # noqa: F811
    owner, other = "a" * 24, "b" * 24
    keys = [
        f"users/{owner}/images/0c9a1d2e-3f4b-4c5d-8e6f-708192a3b4c5.png",
        f"users/{owner}/documents/1c9a1d2e-3f4b-4c5d-8e6f-708192a3b4c5.pdf",
        f"users/{other}/images/2c9a1d2e-3f4b-4c5d-8e6f-708192a3b4c5.png",
    ]
    for url in (f"file://{tmp_path / 'store'}", new_bucket(s3_endpoint)):
        store = build_store(url, tmp_path)
        assert store.keys(f"users/{owner}/") == []
        for key in keys:
            store.put(key, io.BytesIO(b"x"))
        assert store.keys(f"users/{owner}/") == sorted(keys[:2]), type(store)
        assert store.keys("users/") == sorted(keys) and store.keys("invoices/") == []
        assert isinstance(store, S3FileStore) == url.startswith("s3")
