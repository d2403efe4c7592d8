"""Shared by the file tests: a real S3-speaking server (moto's standalone server on a free port),
sample files whose bytes are what they claim, and the upload helpers."""

from __future__ import annotations

import io
import os
import secrets
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import free_port

API = "/api/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + secrets.token_bytes(200)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + secrets.token_bytes(300)
GIF = b"GIF89a" + secrets.token_bytes(100)
WEBP = b"RIFF\x00\x10\x00\x00WEBPVP8 " + secrets.token_bytes(100)
PDF = b"%PDF-1.4\n" + secrets.token_bytes(2000) + b"\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
EXE = b"MZ\x90\x00" + secrets.token_bytes(500)


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def zip_file() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.sh", "rm -rf /")
    return buffer.getvalue()


def sized(head: bytes, size: int) -> bytes:
    return head + secrets.token_bytes(size - len(head))


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server (a real HTTP server speaking the S3 protocol) for the whole session."""
    from moto.server import ThreadedMotoServer

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ.setdefault(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def new_bucket(endpoint: str) -> str:
    import boto3

    bucket = "files-" + secrets.token_hex(6)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return f"s3://{bucket}?endpoint_url={endpoint}&region=us-east-1"


def upload(api: Any, route: str, part: str, content: bytes, mime: str, token: str, name: str = "f.bin") -> Any:
    return api.post(
        f"{API}/upload/{route}", files={part: (name, content, mime)}, headers={"Authorization": f"Bearer {token}"}
    )
