"""Races on the identity invariants, against real server processes over real connections.

Unique e-mail and phone per store, and the single first admin, are decided by the event store's
optimistic concurrency (deterministic-id aggregates), never by check-then-insert (contract auth
§8.1.2, §3.1.5). Each race releases its requests together (a barrier after every connection is
open) so they really overlap, on SQLite and on PostgreSQL; on PostgreSQL also across two
server processes sharing the database."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from typing import Any

import httpx

from infrastructure.settings import Settings
from tests.conftest import ADMIN_PASSWORD, Server, bearer, login
from tests.databases import one_cluster_at_a_time

AUTH = "/api/v1/auth"
CONSULTANT_DUPLICATE = "Consultant with this email or mobile already exists"
CLIENT_DUPLICATE = "Client with this email or mobile already exists"
ADMIN_EXISTS = "Admin already exists. Use User Management to add more admins."


def race(urls: list[str], path: str, bodies: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """POST every body at once, spread over `urls`; (status, json) in order.

    One client per server with a pool larger than the race, so every request has a connection of
    its own; each thread first opens its connection (a health request), then all wait at a
    barrier and send together."""
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, dict[str, Any]] | BaseException | None] = [None] * len(bodies)
    limits = httpx.Limits(max_connections=len(bodies) + 10, max_keepalive_connections=len(bodies) + 10)
    clients = [httpx.Client(base_url=url, timeout=60, limits=limits) for url in urls]

    def worker(index: int) -> None:
        client = clients[index % len(clients)]
        try:
            assert client.get("/api/v1/health").status_code == 200
            barrier.wait(timeout=30)
            reply = client.post(path, json=bodies[index])
            results[index] = (reply.status_code, reply.json())
        except BaseException as error:  # noqa: BLE001 - reported below
            barrier.abort()
            results[index] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for client in clients:
            client.close()
    errors = [r for r in results if not isinstance(r, tuple)]
    assert not errors, errors[:3]
    return results  # type: ignore[return-value]


def phone(index: int, prefix: str = "+9196") -> str:
    return prefix + str(secrets.randbelow(10**6)).zfill(6) + f"{index:02d}"


def signup_body(role: str, email: str, mobile: str) -> dict[str, Any]:
    return {"fullName": f"Racer {mobile[-4:]}", "email": email, "mobile": mobile, "password": "secret1", "role": role}


def assert_one_winner(results: list[tuple[int, dict[str, Any]]], message: str) -> int:
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: len(results) - 1}, statuses
    for status, body in results:
        if status == 409:
            assert body == {"success": False, "message": message}
    return next(i for i, (status, _) in enumerate(results) if status == 201)


def consultants_with_email(http: httpx.Client, admin: str, email: str) -> list[dict[str, Any]]:
    reply = http.get("/api/v1/consultants", headers=bearer(admin))
    assert reply.status_code == 200, reply.text
    return [doc for doc in reply.json()["data"] if doc["email"] == email]


def check_email_race(urls: list[str], http: httpx.Client, admin: str) -> None:
    """50 consultant signups with one e-mail and 50 different phones: one account, and the losers'
    phones were not left claimed."""
    email = f"race.{secrets.token_hex(4)}@example.com"
    bodies = [signup_body("Consultant", email, phone(i)) for i in range(50)]
    results = race(urls, f"{AUTH}/signup", bodies)
    winner = assert_one_winner(results, CONSULTANT_DUPLICATE)
    winner_id = results[winner][1]["data"]["user"]["id"]
    assert results[winner][1]["data"]["user"]["mobile"] == bodies[winner]["mobile"]
    stored = consultants_with_email(http, admin, email)
    assert [(doc["_id"], doc["mobile"], doc["status"]) for doc in stored] == [
        (winner_id, bodies[winner]["mobile"], "Pending")
    ]
    loser = bodies[(winner + 1) % 50]
    again = http.post(
        f"{AUTH}/signup", json=signup_body("Consultant", f"late.{secrets.token_hex(4)}@example.com", loser["mobile"])
    )
    assert again.status_code == 201, again.text


def check_phone_races(url: str, http: httpx.Client, admin: str) -> None:
    """50 client signups with one phone (written in the three forms that name the same number),
    then 50 consultant signups with one phone: one account each, losers' e-mails not claimed."""
    mobile = phone(0, "+9195")
    emails = [f"phone{i}.{secrets.token_hex(3)}@example.com" for i in range(50)]
    forms = [mobile, mobile.removeprefix("+"), mobile.removeprefix("+91")]
    bodies = [signup_body("Client", emails[i], forms[i % 3]) for i in range(50)]
    results = race([url], f"{AUTH}/signup", bodies)
    winner = assert_one_winner(results, CLIENT_DUPLICATE)
    winner_id = results[winner][1]["data"]["user"]["id"]
    assert results[winner][1]["data"]["user"]["mobile"] == mobile  # stored in E.164
    listed = http.get("/api/v1/clients", params={"search": mobile[-10:], "limit": 100}, headers=bearer(admin))
    assert listed.status_code == 200, listed.text
    assert [doc["_id"] for doc in listed.json()["data"]["clients"]] == [winner_id]
    assert listed.json()["data"]["pagination"]["total"] == 1
    assert login(http, emails[winner], "secret1", "Client")
    loser = (winner + 1) % 50
    again = http.post(f"{AUTH}/signup", json=signup_body("Client", emails[loser], phone(1, "+9194")))
    assert again.status_code == 201, again.text

    c_mobile = phone(2, "+9193")
    c_bodies = [signup_body("Consultant", f"cphone{i}.{secrets.token_hex(3)}@example.com", c_mobile) for i in range(50)]
    c_results = race([url], f"{AUTH}/signup", c_bodies)
    c_winner = assert_one_winner(c_results, CONSULTANT_DUPLICATE)
    all_consultants = http.get("/api/v1/consultants", headers=bearer(admin)).json()["data"]
    assert [doc["_id"] for doc in all_consultants if doc["mobile"] == c_mobile] == [
        c_results[c_winner][1]["data"]["user"]["id"]
    ]


def check_create_admin_race(url: str) -> str:
    """20 first-admin requests with different e-mails on an empty store: exactly one admin.
    Returns the winner's access token."""
    bodies = [
        {
            "fullName": f"Admin {i}",
            "email": f"admin{i}.{secrets.token_hex(3)}@example.com",
            "password": ADMIN_PASSWORD,
            "mobile": f"90000100{i:02d}",
        }
        for i in range(20)
    ]
    results = race([url], f"{AUTH}/create-admin", bodies)
    statuses = Counter(status for status, _ in results)
    assert statuses[201] == 1 and statuses[403] + statuses[409] == 19, statuses
    for status, body in results:
        if status == 403:
            assert body == {"success": False, "message": ADMIN_EXISTS}
    winner = next(i for i, (status, _) in enumerate(results) if status == 201)
    created = results[winner][1]["data"]
    assert created["email"] == bodies[winner]["email"] and created["role"] == "Admin"
    with httpx.Client(base_url=url, timeout=30) as http:
        token = login(http, bodies[winner]["email"], ADMIN_PASSWORD, "Admin")
        users = http.get("/api/v1/users", headers=bearer(token))
        assert users.status_code == 200, users.text
        assert [(u["_id"], u["email"], u["role"]) for u in users.json()["data"]] == [
            (created["id"], bodies[winner]["email"], "Admin")
        ]
        loser = bodies[(winner + 1) % 20]
        refused = http.post(
            f"{AUTH}/login", json={"email": loser["email"], "password": ADMIN_PASSWORD, "role": "Admin"}
        )
        assert refused.status_code == 401 and refused.json()["message"] == "Invalid credentials"
        again = http.post(f"{AUTH}/create-admin", json=loser)
        assert again.status_code == 403 and again.json() == {"success": False, "message": ADMIN_EXISTS}
    return token


def test_identity_races(server: Server, settings: Settings):
    """One server per backend (starting servers dominates the run time): the first-admin race on
    the empty store, then the signup races; on PostgreSQL a second server process on the same
    database joins for a same-e-mail race split between the two processes (both run projections)."""
    admin = check_create_admin_race(server.url)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        check_email_race([server.url], http, admin)
        check_phone_races(server.url, http, admin)
        if not settings.uses_postgres:
            return
        with one_cluster_at_a_time():
            check_second_process(settings, http, admin, server)


def check_second_process(settings: Settings, http: httpx.Client, admin: str, server: Server) -> None:
    """A second server process on the same PostgreSQL database: a same-e-mail race split between the two."""
    second = Server(settings)
    try:
        check_email_race([server.url, second.url], http, admin)
        with httpx.Client(base_url=second.url, timeout=30) as other:
            seen = other.get("/api/v1/consultants", headers=bearer(admin)).json()["data"]
        mine = http.get("/api/v1/consultants", headers=bearer(admin)).json()["data"]
        assert sorted(d["_id"] for d in seen) == sorted(d["_id"] for d in mine)
        assert len({d["email"] for d in seen}) == len(seen)  # no e-mail twice, across both races
    finally:
        second.stop()
