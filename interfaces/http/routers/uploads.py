"""`/upload` (contract platform §2): images and documents into the file store.

The multipart body is read as a stream (never buffered whole): Starlette's parser spools each file
part to a temporary file (in memory up to 1 MB, then on disk), and the stream is cut off with 413 as
soon as it passes the route's limit, so a refused upload never fills the disk either. The file's
type is then detected from its bytes, and the spooled file is copied to the store in chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from domain.files import (
    DOCUMENT_LIMIT,
    DOCUMENT_REFUSAL,
    HEAD_BYTES,
    IMAGE_LIMIT,
    IMAGE_REFUSAL,
    MAX_FILES,
    allowed,
    declared_type,
    detect,
    user_key,
)
from interfaces.http.deps import AppContainer, CurrentUser, Principal
from interfaces.http.envelope import ERROR_RESPONSES, Envelope, ok
from interfaces.http.errors import ApiError, requested_key

API = "/api/v1"
OVERHEAD = 64 * 1024  # multipart boundaries, part headers and small text parts
PART_OVERHEAD = 4 * 1024
# body limits of the streamed routes (interfaces.http.middleware.BodyLimit lets them through)
STREAMED_LIMITS = {
    f"{API}/upload/image": IMAGE_LIMIT + OVERHEAD,
    f"{API}/upload/document": DOCUMENT_LIMIT + OVERHEAD,
    f"{API}/upload/multiple": MAX_FILES * (DOCUMENT_LIMIT + PART_OVERHEAD) + OVERHEAD,
}
TOO_LARGE = "File too large"
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    413: {"description": "File too large"},
}
MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            }
        },
    }
}

router = APIRouter(prefix="/upload", tags=["uploads"], responses=FILE_RESPONSES)


class _TooLarge(Exception):
    pass


async def _form(request: Request, max_files: int, no_file: str, malformed: str, limit: int | None = None) -> FormData:
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ApiError(400, no_file)
    limit = limit if limit is not None else STREAMED_LIMITS[request.url.path]

    async def limited() -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise _TooLarge
            yield chunk

    parser = MultiPartParser(request.headers, limited(), max_files=max_files, max_fields=100)
    try:
        return await parser.parse()
    except _TooLarge:
        raise ApiError(413, TOO_LARGE) from None
    except MultiPartException:
        raise ApiError(400, malformed) from None  # unreadable multipart, or too many parts


def _files(form: FormData, name: str) -> list[UploadFile]:
    return [
        value
        for value in form.getlist(name)
        if isinstance(value, UploadFile) and (value.filename or (value.size or 0) > 0)
    ]


def _checked(upload: UploadFile, folder: str) -> str:
    """The detected type of a spooled upload, or the contract's refusal (413 / 400)."""
    limit, refusal = (IMAGE_LIMIT, IMAGE_REFUSAL) if folder == "images" else (DOCUMENT_LIMIT, DOCUMENT_REFUSAL)
    if (upload.size or 0) > limit:
        raise ApiError(413, TOO_LARGE)
    source = upload.file
    source.seek(0)
    detected = detect(source.read(HEAD_BYTES), source)
    if not allowed(folder, declared_type(upload.content_type), detected):
        raise ApiError(400, refusal)
    assert detected is not None
    return detected


def _store(app: Any, who: Principal, folder: str, uploads: list[UploadFile]) -> list[dict[str, Any]]:
    """Check every file first (a refused upload stores nothing), then copy each to the store."""
    types = [_checked(upload, folder) for upload in uploads]
    stored: list[dict[str, Any]] = []
    try:
        for upload, content_type in zip(uploads, types, strict=True):
            key = user_key(who.id, folder, content_type, str(uuid4()))
            upload.file.seek(0)
            size = app.store.put(key, upload.file)
            stored.append(
                {
                    "url": app.signer.plain(key),
                    "key": key,
                    "fileName": upload.filename or "",
                    "size": size,
                    "mimeType": content_type,
                }
            )
    except BaseException:
        for done in stored:
            app.store.delete(done["key"])
        raise
    return stored


async def _upload(request: Request, who: Principal, app: Any, part: str, folder: str, max_files: int) -> Any:
    no_file = "No files uploaded" if max_files > 1 else "No file uploaded"
    several = max_files > 1
    form = await _form(request, MAX_FILES + 1, no_file, "Unexpected field" if several else no_file)
    try:
        if several:
            unexpected = [k for k, v in form.multi_items() if isinstance(v, UploadFile) and k != part]
            uploads = _files(form, part)
            if unexpected or len(uploads) > max_files:
                raise ApiError(400, "Unexpected field")
        else:
            uploads = _files(form, part)[:1]
        if not uploads:
            raise ApiError(400, no_file)
        return await run_in_threadpool(_store, app, who, folder, uploads)
    finally:
        await form.close()


@router.post("/image", response_model=Envelope[dict[str, Any]], openapi_extra=MULTIPART_BODY)
async def upload_image(request: Request, who: CurrentUser, app: AppContainer) -> Any:
    """One image (JPEG, PNG, GIF, WebP; at most 5 MB) in the part `image`; `data.url` is public."""
    stored = await _upload(request, who, app, "image", "images", 1)
    return ok("Image uploaded successfully", stored[0])


@router.post("/document", response_model=Envelope[dict[str, Any]], openapi_extra=MULTIPART_BODY)
async def upload_document(request: Request, who: CurrentUser, app: AppContainer) -> Any:
    """One document (PDF, DOC, DOCX, TXT, JPEG, PNG; at most 10 MB) in the part `document`."""
    stored = await _upload(request, who, app, "document", "documents", 1)
    return ok("Document uploaded successfully", stored[0])


@router.post("/multiple", response_model=Envelope[dict[str, Any]], openapi_extra=MULTIPART_BODY)
async def upload_multiple(request: Request, who: CurrentUser, app: AppContainer) -> Any:
    """Up to 10 documents in parts named `files`."""
    stored = await _upload(request, who, app, "files", "documents", MAX_FILES)
    return ok("Files uploaded successfully", {"files": stored, "count": len(stored)})


@router.delete("", response_model=Envelope[dict[str, Any]])
async def delete_upload(
    who: CurrentUser, app: AppContainer, key: Annotated[str | None, Query(max_length=300)] = None
) -> Any:
    """The key's owner or an Admin; 409 while a document still points at the file."""
    parsed = requested_key(key)
    if parsed.owner is None or (parsed.owner != who.id and who.role != "Admin"):
        raise ApiError(403, "Access denied")
    if await run_in_threadpool(app.document_queries.references, key):
        raise ApiError(409, "File is used by a document")
    if not await run_in_threadpool(app.store.delete, key):
        raise ApiError(404, "File not found")
    return ok("File deleted successfully", {"key": key})
