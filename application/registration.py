"""Resolution of the categories a consultant registers under (contract auth §3.1, issue: multiple
categories at registration)."""

from __future__ import annotations

from typing import Any

from application.ports import CatalogueLookup
from domain.errors import Invalid
from domain.ids import is_object_id, new_object_id
from domain.profiles import category_snapshot


def _lookup(kind: str, finder: Any, item_id: str) -> dict[str, Any]:
    if not is_object_id(item_id):
        raise Invalid("Invalid ID format")
    found = finder(item_id)
    if found is None:
        raise Invalid(f"{kind} {item_id} does not exist")
    return found


def resolve_categories(entries: list[dict[str, Any]], catalogue: CatalogueLookup) -> list[dict[str, Any]]:
    """Each entry `{categoryId, categoryName?, subcategoryId?, subcategoryName?}` becomes the stored
    entry with names from the catalogue; an empty subcategory id is stored as null; a subcategory
    of another category is refused."""
    resolved = []
    for entry in entries:
        category_id = entry.get("categoryId") or None
        subcategory_id = entry.get("subcategoryId") or None
        category_name = entry.get("categoryName") or "General"
        subcategory_name = entry.get("subcategoryName") or ""
        if category_id:
            category = _lookup("Category", catalogue.category, category_id)
            category_name = category.get("title") or "General"
        if subcategory_id:
            subcategory = _lookup("Subcategory", catalogue.subcategory, subcategory_id)
            subcategory_name = subcategory.get("title") or ""
            if category_id and subcategory.get("parentCategory") != category_id:
                raise Invalid(f'Subcategory "{subcategory_name}" does not belong to category "{category_name}"')
        resolved.append(
            {
                "_id": new_object_id(),
                "categoryId": category_id,
                "categoryName": category_name,
                "subcategoryId": subcategory_id,
                "subcategoryName": subcategory_name,
            }
        )
    return resolved


def snapshot_from(
    value: Any, finder_by_id: Any, finder_by_title: Any | None, default_name: str, *, ids_only: bool
) -> dict[str, str]:
    """The legacy single `category`/`subcategory` snapshot from an id, a title or an object."""
    if isinstance(value, dict):
        return category_snapshot(
            value.get("name") or default_name, value.get("description") or "", value.get("imageUrl") or ""
        )
    if not isinstance(value, str) or value == "":
        return category_snapshot(default_name)
    if is_object_id(value):
        found = finder_by_id(value)
        if found:
            return category_snapshot(
                found.get("title") or default_name, found.get("description") or "", found.get("image") or ""
            )
        return category_snapshot(default_name)
    if ids_only:
        raise Invalid("Invalid ID format")
    if finder_by_title is not None:
        found = finder_by_title(value)
        if found:
            return category_snapshot(
                found.get("title") or value, found.get("description") or "", found.get("image") or ""
            )
    return category_snapshot(value)


def primary_category(
    resolved: list[dict[str, Any]], category: Any, subcategory: Any, catalogue: CatalogueLookup, *, ids_only: bool
) -> tuple[dict[str, str], dict[str, str]]:
    """`category`/`subcategory` mirror the first entry of `categories`; else the legacy fields."""
    if resolved:
        first = resolved[0]
        return category_snapshot(first["categoryName"]), category_snapshot(first["subcategoryName"] or "")
    primary = snapshot_from(
        category, catalogue.category, None if ids_only else catalogue.category_by_title, "General", ids_only=ids_only
    )
    secondary = snapshot_from(
        subcategory, catalogue.subcategory, None if ids_only else catalogue.subcategory_by_title, "", ids_only=ids_only
    )
    return primary, secondary
