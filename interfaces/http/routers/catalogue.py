"""`/categories` and `/subcategories` (contract auth §5), with stats computed on every read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from domain.errors import Invalid, NotFound
from domain.ids import is_object_id
from interfaces.http.deps import AppContainer, ObjectIdPath, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, ok
from interfaces.http.fields import Body, ObjectIdStr, PartialBody, length

router = APIRouter(tags=["catalogue"], responses=ERROR_RESPONSES)
Admin = Annotated[Principal, Depends(require("Admin"))]
Title = Annotated[str, length(2, 100, "title")]
STAT_KEYS = ("consultants", "clients", "monthlyRevenue")


class CategoryFields(Body):
    nullable = frozenset({"description", "image"})

    description: Annotated[str, Field(max_length=500)] | None = None
    rating: Annotated[float, Field(ge=0, le=5)] | None = None
    consultants: Annotated[int, Field(ge=0)] | None = None
    clients: Annotated[int, Field(ge=0)] | None = None
    monthlyRevenue: Annotated[float, Field(ge=0)] | None = None
    status: Literal["Active", "Inactive"] | None = None
    image: str | None = None


class CategoryCreate(CategoryFields):
    title: Title


class CategoryUpdate(PartialBody, CategoryFields):
    title: Title | None = None


class SubcategoryCreate(CategoryCreate):
    parentCategory: ObjectIdStr


class SubcategoryUpdate(CategoryUpdate):
    parentCategory: ObjectIdStr | None = None


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


def _with_stats(doc: dict[str, Any], stats: dict[str, float]) -> dict[str, Any]:
    return {**doc, **{key: _number(stats.get(key, 0)) for key in STAT_KEYS}}


def _categories(app: Any) -> list[dict[str, Any]]:
    stats = app.directory.subcategory_stats()
    subs_by_parent: dict[str, list[dict[str, Any]]] = {}
    for sub in app.directory.category_documents(subcategories=True):
        subs_by_parent.setdefault(sub.get("parentCategory"), []).append(sub)
    out = []
    for category in app.directory.category_documents(subcategories=False):
        active = [
            _with_stats(sub, stats.get(sub["_id"], {}))
            for sub in subs_by_parent.get(category["_id"], [])
            if sub.get("status") == "Active"
        ]
        totals = {key: sum(sub[key] for sub in active) for key in STAT_KEYS}
        out.append({**_with_stats(category, totals), "subcategories": active})
    return out


def _category_view(app: Any, category_id: str) -> dict[str, Any]:
    for category in _categories(app):
        if category["_id"] == category_id:
            return {k: v for k, v in category.items() if k != "subcategories"}
    raise NotFound("Category not found")


def _populated(app: Any, sub: dict[str, Any], stats: dict[str, Any], titles: dict[str, str]) -> dict[str, Any]:
    parent = sub.get("parentCategory")
    populated = {"_id": parent, "title": titles[parent]} if parent in titles else None
    return {**_with_stats(sub, stats.get(sub["_id"], {})), "parentCategory": populated}


def _subcategory_view(app: Any, sub_id: str) -> dict[str, Any]:
    sub = app.directory.subcategory(sub_id)
    if sub is None:
        raise NotFound("Subcategory not found")
    parent = app.directory.category(sub.get("parentCategory", ""))
    titles = {parent["_id"]: parent["title"]} if parent else {}
    return _populated(app, sub, app.directory.subcategory_stats(), titles)


@router.get("/categories", response_model=Envelope[list[Document]])
def list_categories(app: AppContainer) -> Any:
    return ok("Categories fetched", _categories(app))


@router.post("/categories", status_code=201, response_model=Envelope[Document])
def create_category(body: CategoryCreate, _: Admin, app: AppContainer) -> Any:
    category_id = app.people.create_category(body.model_dump(exclude_unset=True))
    return ok("Category created", _category_view(app, category_id), 201)


@router.patch("/categories/{id}", response_model=Envelope[Document])
def update_category(id: ObjectIdPath, body: CategoryUpdate, _: Admin, app: AppContainer) -> Any:
    app.people.update_category(id, body.given(), subcategory=False)
    return ok("Category updated", _category_view(app, id))


@router.delete("/categories/{id}", response_model=Envelope[dict[str, str]])
def delete_category(id: ObjectIdPath, _: Admin, app: AppContainer) -> Any:
    app.people.delete_category(id, subcategory=False)
    return ok("Category deleted", {"deletedId": id})


@router.get("/subcategories", response_model=Envelope[list[Document]])
def list_subcategories(app: AppContainer, categoryId: Annotated[str | None, Query()] = None) -> Any:
    if categoryId is not None and not is_object_id(categoryId.lower()):
        raise Invalid("Invalid ID format")
    subs = app.directory.category_documents(categoryId.lower() if categoryId else None, subcategories=True)
    titles = {c["_id"]: c["title"] for c in app.directory.category_documents(subcategories=False)}
    stats = app.directory.subcategory_stats()
    return ok("Subcategories fetched", [_populated(app, sub, stats, titles) for sub in subs])


@router.get("/subcategories/{id}", response_model=Envelope[Document])
def get_subcategory(id: ObjectIdPath, app: AppContainer) -> Any:
    return ok("Subcategory fetched", _subcategory_view(app, id))


@router.post("/subcategories", status_code=201, response_model=Envelope[Document])
def create_subcategory(body: SubcategoryCreate, _: Admin, app: AppContainer) -> Any:
    fields = body.model_dump(exclude_unset=True)
    parent = fields.pop("parentCategory").lower()
    sub_id = app.people.create_category(fields, parent_id=parent)
    return ok("Subcategory created", _subcategory_view(app, sub_id), 201)


@router.patch("/subcategories/{id}", response_model=Envelope[Document])
def update_subcategory(id: ObjectIdPath, body: SubcategoryUpdate, _: Admin, app: AppContainer) -> Any:
    changes = body.given()
    if changes.get("parentCategory"):
        changes["parentCategory"] = changes["parentCategory"].lower()
    app.people.update_category(id, changes, subcategory=True)
    return ok("Subcategory updated", _subcategory_view(app, id))


@router.delete("/subcategories/{id}", response_model=Envelope[dict[str, str]])
def delete_subcategory(id: ObjectIdPath, _: Admin, app: AppContainer) -> Any:
    app.people.delete_category(id, subcategory=True)
    return ok("Subcategory deleted", {"deletedId": id})
