"""Stored files (contract platform §1.2, §2, §3.2): the key grammar, the upload limits and the file
types, detected from the bytes (magic numbers), never from what the client declares."""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

IMAGE_LIMIT = 5 * 1024 * 1024  # bytes of file content: exactly this passes, one more fails
DOCUMENT_LIMIT = 10 * 1024 * 1024
MAX_FILES = 10  # `/upload/multiple`

JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
PDF, DOC, TXT = "application/pdf", "application/msword", "text/plain"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

EXTENSION = {JPEG: "jpg", PNG: "png", GIF: "gif", WEBP: "webp", PDF: "pdf", DOC: "doc", DOCX: "docx", TXT: "txt"}
TYPE_OF_EXTENSION = {extension: mime for mime, extension in EXTENSION.items()}

IMAGE_TYPES = frozenset({JPEG, PNG, GIF, WEBP})
DOCUMENT_TYPES = frozenset({PDF, DOC, DOCX, TXT, JPEG, PNG})
DECLARED_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG}

IMAGE_REFUSAL = "Invalid file type. Only JPEG, PNG, GIF, and WebP images are allowed."
DOCUMENT_REFUSAL = "Invalid file type. Only PDF, DOC, DOCX, TXT, and image files are allowed."

_HEX24 = r"[0-9a-f]{24}"
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
USER_KEY = re.compile(rf"^users/({_HEX24})/(images|documents)/({_UUID})\.([a-z]+)$")
INVOICE_KEY = re.compile(rf"^invoices/(\d{{4}})/({_HEX24})\.pdf$")
FOLDER_TYPES = {"images": IMAGE_TYPES, "documents": DOCUMENT_TYPES}


@dataclass(frozen=True)
class Key:
    """A well-formed storage key: `users/<owner>/<folder>/<uuid>.<ext>` or `invoices/<year>/<id>.pdf`."""

    text: str
    kind: str  # "images" | "documents" | "invoices"
    owner: str | None  # the uploader's account id (users/ keys)
    content_type: str


class BadKey(Exception):
    """`message` is the contract's refusal: `Invalid file path` (a `..` segment) or `Access denied`."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def parse_key(text: str) -> Key:
    """Accept a key only if it matches the grammar exactly (no `..`, empty or `.` segment, backslash,
    leading `/`, percent-encoding or any other shape)."""
    if ".." in text.replace("\\", "/").split("/"):
        raise BadKey("Invalid file path")
    user = USER_KEY.match(text)
    if user is not None:
        owner, folder, _, extension = user.groups()
        content_type = TYPE_OF_EXTENSION.get(extension)
        if content_type is None or content_type not in FOLDER_TYPES[folder]:
            raise BadKey("Access denied")
        return Key(text, folder, owner, content_type)
    if INVOICE_KEY.match(text) is not None:
        return Key(text, "invoices", None, PDF)
    raise BadKey("Access denied")


def user_key(owner: str, folder: str, content_type: str, uuid: str) -> str:
    return f"users/{owner}/{folder}/{uuid}.{EXTENSION[content_type]}"


def declared_type(value: str | None) -> str:
    base = (value or "").split(";", 1)[0].strip().lower()
    return DECLARED_ALIASES.get(base, base)


HEAD_BYTES = 64
_MARKUP = re.compile(rb"^\s*<(\?xml|!doctype|html|head|body|script|svg|iframe|object|embed|meta|a\s|div|img)", re.I)


def detect(head: bytes, source: BinaryIO) -> str | None:
    """The type of a file from its bytes: `head` = its first bytes, `source` = the whole (seekable)
    file for the checks that need more (a ZIP's directory for DOCX, every byte for plain text).
    None for anything else (HTML, SVG, executables, archives, empty files)."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2 compound file (Word 97-2003)
        return DOC
    if head.startswith(b"PK\x03\x04"):
        return DOCX if _is_docx(source) else None
    if head and _is_plain_text(source):
        return TXT
    return None


def _is_docx(source: BinaryIO) -> bool:
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return "[Content_Types].xml" in names and "word/document.xml" in names


def _is_plain_text(source: BinaryIO, chunk_size: int = 1 << 16) -> bool:
    """UTF-8 (with or without BOM) text without NUL or other control bytes, that is not markup
    (HTML, SVG and XML are never accepted: the service serves uploads from its own origin)."""
    source.seek(0)
    first = source.read(chunk_size)
    if _MARKUP.match(first.removeprefix(b"\xef\xbb\xbf")):
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk = first
    while chunk:
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
        if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
            return False
        chunk = source.read(chunk_size)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def allowed(folder: str, declared: str, detected: str | None) -> bool:
    """The declared type is one the route takes and the bytes are exactly that type."""
    types = FOLDER_TYPES[folder]
    return declared in types and detected == declared


def safe_name(name: str) -> str:
    """A file name for `Content-Disposition: filename="..."` (the original's rule)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "file"
