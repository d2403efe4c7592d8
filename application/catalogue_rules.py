"""What a consultant may pick for itself: only categories and subcategories of the catalogue (by id
or by exact title). Admins keep the contract's free names (an unknown title is stored as given)."""

from __future__ import annotations

from typing import Any

from application.ports import CatalogueLookup
from domain.errors import Invalid
from domain.ids import is_object_id


def _known(value: Any, by_id: Any, by_title: Any) -> bool:
    name = value.get("name") if isinstance(value, dict) else value
    if not isinstance(name, str) or not name.strip():
        return False
    return (by_id(name) if is_object_id(name) else by_title(name)) is not None


def refuse_names_outside_catalogue(changes: dict[str, Any], catalogue: CatalogueLookup) -> None:
    """400 `Validation failed` (one error per field) unless every category the change names exists.
    An empty subcategory clears it and is allowed."""
    errors = []
    if "category" in changes and not _known(changes["category"], catalogue.category, catalogue.category_by_title):
        errors.append({"field": "category", "message": '"category" must be a category of the catalogue'})
    sub = changes.get("subcategory")
    if (
        "subcategory" in changes
        and sub not in (None, "")
        and not (isinstance(sub, dict) and not sub.get("name"))
        and not _known(sub, catalogue.subcategory, catalogue.subcategory_by_title)
    ):
        errors.append({"field": "subcategory", "message": '"subcategory" must be a subcategory of the catalogue'})
    for index, entry in enumerate(changes.get("categories") or []):
        if isinstance(entry, dict) and not entry.get("categoryId") and entry.get("categoryName"):
            if catalogue.category_by_title(entry["categoryName"]) is None:
                errors.append(
                    {
                        "field": f"categories.{index}.categoryName",
                        "message": f'"categories[{index}].categoryName" must be a category of the catalogue',
                    }
                )
    if errors:
        raise Invalid("Validation failed", errors)
