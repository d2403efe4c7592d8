"""Consultant settings commands: lazy creation, general update, availability and notifications.

The settings aggregate of a consultant has a deterministic id, so concurrent first uses create it
once; every update is an event that records the caller's patch and the resulting availability."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from application.marketplace import Marketplace
from domain.availability import (
    availability_problems,
    deep_merge,
    default_settings,
    merge_notifications,
    normalise_status,
    with_generated_slots,
)
from domain.errors import Conflict, Invalid, NotFound
from domain.ids import new_object_id, settings_id
from domain.settings import ConsultantSettings

VALIDATION_FAILED = "Validation failed"


def _with_ids(availability: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Give each working window and time-off entry an `_id`/`id`, keeping the id a window had before."""
    out = copy.deepcopy(availability)
    for name, day in (out.get("workingHours") or {}).items():
        before = {
            (w.get("start"), w.get("end")): w.get("_id")
            for w in ((previous.get("workingHours") or {}).get(name) or {}).get("slots") or []
        }
        for window in (day or {}).get("slots") or []:
            window_id = before.get((window.get("start"), window.get("end"))) or new_object_id()
            window["_id"] = window["id"] = window_id
    before_leave = {
        (t.get("startDate"), t.get("endDate"), t.get("type")): t.get("_id") for t in previous.get("timeOff") or []
    }
    for leave in out.get("timeOff") or []:
        leave_id = (
            before_leave.get((leave.get("startDate"), leave.get("endDate"), leave.get("type"))) or new_object_id()
        )
        leave["_id"] = leave["id"] = leave_id
        leave.setdefault("type", "personal")
        leave.setdefault("status", "approved")
        leave.setdefault("reason", "")
    return out


def effective_availability(stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Merge, normalise, validate and regenerate slots: the availability an update results in."""
    merged = deep_merge(stored, patch)
    if isinstance(merged.get("currentStatus"), str):
        merged["currentStatus"] = normalise_status(merged["currentStatus"])
    problems = availability_problems(merged)
    if problems:
        raise Invalid(VALIDATION_FAILED, problems)
    return with_generated_slots(_with_ids(merged, stored))


class SettingsService:
    def __init__(self, market: Marketplace, consultant_exists: Callable[[str], bool]):
        self.market = market
        self.consultant_exists = consultant_exists

    def _require_consultant(self, consultant_id: str) -> None:
        if not self.consultant_exists(consultant_id):
            raise NotFound("Consultant not found")

    def _load(self, consultant_id: str) -> ConsultantSettings | None:
        found = self.market.find(settings_id(consultant_id), snapshotted=True)
        return found if isinstance(found, ConsultantSettings) else None

    def _new(self, consultant_id: str, sections: dict[str, Any] | None = None) -> ConsultantSettings:
        document = default_settings()
        for key, value in (sections or {}).items():
            if key == "notifications":
                document[key] = merge_notifications(document[key], value)
            elif key == "availability":
                document[key] = effective_availability(document[key], value)
            else:
                document[key] = deep_merge(document.get(key), value)
        document["availability"] = _with_ids(document["availability"], {})
        return ConsultantSettings(consultant_id=consultant_id, settings_id=new_object_id(), document=document)

    def ensure(self, consultant_id: str) -> None:
        """Create the consultant's settings with the defaults unless they exist (first GET)."""
        self._require_consultant(consultant_id)

        def command() -> tuple[None, list[Any]]:
            return None, [] if self._load(consultant_id) else [self._new(consultant_id)]

        self.market.run(command)

    def create(self, consultant_id: str, sections: dict[str, Any]) -> None:
        self._require_consultant(consultant_id)

        def command() -> tuple[None, list[Any]]:
            if self._load(consultant_id) is not None:
                raise Conflict("Settings for this consultant already exist")
            return None, [self._new(consultant_id, sections)]

        self.market.run(command)

    def _change(self, consultant_id: str, change: Callable[[ConsultantSettings], Any]) -> Any:
        self._require_consultant(consultant_id)

        def command() -> tuple[Any, list[Any]]:
            settings = self._load(consultant_id) or self._new(consultant_id)
            return change(settings), [settings]

        return self.market.run(command)

    def availability_of(self, consultant_id: str) -> dict[str, Any]:
        settings = self._load(consultant_id)
        return settings.availability if settings else default_settings()["availability"]

    def update_availability(self, consultant_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        def change(settings: ConsultantSettings) -> dict[str, Any]:
            availability = effective_availability(settings.availability, patch)
            settings.update_availability(patch, availability)
            return availability

        return self._change(consultant_id, change)  # type: ignore[no-any-return]

    def update_notifications(self, consultant_id: str, given: dict[str, Any]) -> dict[str, bool]:
        def change(settings: ConsultantSettings) -> dict[str, bool]:
            notifications = merge_notifications(settings.document.get("notifications") or {}, given)
            settings.update_notifications(notifications)
            return notifications

        return self._change(consultant_id, change)  # type: ignore[no-any-return]

    def update(self, consultant_id: str, patch: dict[str, Any]) -> None:
        def change(settings: ConsultantSettings) -> None:
            document = copy.deepcopy(settings.document)
            for key, value in patch.items():
                if key == "notifications":
                    document[key] = merge_notifications(document.get(key) or {}, value)
                elif key == "availability":
                    document[key] = effective_availability(document.get(key) or {}, value)
                else:
                    document[key] = deep_merge(document.get(key), value)
            settings.update(patch, document)

        self._change(consultant_id, change)
