"""Categories and subcategories of the catalogue."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import aggregate_id

CATEGORY_STATUSES = ("Active", "Inactive")


class Category(Aggregate):
    """A category; `parent_id` is set for a subcategory (one class, so one lifecycle to get right)."""

    @staticmethod
    def create_id(category_id: str) -> UUID:  # type: ignore[override]
        return aggregate_id(category_id)

    @event("Created")
    def __init__(self, category_id: str, fields: dict[str, Any], parent_id: str | None) -> None:
        self.category_id = category_id
        self.fields = dict(fields)
        self.parent_id = parent_id
        self.deleted = False

    @property
    def title(self) -> str:
        return str(self.fields.get("title", ""))

    @property
    def is_subcategory(self) -> bool:
        return self.parent_id is not None

    @event("Updated")
    def update(self, changes: dict[str, Any], parent_id: str | None) -> None:
        self.fields = {**self.fields, **changes}
        self.parent_id = parent_id

    @event("Deleted")
    def delete(self, cascaded_from: str | None = None) -> None:
        self.deleted = True
