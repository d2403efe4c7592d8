"""The profile routes' multipart form (contract auth §6.3, §6.5; platform §1.2): `POST /consultants` and
`PATCH /consultants/:id` with an `image` part, `PATCH /clients/profile` with an `avatar` part.

These routes only match multipart/form-data requests (`MultipartRoute`); a JSON body still goes to the
JSON routes of `consultants` and `clients`, unchanged. Roles are decided first (the same dependencies
as the JSON routes), then the body is read as a stream with its own limit (`MULTIPART_LIMITS`, which
`BodyLimit` lets through), the image is checked as `POST /upload/image` checks it (type detected from
the bytes, 5 MB), the other parts are validated by the JSON route's own model, and only then is the
image stored (key `users/<uploader id>/images/<uuid>.<ext>`) and its absolute URL put into the
profile's `image` / `avatar`. If the profile change is refused, the stored image is removed again.

Form fields are text: a field whose type takes text keeps the text as sent; any other field (numbers,
booleans, lists, objects such as `fees`, `marketingConsent`, `education`, `socials`) is read as JSON
when its text is JSON (`fees=1500`, `education=[{...}]`), and is otherwise validated as the text."""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin
from uuid import uuid4

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.routing import Match

from domain.files import IMAGE_LIMIT, user_key
from interfaces.http.deps import AppContainer, ObjectIdPath, Principal
from interfaces.http.envelope import Document, Envelope, ok
from interfaces.http.money import ExactJsonRoute, loads_exact
from interfaces.http.routers import clients, consultants
from interfaces.http.routers.uploads import FILE_RESPONSES, OVERHEAD, _checked, _files, _form

API = "/api/v1"
M = TypeVar("M", bound=BaseModel)
FORM_OVERHEAD = 256 * 1024  # the profile's text fields besides the image
PROFILE_LIMIT = IMAGE_LIMIT + OVERHEAD + FORM_OVERHEAD
_ID = "[0-9a-fA-F]{24}"
# (method, path, body limit) of the multipart bodies BodyLimit streams to these handlers
MULTIPART_LIMITS: list[tuple[str, re.Pattern[str], int]] = [
    ("POST", re.compile(rf"{API}/consultants/?"), PROFILE_LIMIT),
    ("PATCH", re.compile(rf"{API}/consultants/{_ID}/?"), PROFILE_LIMIT),
    ("PATCH", re.compile(rf"{API}/clients/profile/?"), PROFILE_LIMIT),
]


class MultipartRoute(ExactJsonRoute):
    """Matches multipart/form-data requests only (others fall through to the JSON route of the same
    path); the exact-number context of `ExactJsonRoute` applies to its amounts too."""

    def matches(self, scope: Any) -> tuple[Match, dict[str, Any]]:
        if scope["type"] == "http":
            content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
            if not content_type.lower().startswith(b"multipart/form-data"):
                return Match.NONE, {}
        return super().matches(scope)


router = APIRouter(tags=["profile images"], responses=FILE_RESPONSES)


def _takes_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _takes_text(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_takes_text(arg) for arg in get_args(annotation))
    if origin is Literal:
        return all(isinstance(arg, str) for arg in get_args(annotation))
    return False


def _field_value(model: type[BaseModel], name: str, text: str) -> Any:
    field = model.model_fields.get(name)
    if field is None or _takes_text(field.annotation):
        return text
    try:
        return loads_exact(text)
    except ValueError:
        return text  # validated as the text: the model's own message


def form_fields(model: type[BaseModel], form: FormData, part: str) -> dict[str, Any]:
    """The text parts as the JSON body they stand for (a repeated name gives a list of its texts)."""
    data: dict[str, Any] = {}
    for name in {name for name, value in form.multi_items() if isinstance(value, str)}:
        texts = [value for value in form.getlist(name) if isinstance(value, str)]
        if name == part and not texts[-1]:
            continue  # an empty text in the file's part: no image sent
        data[name] = texts if len(texts) > 1 else _field_value(model, name, texts[0])
    return data


def validated(model: type[M], data: dict[str, Any]) -> M:
    """The JSON route's model over the form's fields; refusals are the JSON route's (400 envelope)."""
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors(include_url=False)]
        ) from None


async def profile_form(request: Request, who: Principal, app: Any, model: type[M], part: str) -> tuple[M, str | None]:
    """Read and validate the form and store its image; answers the body and the stored key (or None)."""
    # at most the image and one stray file part; more, or an unreadable body: 400 as /upload/multiple says
    form = await _form(request, 2, "No file uploaded", "Unexpected field", PROFILE_LIMIT)
    try:
        data = form_fields(model, form, part)
        images = _files(form, part)[:1]
        key = None
        if images:
            content_type = await run_in_threadpool(_checked, images[0], "images")
            key = user_key(who.id, "images", content_type, str(uuid4()))
            data[part] = app.signer.plain(key)
        body = validated(model, data)
        if key is not None:
            images[0].file.seek(0)
            await run_in_threadpool(app.store.put, key, images[0].file)
        return body, key
    finally:
        await form.close()


def _undo(app: Any, key: str | None) -> None:
    if key is not None:
        app.store.delete(key)


async def create_consultant_form(request: Request, who: consultants.Admin, app: AppContainer) -> Any:
    body, key = await profile_form(request, who, app, consultants.ConsultantCreate, "image")
    try:
        consultant_id = await run_in_threadpool(app.people.create_consultant, body.fields())
    except BaseException:
        await run_in_threadpool(_undo, app, key)
        raise
    doc = await run_in_threadpool(consultants._consultant, app, consultant_id)
    return ok("Consultant created", consultants.list_view(doc), 201)


async def update_consultant_form(
    id: ObjectIdPath, request: Request, who: consultants.SelfOrAdmin, app: AppContainer
) -> Any:
    body, key = await profile_form(request, who, app, consultants.ConsultantUpdate, "image")
    changes = body.fields()
    if "categories" in changes:
        changes["categories"] = [entry.model_dump(exclude_none=True) for entry in body.categories or []]
    try:
        await run_in_threadpool(app.people.update_consultant, id, changes, who.role, who.id)
    except BaseException:
        await run_in_threadpool(_undo, app, key)
        raise
    doc = await run_in_threadpool(consultants._consultant, app, id)
    return ok("Consultant updated", consultants.list_view(doc))


async def update_my_profile_form(request: Request, who: clients.ClientOnly, app: AppContainer) -> Any:
    body, key = await profile_form(request, who, app, clients.OwnProfileUpdate, "avatar")
    try:
        await run_in_threadpool(app.people.update_client, who.id, body.changes())
    except BaseException:
        await run_in_threadpool(_undo, app, key)
        raise
    doc = await run_in_threadpool(clients._client, app, who.id)
    return ok("Profile updated successfully", doc)


for _path, _endpoint, _method, _status in (
    ("/consultants", create_consultant_form, "POST", 201),
    ("/consultants/{id}", update_consultant_form, "PATCH", 200),
    ("/clients/profile", update_my_profile_form, "PATCH", 200),
):
    router.add_api_route(
        _path,
        _endpoint,
        methods=[_method],
        status_code=_status,
        response_model=Envelope[Document],
        include_in_schema=False,  # one operation per path and method: the JSON route's
        route_class_override=MultipartRoute,
    )
