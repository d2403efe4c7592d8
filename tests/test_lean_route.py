"""The booking routes served as `LeanRoute`s (`interfaces.http.lean`) answer every request exactly as
FastAPI's own handling of the same routes does, and call their endpoint without FastAPI's dependency
solving on the common path.

Two apps on two stores run the same script of requests (accounts created the same way): one with the
lean routes, one with `LeanRoute` built as a plain `ExactJsonRoute` (FastAPI's handling). Ids, tokens
and instants differ between the stores and are replaced by placeholders before the answers are
compared."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from interfaces.http.app import create_app
from interfaces.http.lean import LeanRoute
from interfaces.http.money import ExactJsonRoute
from tests.conftest import bearer, create_admin, make_settings, signup

API = "/api/v1"
HEX24 = re.compile(r"\b[0-9a-f]{24}\b")
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
JSON = {"content-type": "application/json"}


def next_monday() -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=(0 - today.weekday()) % 7 + 14)


class Store:
    """One app on its own store, with an admin, an approved consultant (fee 0), a paid consultant
    and two clients, created the same way on every store."""

    def __init__(self, api: TestClient):
        self.api = api
        self.admin = create_admin(api)
        self.consultant = self._consultant()
        self.paid = self._consultant(fees=500)
        self.client = self._client()
        self.other = self._client()
        self.names = {
            self.consultant[0]: "<consultant>",
            self.paid[0]: "<paid>",
            self.client[0]: "<client>",
            self.other[0]: "<other>",
        }

    def _consultant(self, **fields: Any) -> tuple[str, str]:
        created = signup(self.api, "Consultant", **fields)
        account = created["user"]["id"]
        approved = self.api.post(f"{API}/consultants/{account}/approve", headers=bearer(self.admin))
        assert approved.status_code == 200, approved.text
        return account, created["token"]

    def _client(self) -> tuple[str, str]:
        created = signup(self.api, "Client")
        return created["user"]["id"], created["token"]

    def normal(self, text: str) -> str:
        for account, name in self.names.items():
            text = text.replace(account, name)
        return INSTANT.sub("<instant>", HEX24.sub("<id>", text))


def script(store: Store) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, path, httpx keyword arguments) of every request, in order; bodies name this store's ids."""
    day = next_monday().isoformat()
    consultant, paid = store.consultant[0], store.paid[0]
    client, client_token = store.client
    other, other_token = store.other
    slot = {"consultant": consultant, "client": client, "startAt": f"{day}T09:00:00+05:30"}
    slot["endAt"] = f"{day}T10:00:00+05:30"
    mine, theirs, admin = bearer(client_token), bearer(other_token), bearer(store.admin)
    hold = f"{API}/appointments/hold"
    bodies: list[tuple[str, Any]] = [
        ("empty", b""),
        ("malformed", b'{"consultant": '),
        ("nan", b'{"consultant": NaN}'),
        ("not utf-8", b'{"consultant": "\xff"}'),
        ("nested too deep", b"[" * 100_000 + b"]" * 100_000),
        ("list", b"[]"),
        ("string", b'"x"'),
        ("null", b"null"),
        ("number", b"1.5"),
        ("object, empty", b"{}"),
        ("nulls", b'{"consultant": null, "client": null}'),
        ("bad id", b'{"consultant": "xyz", "client": "abc"}'),
        ("naive instants", f'{{"consultant": "{consultant}", "client": "{client}", "startAt": "{day}T09:00:00"}}'),
        (
            "bad date",
            f'{{"consultant": "{consultant}", "client": "{client}", "date": "2026-1-1", "timeStart": "9:00"}}',
        ),
        ("wrong type", f'{{"consultant": "{consultant}", "client": "{client}", "category": 5}}'),
    ]
    for label, raw in bodies:
        for auth_label, headers in (("no token", {}), ("bad token", bearer("x.y.z")), ("client", mine)):
            yield f"hold {label} / {auth_label}", hold, {"content": raw, "headers": {**JSON, **headers}}
    later = f'{{"consultant": "{consultant}", "client": "{client}", "date": "{day}", "timeStart": "14:00"}}'
    for content_type in ("text/plain", "application/merge-patch+json", "Application/JSON; charset=utf-8", None):
        headers = {**mine, **({"content-type": content_type} if content_type else {})}
        yield f"hold as {content_type}", hold, {"content": later, "headers": headers}
        yield f"hold as {content_type}, refused", hold, {"content": b'{"consultant": 1}', "headers": headers}
    yield "hold by an admin", hold, {"json": slot, "headers": admin}
    yield "hold for another client", hold, {"json": slot, "headers": theirs}
    yield "hold, extra fields", hold, {"json": {**slot, "unknown": [1, 2]}, "headers": mine}
    yield "hold again (refresh)", hold, {"json": slot, "headers": mine}
    yield "hold taken", hold, {"json": {**slot, "client": other}, "headers": theirs}
    by_time = {"consultant": consultant, "client": other, "date": day, "timeStart": "10:15", "timeEnd": "11:15"}
    yield "hold by date and time", hold, {"json": by_time, "headers": theirs}
    book = f"{API}/appointments"
    yield "confirm, no token", book, {"json": {**slot, "holdId": "0" * 24}, "headers": {}}
    yield "confirm, malformed", book, {"content": b"{", "headers": {**JSON, **mine}}
    yield "confirm, invalid", book, {"json": {"holdId": 5}, "headers": mine}
    yield "confirm, unknown hold", book, {"json": {**slot, "holdId": "0" * 24}, "headers": mine}
    order = f"{API}/payments/create-order"
    yield "order, no token", order, {"json": {"consultantId": paid}, "headers": {}}
    yield "order, malformed", order, {"content": b"[", "headers": {**JSON, **mine}}
    yield "order, nothing", order, {"json": {}, "headers": mine}
    yield "order, bad amount", order, {"json": {"amount": "lots", "consultantId": paid}, "headers": mine}


def answers(store: Store) -> list[tuple[str, int, str]]:
    """Each request's label, status and normalised body; a hold's id is carried into its confirmation."""
    seen: list[tuple[str, int, str]] = []
    hold_id = None
    for label, path, arguments in script(store):
        reply = store.api.post(path, **arguments)
        seen.append((label, reply.status_code, store.normal(reply.text)))
        if label == "hold again (refresh)":
            hold_id = reply.json()["data"]["holdId"]
    assert hold_id is not None
    slot_day = next_monday().isoformat()
    slot = {
        "consultant": store.consultant[0],
        "client": store.client[0],
        "startAt": f"{slot_day}T09:00:00+05:30",
        "endAt": f"{slot_day}T10:00:00+05:30",
        "holdId": hold_id,
    }
    for label in ("confirm", "confirm again"):
        reply = store.api.post(f"{API}/appointments", json=slot, headers=bearer(store.client[1]))
        seen.append((label, reply.status_code, store.normal(reply.text)))
    return seen


@pytest.fixture
def stock_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, str]]:
    with monkeypatch.context() as patched:
        patched.setattr(LeanRoute, "get_route_handler", ExactJsonRoute.get_route_handler)
        app = create_app(make_settings(tmp_path / "stock"))
    with TestClient(app) as api:
        return answers(Store(api))


def test_lean_routes_answer_as_fastapi_does(tmp_path: Path, stock_answers: list[tuple[str, int, str]]) -> None:
    with TestClient(create_app(make_settings(tmp_path / "lean"))) as api:
        lean = answers(Store(api))
    assert [label for label, _, _ in lean] == [label for label, _, _ in stock_answers]
    for ours, theirs in zip(lean, stock_answers, strict=True):
        assert ours == theirs
    statuses = {status for _, status, _ in lean}
    assert {200, 201, 400, 401, 403, 409} <= statuses  # the script reaches every kind of answer


def test_the_common_path_solves_no_dependencies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    solved: list[str] = []
    solve = fastapi.routing.solve_dependencies

    async def counted(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs["request"].url.path)
        return await solve(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    with TestClient(create_app(make_settings(tmp_path))) as api:
        store = Store(api)
        day = next_monday().isoformat()
        slot = {"consultant": store.consultant[0], "client": store.client[0], "date": day, "timeStart": "09:00"}
        solved.clear()
        held = api.post(f"{API}/appointments/hold", json=slot, headers=bearer(store.client[1]))
        assert held.status_code == 200, held.text
        assert solved == []
        refused = api.post(f"{API}/appointments/hold", json={"consultant": 5}, headers=bearer(store.client[1]))
        assert refused.status_code == 400, refused.text
        assert solved == [f"{API}/appointments/hold"]  # a refused body is FastAPI's to answer
