"""Uploads and the storage proxy (contract platform §1-3) on both file stores: the local directory
and an S3 bucket on a real S3-speaking server (moto's standalone server)."""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.files import DOCUMENT_LIMIT, DOCUMENT_REFUSAL, IMAGE_LIMIT, IMAGE_REFUSAL
from infrastructure.storage import LocalFileStore, S3FileStore, build_store
from interfaces.http.app import create_app
from tests.conftest import bearer, create_admin, make_settings, refused, signup
from tests.files_support import (
    API,
    EXE,
    GIF,
    HTML,
    JPEG,
    PDF,
    PNG,
    SVG,
    WEBP,
    docx,
    new_bucket,
    s3_endpoint,  # noqa: F401  (fixture)
    sized,
    upload,
    zip_file,
)


@pytest.fixture(params=["file", "s3"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        return f"file://{tmp_path / 'store'}"
    return new_bucket(request.getfixturevalue("s3_endpoint"))


def test_both_stores_keep_bytes_exactly(storage_url: str, tmp_path: Path) -> None:
    store = build_store(storage_url, tmp_path)
    assert isinstance(store, S3FileStore if storage_url.startswith("s3") else LocalFileStore)
    content = secrets.token_bytes(9 * 1024 * 1024 + 17)  # above boto3's multipart threshold, odd size
    key = "users/" + "a" * 24 + "/documents/0c9a1d2e-3f4b-4c5d-8e6f-708192a3b4c5.pdf"
    assert store.size(key) is None and store.open(key) is None and store.delete(key) is False
    assert store.put(key, io.BytesIO(content)) == len(content)
    assert store.size(key) == len(content)
    opened = store.open(key)
    assert opened is not None and opened[0] == len(content) and b"".join(opened[1]) == content
    assert store.delete(key) is True and store.size(key) is None


def test_local_store_refuses_paths_outside_its_directory(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "store")
    for key in ("../escape.txt", "users/../../escape.txt", ".partial/x"):
        with pytest.raises(ValueError):
            store.put(key, io.BytesIO(b"x"))
    assert not (tmp_path / "escape.txt").exists()


@pytest.fixture
def files_api(tmp_path: Path, storage_url: str) -> Any:
    settings = make_settings(tmp_path, None, storage_url=storage_url, backend_url="https://api.example.test")
    with TestClient(create_app(settings)) as client:
        yield client


def test_upload_then_fetch_is_byte_identical(files_api: Any) -> None:
    api = files_api
    client = signup(api, "Client")
    token = client["token"]
    for content, mime, name in (
        (PNG, "image/png", "me.png"),
        (JPEG, "image/jpg", "me.jpg"),
        (GIF, "image/gif", "a.gif"),
        (WEBP, "image/webp", "a.webp"),
    ):
        reply = upload(api, "image", "image", content, mime, token, name)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["message"] == "Image uploaded successfully"
        data = body["data"]
        extension = name.rsplit(".", 1)[1]
        assert data["key"].startswith(f"users/{client['user']['id']}/images/") and data["key"].endswith(f".{extension}")
        assert (data["fileName"], data["size"]) == (name, len(content))
        assert data["url"].startswith("https://api.example.test/api/v1/storage/proxy?key=users/")
        # an <img> loads it without any header
        fetched = api.get(data["url"].removeprefix("https://api.example.test"))
        assert fetched.status_code == 200 and fetched.content == content
        assert fetched.headers["content-type"] == data["mimeType"] == mime.replace("jpg", "jpeg")
        assert fetched.headers["x-content-type-options"] == "nosniff"
        assert fetched.headers["cache-control"].startswith("public")

    # a 10 MB document passes the global 1 MB body limit and comes back identical
    big = sized(b"%PDF-1.7\n", DOCUMENT_LIMIT)
    reply = upload(api, "document", "document", big, "application/pdf", token, "scan.pdf")
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert data["mimeType"] == "application/pdf" and data["size"] == DOCUMENT_LIMIT
    path = data["url"].removeprefix("https://api.example.test")
    fetched = api.get(path, headers=bearer(token))
    assert fetched.status_code == 200 and fetched.content == big
    assert fetched.headers["content-type"] == "application/pdf"
    assert fetched.headers["content-disposition"].startswith('attachment; filename="')
    assert fetched.headers["cache-control"].startswith("private")
    assert api.get(path + "&view=inline", headers=bearer(token)).headers["content-disposition"].startswith("inline")
    # documents are private: no credential 401, another client 403, staff may read
    refused(api.get(path), 401, "Access denied. No token provided.")
    refused(api.get(path, headers=bearer(signup(api, "Client")["token"])), 403, "Access denied")
    assert api.get(path, headers=bearer(create_admin(api))).content == big

    # DOCX and plain text are detected too; several files at once
    reply = api.post(
        f"{API}/upload/multiple",
        files=[
            ("files", ("cv.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document")),
            ("files", ("notes.txt", "Blood pressure 120/80 — normal\n".encode(), "text/plain")),
        ],
        headers=bearer(token),
    )
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert data["count"] == 2 and [f["key"].rsplit(".", 1)[1] for f in data["files"]] == ["docx", "txt"]
    text = api.get(data["files"][1]["url"].removeprefix("https://api.example.test"), headers=bearer(token))
    assert text.content == "Blood pressure 120/80 — normal\n".encode()
    assert text.headers["content-type"] == "text/plain; charset=utf-8"


def _stored_files(api: Any) -> int:
    store = api.app.state.container.store
    if isinstance(store, LocalFileStore):
        return sum(1 for p in store.root.rglob("*") if p.is_file())
    return int(store.client.list_objects_v2(Bucket=store.bucket).get("KeyCount", 0))


def test_bad_and_oversize_files_are_refused_and_store_nothing(files_api: Any) -> None:
    api = files_api
    token = signup(api, "Client")["token"]
    cases = [
        ("image", "image", HTML, "image/png", 400, IMAGE_REFUSAL),  # bytes are not what the type says
        ("image", "image", SVG, "image/svg+xml", 400, IMAGE_REFUSAL),
        ("image", "image", PDF, "image/png", 400, IMAGE_REFUSAL),
        ("image", "image", JPEG, "image/png", 400, IMAGE_REFUSAL),
        ("image", "image", PNG, "application/octet-stream", 400, IMAGE_REFUSAL),
        ("document", "document", EXE, "application/pdf", 400, DOCUMENT_REFUSAL),
        ("document", "document", HTML, "text/plain", 400, DOCUMENT_REFUSAL),
        (
            "document",
            "document",
            zip_file(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            400,
            DOCUMENT_REFUSAL,
        ),
        ("document", "document", GIF, "image/gif", 400, DOCUMENT_REFUSAL),
        ("document", "document", b"", "text/plain", 400, DOCUMENT_REFUSAL),  # empty: no type at all
        ("image", "avatar", PNG, "image/png", 400, "No file uploaded"),  # the part must be `image`
        ("image", "image", sized(PNG, IMAGE_LIMIT + 1), "image/png", 413, "File too large"),
        ("document", "document", sized(PDF, DOCUMENT_LIMIT + 1), "application/pdf", 413, "File too large"),
        ("image", "image", sized(PNG, 7 * 1024 * 1024), "image/png", 413, "File too large"),  # declared length
    ]
    for route, part, content, mime, status, message in cases:
        refused(upload(api, route, part, content, mime, token), status, message)
    # a chunked body (no declared length) is cut off once past the route's limit
    boundary = "b0undary"

    def chunked() -> Any:
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
        for _ in range(7):
            yield secrets.token_bytes(1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    reply = api.post(
        f"{API}/upload/image",
        content=chunked(),
        headers={**bearer(token), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    refused(reply, 413, "File too large")
    # more than 10 files, or a file in another part, on /multiple
    eleven = [("files", (f"{i}.pdf", PDF, "application/pdf")) for i in range(11)]
    refused(api.post(f"{API}/upload/multiple", files=eleven, headers=bearer(token)), 400, "Unexpected field")
    other = [("files", ("a.pdf", PDF, "application/pdf")), ("extra", ("b.pdf", PDF, "application/pdf"))]
    refused(api.post(f"{API}/upload/multiple", files=other, headers=bearer(token)), 400, "Unexpected field")
    one_bad = [("files", ("a.pdf", PDF, "application/pdf")), ("files", ("b.pdf", HTML, "application/pdf"))]
    refused(api.post(f"{API}/upload/multiple", files=one_bad, headers=bearer(token)), 400, DOCUMENT_REFUSAL)
    refused(api.post(f"{API}/upload/multiple", data={"x": "1"}, headers=bearer(token)), 400, "No files uploaded")
    refused(api.post(f"{API}/upload/image", json={"image": "x"}, headers=bearer(token)), 400, "No file uploaded")
    garbage = {**bearer(token), "Content-Type": "multipart/form-data; boundary=xyz"}
    refused(api.post(f"{API}/upload/image", content=b"--xyz\r\nnot a part", headers=garbage), 400, "No file uploaded")
    refused(upload(api, "image", "image", PNG, "image/png", "not-a-token"), 401, "Invalid or expired token")
    assert _stored_files(api) == 0
    # exactly at the limit passes
    assert upload(api, "image", "image", sized(PNG, IMAGE_LIMIT), "image/png", token).status_code == 200
    assert _stored_files(api) == 1


def test_proxy_key_rules_and_delete(files_api: Any) -> None:
    api = files_api
    owner, stranger = signup(api, "Client"), signup(api, "Client")
    admin = bearer(create_admin(api))
    key = upload(api, "document", "document", PDF, "application/pdf", owner["token"]).json()["data"]["key"]
    image = upload(api, "image", "image", PNG, "image/png", owner["token"]).json()["data"]["key"]
    me = bearer(owner["token"])
    proxy = f"{API}/storage/proxy"
    refused(api.get(proxy, headers=me), 400, "File key is required")
    for bad in (
        key.replace("/documents/", "/documents/../../"),
        f"users/{owner['user']['id']}/../../etc/passwd",
        "../" + key,
        key.replace("/", "\\").replace("users\\", "users/..\\"),
    ):
        refused(api.get(proxy, params={"key": bad}, headers=me), 403, "Invalid file path")
    for bad in (
        "/" + key,
        key + "/",
        key.replace("users/", "users//"),
        key.replace("users/", "users/./"),
        key.replace(".pdf", ".html"),
        key.replace(".pdf", ".png").replace("/documents/", "/images/x"),
        "documents/x.pdf",
        "etc/passwd",
        key.replace("/", "%2F"),
        key.upper(),
        key[:-4] + ".svg",
    ):
        refused(api.get(proxy, params={"key": bad}, headers=me), 403, "Access denied")
    # the same key shapes with a percent-encoded traversal in the raw query string
    refused(
        api.get(f"{proxy}?key=users/{owner['user']['id']}/documents/%2e%2e/x.pdf", headers=me), 403, "Invalid file path"
    )
    missing = key[:-40] + "00000000-0000-4000-8000-000000000000.pdf"
    refused(api.get(proxy, params={"key": missing}, headers=me), 404, "File not found")
    refused(api.get(proxy, params={"key": missing}, headers=bearer(stranger["token"])), 403, "Access denied")

    # DELETE /upload: owner or Admin only
    refused(api.delete(f"{API}/upload", headers=me), 400, "File key is required")
    refused(api.delete(f"{API}/upload", params={"key": key}, headers=bearer(stranger["token"])), 403, "Access denied")
    refused(api.delete(f"{API}/upload", params={"key": "../x"}, headers=me), 403, "Invalid file path")
    reply = api.delete(f"{API}/upload", params={"key": key}, headers=me)
    assert reply.status_code == 200 and reply.json()["data"] == {"key": key}
    refused(api.get(proxy, params={"key": key}, headers=me), 404, "File not found")
    refused(api.delete(f"{API}/upload", params={"key": key}, headers=me), 404, "File not found")
    assert api.delete(f"{API}/upload", params={"key": image}, headers=admin).status_code == 200
    refused(api.get(proxy, params={"key": image}), 404, "File not found")


def test_upload_bodies_stream_through_the_body_limit() -> None:
    """The upload routes get their body piece by piece as it arrives (nothing buffers it whole);
    other routes keep the global limit."""
    import asyncio

    from interfaces.http.middleware import BodyLimit

    produced: list[int] = []
    seen_by_app: list[tuple[int, int]] = []  # (pieces produced so far, size of the piece the app got)
    piece = b"x" * 65536

    async def receive() -> dict[str, Any]:
        produced.append(1)
        return {"type": "http.request", "body": piece, "more_body": len(produced) < 4}

    async def app(scope: Any, receive_: Any, send: Any) -> None:
        while True:
            message = await receive_()
            seen_by_app.append((len(produced), len(message["body"])))
            if not message.get("more_body"):
                break

    async def send(message: Any) -> None:
        sent.append(message)

    sent: list[Any] = []
    limit = BodyLimit(app, max_bytes=1000, streamed={"/api/v1/upload/document": 10_000_000})
    scope = {"type": "http", "path": "/api/v1/upload/document", "headers": []}
    asyncio.run(limit(scope, receive, send))
    assert seen_by_app == [(1, 65536), (2, 65536), (3, 65536), (4, 65536)] and sent == []
    # a declared length over the route's own limit: 413 before anything is read
    produced.clear()
    declared = {**scope, "headers": [(b"content-length", b"10000001")]}
    asyncio.run(limit(declared, receive, send))
    assert produced == [] and sent[0]["status"] == 413 and b"File too large" in sent[1]["body"]
    # any other route: the global limit
    sent.clear()
    produced.clear()
    asyncio.run(limit({**scope, "path": "/api/v1/documents"}, receive, send))
    assert sent[0]["status"] == 413 and b"Request body too large" in sent[1]["body"]


def test_limits_through_a_real_server(tmp_path: Path) -> None:
    """Over a real socket (`consult serve`): the allowed sizes pass the global body limit, and an
    oversize upload, declared or chunked, gets a readable 413 `File too large`."""
    import httpx

    from tests.conftest import Server

    server = Server(make_settings(tmp_path))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            token = signup(http, "Client")["token"]
            big = sized(b"%PDF-1.7\n", 2 * 1024 * 1024)  # over the global 1 MB body limit
            reply = upload(http, "document", "document", big, "application/pdf", token, "big.pdf")
            assert reply.status_code == 200, reply.text
            fetched = http.get(API + reply.json()["data"]["url"].split(API, 1)[1], headers=bearer(token))
            assert fetched.content == big
            for size in (IMAGE_LIMIT + 1, 7 * 1024 * 1024):
                refused(upload(http, "image", "image", sized(PNG, size), "image/png", token), 413, "File too large")

            def chunked() -> Any:
                yield b'--bb\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
                yield b"Content-Type: image/png\r\n\r\n"
                for _ in range(7):
                    yield secrets.token_bytes(1024 * 1024)
                yield b"\r\n--bb--\r\n"

            headers = {**bearer(token), "Content-Type": "multipart/form-data; boundary=bb"}
            refused(http.post(f"{API}/upload/image", content=chunked(), headers=headers), 413, "File too large")
    finally:
        server.stop()
