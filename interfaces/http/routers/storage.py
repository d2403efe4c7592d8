"""`/storage/proxy` (CONTRACT.md "Scope"): invoice PDFs only, rendered from the ledger. Bearer or
`?token=`; the payment's client, its consultant and admins only; other keys are 404."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response

from domain.errors import Forbidden, NotFound
from infrastructure.invoices import render_invoice
from interfaces.http.deps import AppContainer, CurrentUser
from interfaces.http.envelope import ERROR_RESPONSES

router = APIRouter(prefix="/storage", tags=["storage"], responses=ERROR_RESPONSES)
INVOICE_KEY = re.compile(r"^invoices/(\d{4})/([0-9a-f]{24})\.pdf$")


@router.get(
    "/proxy",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the invoice PDF"}},
)
def proxy(
    who: CurrentUser,
    app: AppContainer,
    key: Annotated[str, Query(max_length=200)],
    filename: Annotated[str | None, Query(max_length=200)] = None,
    view: str | None = None,
) -> Any:
    match = INVOICE_KEY.match(key)
    found = app.ledger.document(match.group(2)) if match else None
    if found is None or parse_qs(urlsplit(str(found.get("invoiceUrl", ""))).query).get("key") != [key]:
        raise NotFound("File not found")
    if who.role != "Admin" and who.id not in (found.get("user"), found.get("consultant")):
        raise Forbidden("Forbidden: Access denied")
    parties = app.ledger.party_names([found.get("user"), found.get("consultant")])
    pdf = render_invoice(
        found,
        parties.get(found.get("user"), {}),
        parties.get(found.get("consultant"), {}),
        ZoneInfo(app.settings.business_timezone),
    )
    name = filename or f"INVOICE-{found['_id']}.pdf"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    disposition = "inline" if view == "inline" else "attachment"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"{disposition}; filename=\"{safe}\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, max-age=0",
        },
    )
