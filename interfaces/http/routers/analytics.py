"""`/analytics` (contract analytics §1–§4 with the decisions of CONTRACT.md): SQL over the DuckDB
reporting store, answered by the process that owns it (API processes forward these paths to
`REPORTING_URL`, see `interfaces/http/forwarding.py`). `?format=csv` downloads the same numbers."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from domain.errors import Forbidden, Invalid, NotFound
from interfaces.http.deps import HEX_ID, AppContainer, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Envelope, ok
from interfaces.http.errors import ApiError
from reporting.csv_export import consultant_csv, overview_csv
from reporting.periods import BadParameter, Period
from reporting.service import Analytics, NotLinked, UnknownClient

router = APIRouter(prefix="/analytics", tags=["analytics"], responses=ERROR_RESPONSES)
Text = Annotated[str | None, Query()]


def _analytics(app: AppContainer) -> Analytics:
    if app.analytics is None:  # an API process without REPORTING_URL: nobody to forward to
        raise ApiError(503, "Analytics are served by the reporting process; set REPORTING_URL")
    return app.analytics


def _period(
    analytics: Analytics, view_type: str | None, year: str | None, month: str | None, output: str | None
) -> tuple[Period, bool]:
    try:
        period = analytics.period(view_type, year, month)
    except BadParameter as error:
        raise Invalid("Validation failed", [{"field": error.field, "message": error.message}]) from None
    if output not in (None, "", "json", "csv"):
        raise Invalid("Validation failed", [{"field": "format", "message": "format must be csv or json"}])
    return period, output == "csv"


def _csv(body: str, filename: str) -> Response:
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/overview",
    response_model=Envelope[dict[str, Any]],
    summary="Platform overview (Admin); ?format=csv for the CSV export",
)
def overview(
    app: AppContainer,
    _: Annotated[Principal, Depends(require("Admin"))],
    viewType: Text = None,
    year: Text = None,
    month: Text = None,
    format: Text = None,
) -> Any:  # noqa: A002 - the contract's parameter name
    analytics = _analytics(app)
    period, as_csv = _period(analytics, viewType, year, month, format)
    data = analytics.overview(period)
    if as_csv:
        return _csv(overview_csv(data), period.filename("analytics-overview"))
    return ok("Analytics overview", data)


@router.get(
    "/consultant",
    response_model=Envelope[dict[str, Any]],
    summary="The calling consultant's own stats; ?format=csv for the CSV export",
)
def consultant(
    app: AppContainer,
    me: Annotated[Principal, Depends(require("Consultant"))],
    viewType: Text = None,
    year: Text = None,
    month: Text = None,
    format: Text = None,
) -> Any:  # noqa: A002
    analytics = _analytics(app)
    period, as_csv = _period(analytics, viewType, year, month, format)
    data = analytics.consultant(me.id, period)
    if as_csv:
        return _csv(consultant_csv(data), period.filename("consultant-analytics"))
    return ok("Consultant stats fetched", data)


@router.get("/client", response_model=Envelope[dict[str, Any]], summary="The calling client's own stats")
def client(
    app: AppContainer,
    me: Annotated[Principal, Depends(require("Client"))],
    viewType: Text = None,
    year: Text = None,
    month: Text = None,
) -> Any:
    analytics = _analytics(app)
    period, _ = _period(analytics, viewType, year, month, None)
    return ok("Client stats fetched", analytics.client(me.id, period))


@router.get(
    "/client/{client_id}",
    response_model=Envelope[dict[str, Any]],
    summary="One client's stats (Admin; a Consultant only for its own clients)",
)
def client_detail(
    app: AppContainer,
    me: Annotated[Principal, Depends(require("Consultant", "Admin"))],
    client_id: Annotated[str, Path(description="24-character hex id")],
) -> Any:
    if not re.match(HEX_ID, client_id):
        raise Invalid("Invalid ID format")
    analytics = _analytics(app)
    try:
        data = analytics.client_detail(client_id.lower(), me.id if me.role == "Consultant" else None)
    except UnknownClient:
        raise NotFound("Client not found") from None
    except NotLinked:
        raise Forbidden("Forbidden: Access denied") from None
    return ok("Client stats fetched", data)
