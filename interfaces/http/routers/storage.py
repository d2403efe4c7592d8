"""`GET /storage/proxy` (contract platform §3.2, CONTRACT.md "Scope"): every stored file, served by
the service itself from the file store.

- `users/<owner>/images/...`: anyone, without a token (public by their unguessable URL);
- `users/<owner>/documents/...`: a valid signed URL, or a bearer / `?token=` of the owner, an Admin or
  Employee, or a party of a document pointing at the file;
- `invoices/<year>/<id>.pdf`: the payment's client, its consultant and admins; the PDF is rendered
  from the ledger on its first request and kept in the store.
The key must match the grammar exactly (`domain.files.parse_key`); the answer carries the type
detected at upload and `X-Content-Type-Options: nosniff`."""

from __future__ import annotations

import io
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from domain.files import TXT, Key, safe_name
from infrastructure.invoices import render_invoice
from interfaces.http.deps import bearer_token, container_of, current_principal
from interfaces.http.envelope import ERROR_RESPONSES
from interfaces.http.errors import ApiError, requested_key

router = APIRouter(prefix="/storage", tags=["storage"], responses=ERROR_RESPONSES)
IMAGE_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, max-age=0"


@router.get(
    "/proxy",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file's bytes"}},
)
async def proxy(
    request: Request,
    key: Annotated[str | None, Query(max_length=300)] = None,
    filename: Annotated[str | None, Query(max_length=255)] = None,
    view: str | None = None,
    expires: Annotated[str | None, Query(max_length=20)] = None,
    signature: Annotated[str | None, Query(max_length=128)] = None,
) -> Any:
    app = container_of(request)
    parsed = requested_key(key)
    stored_name: str | None = None
    if parsed.kind == "invoices":
        stored_name = await _invoice(request, app, parsed)
    elif parsed.kind == "documents":
        stored_name = await _document_access(request, app, parsed, filename, expires, signature)
    opened = await run_in_threadpool(app.store.open, key)
    if opened is None:
        raise ApiError(404, "File not found")
    size, chunks = opened
    name = filename or stored_name or key.rsplit("/", 1)[1]
    inline = view == "inline" or parsed.kind == "images"
    media_type = f"{TXT}; charset=utf-8" if parsed.content_type == TXT else parsed.content_type
    return StreamingResponse(
        chunks,
        media_type=media_type,
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{safe_name(name)}"; '
            f"filename*=UTF-8''{quote(name, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": IMAGE_CACHE if parsed.kind == "images" else PRIVATE_CACHE,
        },
    )


async def _document_access(
    request: Request, app: Any, key: Key, filename: str | None, expires: str | None, signature: str | None
) -> str | None:
    """Allow a valid signed URL, or a caller who may read the file; return its original name."""
    parties, original = await run_in_threadpool(app.document_queries.file_access, key.text)
    if signature and expires and app.signer.valid(key.text, filename or "", expires, signature):
        return original
    if bearer_token(request) is None and signature:
        raise ApiError(403, "Access denied")  # a forged or expired signed URL
    who = await current_principal(request)  # 401 without a token
    if who.id != key.owner and who.role not in ("Admin", "Employee") and who.id not in parties:
        raise ApiError(403, "Access denied")
    return original


async def _invoice(request: Request, app: Any, key: Key) -> str:
    """The invoice of a Success payment: its parties and admins; rendered into the store once."""
    who = await current_principal(request)
    transaction_id = key.text.rsplit("/", 1)[1].removesuffix(".pdf")
    found = await run_in_threadpool(app.ledger.document, transaction_id)
    if found is None or parse_qs(urlsplit(str(found.get("invoiceUrl", ""))).query).get("key") != [key.text]:
        raise ApiError(404, "File not found")
    if who.role != "Admin" and who.id not in (found.get("user"), found.get("consultant")):
        raise ApiError(403, "Forbidden: Access denied")
    if await run_in_threadpool(app.store.size, key.text) is None:
        await run_in_threadpool(_render_into_store, app, found, key.text)
    return f"INVOICE-{found['_id']}.pdf"


def _render_into_store(app: Any, transaction: dict[str, Any], key: str) -> None:
    parties = app.ledger.party_names([transaction.get("user"), transaction.get("consultant")])
    pdf = render_invoice(
        transaction,
        parties.get(transaction.get("user"), {}),
        parties.get(transaction.get("consultant"), {}),
        ZoneInfo(app.settings.business_timezone),
    )
    app.store.put(key, io.BytesIO(pdf))
