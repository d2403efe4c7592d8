"""`/appointments`: available slots (contract availability §4 with the decisions of CONTRACT.md).

Validation errors on these routes carry the field messages joined by ", " as `message`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from domain.errors import Invalid, NotFound
from domain.ids import is_object_id
from interfaces.http.deps import AppContainer, CurrentUser
from interfaces.http.envelope import ERROR_RESPONSES, Envelope, ok

router = APIRouter(prefix="/appointments", tags=["appointments"], responses=ERROR_RESPONSES)
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


@router.get("/available-slots", response_model=Envelope[list[str]])
def available_slots(
    who: CurrentUser,
    app: AppContainer,
    consultant: Annotated[str, Query(description="Consultant _id")],
    date_: Annotated[str, Query(alias="date", pattern=DATE_PATTERN, description="business-time-zone date")],
    slotDurationMin: Annotated[int | None, Query(ge=15, le=480)] = None,
    startHour: Annotated[int | None, Query(ge=0, le=23)] = None,
    endHour: Annotated[int | None, Query(ge=0, le=23)] = None,
) -> Any:
    """Open `"HH:mm - HH:mm"` slots, sorted; the caller's own live hold still shown. `slotDurationMin`,
    `startHour` and `endHour` are accepted for compatibility: slots follow the consultant's settings."""
    try:
        day = date.fromisoformat(date_)
    except ValueError:
        raise Invalid(f'"date" with value "{date_}" is not a valid calendar date') from None
    consultant_id = consultant.lower()
    slots = app.slots.open_slots(consultant_id, day, who.id, who.role) if is_object_id(consultant_id) else None
    if slots is None:
        raise NotFound("Consultant not found")
    return ok("Available slots fetched", slots)
