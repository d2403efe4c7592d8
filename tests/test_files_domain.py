"""The pure rules of stored files and documents: key grammar, type detection, sizes, signed URLs."""

from __future__ import annotations

import io
import time

import pytest

from domain.documents import formatted_size
from domain.files import DOCX, JPEG, PDF, PNG, TXT, BadKey, allowed, declared_type, detect, parse_key, user_key
from infrastructure.storage import UrlSigner
from tests.files_support import EXE, HTML, SVG, docx, zip_file

OWNER = "0123456789abcdef01234567"
UUID = "0c9a1d2e-3f4b-4c5d-8e6f-708192a3b4c5"


def _detect(content: bytes) -> str | None:
    return detect(content[:64], io.BytesIO(content))


def test_types_come_from_the_bytes() -> None:
    assert _detect(b"\x89PNG\r\n\x1a\nrest") == PNG
    assert _detect(b"\xff\xd8\xff\xdbrest") == JPEG
    assert _detect(b"%PDF-1.4 ...") == PDF
    assert _detect(docx()) == DOCX
    assert _detect("Zeilen mit Umlauten äöü\r\n\tand tabs".encode()) == TXT
    assert _detect(b"\xef\xbb\xbfwith a BOM") == TXT
    for bad in (HTML, SVG, EXE, zip_file(), b"", b"bad \x00 byte", b"\xff\xfe not utf-8", b"  <script>x</script>"):
        assert _detect(bad) is None, bad[:20]
    assert allowed("images", declared_type("image/JPG"), JPEG)
    assert not allowed("images", "image/png", JPEG)  # bytes differ from the declared type
    assert not allowed("documents", "image/gif", "image/gif")  # not a document type


def test_key_grammar() -> None:
    key = user_key(OWNER, "documents", PDF, UUID)
    assert key == f"users/{OWNER}/documents/{UUID}.pdf"
    parsed = parse_key(key)
    assert (parsed.kind, parsed.owner, parsed.content_type) == ("documents", OWNER, PDF)
    assert parse_key(f"invoices/2026/{OWNER}.pdf").kind == "invoices"
    for traversal in (f"users/{OWNER}/../x", "..", f"users\\..\\{OWNER}", "a/../b"):
        with pytest.raises(BadKey, match="Invalid file path"):
            parse_key(traversal)
    for other in (
        "/" + key,
        key + "/",
        f"users/{OWNER}/images/{UUID}.pdf",  # a document type in the images folder
        f"users/{OWNER}/documents/{UUID}.html",
        f"users/{OWNER.upper()}/documents/{UUID}.pdf",
        f"users/{OWNER}/documents/{UUID[:-1]}.pdf",
        f"users/{OWNER}/documents/./{UUID}.pdf",
        f"invoices/26/{OWNER}.pdf",
        "",
    ):
        with pytest.raises(BadKey, match="Access denied"):
            parse_key(other)


def test_formatted_size() -> None:
    assert [formatted_size(n) for n in (0, 1, 1023, 1024, 1536, 48213, 10 * 1024 * 1024, 3 * 1024**3)] == [
        "0 Bytes",
        "1 Bytes",
        "1023 Bytes",
        "1 KB",
        "1.5 KB",
        "47.08 KB",
        "10 MB",
        "3 GB",
    ]


def test_signed_urls_expire_and_bind_the_file_name() -> None:
    signer = UrlSigner("https://api.example.test/", b"secret")
    url = signer.signed("k", "a b.pdf", now=time.time())
    assert url.startswith("https://api.example.test/api/v1/storage/proxy?key=k&filename=a+b.pdf&expires=")
    expires = url.split("expires=")[1].split("&")[0]
    signature = url.split("signature=")[1]
    assert signer.valid("k", "a b.pdf", expires, signature)
    assert not signer.valid("k", "other.pdf", expires, signature)
    assert not signer.valid("k2", "a b.pdf", expires, signature)
    assert not UrlSigner("https://api.example.test", b"other").valid("k", "a b.pdf", expires, signature)
    old = signer.signed("k", "a b.pdf", now=time.time() - 3601)
    assert not signer.valid("k", "a b.pdf", old.split("expires=")[1].split("&")[0], old.split("signature=")[1])
