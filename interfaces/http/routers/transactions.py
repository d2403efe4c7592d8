"""`/transactions` (contract analytics §5.2, §5.3): the ledger list and manual payouts.

These routes answer raw bodies (`{data, total, page, limit}`, `{message, data}`, `{message}`) as
the existing backend did, not the `{success, message, data}` envelope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from domain.errors import DomainError
from domain.ids import is_object_id
from domain.ledger import KINDS
from domain.money import AmountRefused
from interfaces.http.deps import AppContainer, CurrentUser
from interfaces.http.envelope import CompactJSONResponse
from interfaces.http.errors import status_of
from interfaces.http.fields import MAX_PAGE
from interfaces.http.money import ExactJsonRoute
from interfaces.http.routers.payments import positive_amount

router = APIRouter(prefix="/transactions", tags=["transactions"], route_class=ExactJsonRoute)


def _message(status: int, message: str) -> JSONResponse:
    return CompactJSONResponse({"message": message}, status_code=status)


def _whole(value: str | None, default: int) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return None


@router.get("", responses={400: {"description": "malformed page, limit, type or consultant"}})
def list_transactions(
    request: Request,
    who: CurrentUser,
    app: AppContainer,
    page: str | None = None,
    limit: str | None = None,
    type: str | None = None,
    consultant: str | None = None,
) -> Any:
    """Newest first. Admin: all, or `consultant=X` (user or consultant X); consultant: its own;
    others: where they are the user or the consultant. `limit` (default 10) is clamped to 1..100."""
    page_number, size = _whole(page, 1), _whole(limit, 10)
    if page_number is None or not 1 <= page_number <= MAX_PAGE:
        return _message(400, "Invalid page: a positive integer is required")
    if size is None:
        return _message(400, "Invalid limit: an integer is required")
    size = min(max(size, 1), 100)
    if type and type not in KINDS:
        return _message(400, f"Invalid type: one of {', '.join(KINDS)}")
    if consultant and not is_object_id(consultant.lower()):
        return _message(400, "Invalid consultant ID")
    if who.role == "Admin":
        party, consultant_only = (consultant.lower() if consultant else None), False
    elif who.role == "Consultant":
        party, consultant_only = who.id, True
    else:
        party, consultant_only = who.id, False
    data, total = app.ledger.list(
        party=party, consultant_only=consultant_only, kind=type or None, page=page_number, limit=size
    )
    return CompactJSONResponse({"data": data, "total": total, "page": page_number, "limit": size})


@router.post("/payout", status_code=201, responses={400: {"description": "bad input or over the balance"}})
async def payout(request: Request, who: CurrentUser, app: AppContainer) -> Any:
    """Admin: record a manual payout `{consultantId, amount, notes?, referenceId?}`. Idempotent on
    `referenceId` (a replay answers 200 with the first payout); refused when over the remaining balance."""
    if who.role != "Admin":
        return _message(403, "Access denied. Admins only.")
    try:
        body = await request.json()
    except ValueError:
        return _message(400, "Malformed JSON body")
    if not isinstance(body, dict):
        return _message(400, "Consultant ID and Amount are required")
    consultant_id, raw_amount = body.get("consultantId"), body.get("amount")
    if not consultant_id or raw_amount in (None, "", 0, False):
        return _message(400, "Consultant ID and Amount are required")
    if not isinstance(consultant_id, str) or not is_object_id(consultant_id.lower()):
        return _message(400, "Invalid consultant ID")
    try:
        amount = positive_amount(raw_amount)
    except AmountRefused as refusal:  # over MAX_AMOUNT
        return _message(400, refusal.message)
    if amount is None:
        return _message(400, "Amount must be a positive number with at most two decimals")
    notes, reference = body.get("notes"), body.get("referenceId")
    if (notes is not None and not isinstance(notes, str)) or (reference is not None and not isinstance(reference, str)):
        return _message(400, "notes and referenceId must be strings")
    if any("\x00" in text for text in (notes, reference) if text):
        return _message(400, "notes and referenceId must not contain NUL characters")
    if notes is not None and len(notes) > 1000:
        return _message(400, "notes must be at most 1000 characters")
    if reference is not None and not (1 <= len(reference.strip()) <= 100):
        return _message(400, "referenceId must be 1 to 100 characters")
    try:
        tx, replay = await _in_thread(
            app.payouts.payout, who.id, consultant_id.lower(), amount, notes, reference.strip() if reference else None
        )
    except DomainError as error:
        return _message(status_of(error), error.message)
    document = app.ledger.document(tx.transaction_id)
    if replay:
        return CompactJSONResponse({"message": "Payout already recorded", "data": document}, status_code=200)
    return CompactJSONResponse({"message": "Payout recorded successfully", "data": document}, status_code=201)


async def _in_thread(function: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args)
