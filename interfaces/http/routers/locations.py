"""`/locations` (contract platform §5): states and cities of India (GeoNames reference data shipped
with the service, CC BY 4.0) united with what consultants typed. `data` is a bare array of strings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from interfaces.http.deps import AppContainer, current_principal
from interfaces.http.envelope import ERROR_RESPONSES, Envelope, ok

router = APIRouter(
    prefix="/locations",
    tags=["locations"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(current_principal)],
)
SearchText = Annotated[str | None, Query(description="literal, case-insensitive substring (first 100 characters)")]
StateName = Annotated[str | None, Query(description="a state name, matched case-insensitively")]
STATES, CITIES = "States fetched successfully", "Cities fetched successfully"


def _locations(app: AppContainer) -> Any:
    assert app.platform is not None
    return app.platform.locations


@router.get("/states", response_model=Envelope[list[str]])
def states(app: AppContainer) -> Any:
    return ok(STATES, _locations(app).states())


@router.get("/cities", response_model=Envelope[list[str]])
def cities(app: AppContainer, state: StateName = None) -> Any:
    return ok(CITIES, _locations(app).cities(state=state))


@router.get("/states/search", response_model=Envelope[list[str]])
def search_states(app: AppContainer, q: SearchText = None) -> Any:
    return ok(STATES, _locations(app).states(q=q))


@router.get("/cities/search", response_model=Envelope[list[str]])
def search_cities(app: AppContainer, q: SearchText = None, state: StateName = None) -> Any:
    return ok(CITIES, _locations(app).cities(state=state, q=q))
