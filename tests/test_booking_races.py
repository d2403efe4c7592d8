"""Races against real `consult serve` processes over real connections: the no-double-booking
invariant (issue 4 §2) holds across API processes sharing one database.

- 200 clients hold one slot at once, spread over two API processes on one PostgreSQL database
  (both run projections): exactly one wins, 199 get 409 with the contract's message, and the slot
  lists of both processes agree afterwards. The same with 50 clients on SQLite and one process.
- Bookings of different lengths (a 60-minute appointment revived by an admin against 30-minute
  holds, and a 30-minute one against a 60-minute hold) never both land.
- A reschedule racing a new booking into the same interval lets exactly one through."""

from __future__ import annotations

import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import combinations
from typing import Any

import httpx
import pytest

from infrastructure.bootstrap import migrate
from tests.conftest import ADMIN_PASSWORD, Server, make_settings, postgres_database

API = "/api/v1"
TAKEN_BY_HOLD = "Slot is already booked or held by another user"
TAKEN_BY_RESCHEDULE = "Updated time conflicts with another appointment"
PASSWORD = "secret1"
TLS = ssl.create_default_context()  # unused on http://, but building one per client costs ~0.3 s under load


def weekdays_from(weeks_ahead: int, count: int) -> list[date]:
    today = datetime.now(UTC).date()
    first = today + timedelta(days=7 * weeks_ahead - today.weekday())  # a Monday
    days = [first + timedelta(days=n) for n in range(count * 2)]
    return [d for d in days if d.weekday() < 5][:count]


def at(day: date, hhmm: str) -> str:
    return f"{day.isoformat()}T{hhmm}:00+05:30"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Account:
    id: str
    token: str


class Store:
    """Accounts created over HTTP against one or more processes serving the same store."""

    def __init__(self, urls: list[str], tag: str):
        self.urls = urls
        self.tag = tag
        self.http = [httpx.Client(base_url=url + API, timeout=60, verify=TLS) for url in urls]
        reply = self.http[0].post(
            "/auth/create-admin",
            json={
                "fullName": "Race Admin",
                "email": f"admin{tag}@example.com",
                "password": ADMIN_PASSWORD,
                "mobile": "9000000001",
            },
        )
        assert reply.status_code == 201, reply.text
        login = self.http[0].post(
            "/auth/login", json={"email": f"admin{tag}@example.com", "password": ADMIN_PASSWORD, "role": "Admin"}
        )
        self.admin = str(login.json()["data"]["token"])
        self.serial = 0
        self.lock = threading.Lock()

    def signup(self, role: str, via: int = 0) -> Account:
        with self.lock:
            self.serial += 1
            serial = self.serial
        reply = self.http[via % len(self.http)].post(
            "/auth/signup",
            json={
                "fullName": f"{role} {self.tag} {serial}",
                "email": f"{role.lower()}{serial}.{self.tag}@example.com",
                "mobile": ("+9196" if role == "Consultant" else "+9197") + f"{self.tag[:3]}{serial:05d}",
                "password": PASSWORD,
                "role": role,
            },
        )
        assert reply.status_code == 201, reply.text
        data = reply.json()["data"]
        return Account(data["user"]["id"], data["token"])

    def consultant(self, availability: dict[str, Any] | None = None) -> Account:
        consultant = self.signup("Consultant")
        approved = self.http[0].post(f"/consultants/{consultant.id}/approve", headers=bearer(self.admin))
        assert approved.status_code == 200, approved.text
        if availability:
            self.put_availability(consultant, availability)
        return consultant

    def put_availability(self, consultant: Account, body: dict[str, Any]) -> None:
        reply = self.http[0].put(
            f"/consultant-settings/{consultant.id}/availability", json=body, headers=bearer(consultant.token)
        )
        assert reply.status_code == 200, reply.text

    def clients(self, count: int) -> list[Account]:
        with ThreadPoolExecutor(max_workers=12) as pool:
            return list(pool.map(lambda n: self.signup("Client", via=n), range(count)))

    def slots(self, who: Account, consultant: Account, day: date, via: int = 0) -> list[str]:
        reply = self.http[via].get(
            "/appointments/available-slots",
            params={"consultant": consultant.id, "date": day.isoformat()},
            headers=bearer(who.token),
        )
        assert reply.status_code == 200, reply.text
        return list(reply.json()["data"])

    def hold_body(self, client: Account, consultant: Account, day: date, start: str, end: str) -> dict[str, Any]:
        return {"consultant": consultant.id, "client": client.id, "startAt": at(day, start), "endAt": at(day, end)}

    def book(self, client: Account, consultant: Account, day: date, start: str, end: str) -> str:
        held = self.http[0].post(
            "/appointments/hold", json=self.hold_body(client, consultant, day, start, end), headers=bearer(client.token)
        )
        assert held.status_code == 200, held.text
        hold_id = held.json()["data"]["holdId"]
        confirmed = self.http[0].post(
            "/appointments",
            json={**self.hold_body(client, consultant, day, start, end), "status": "Upcoming", "holdId": hold_id},
            headers=bearer(client.token),
        )
        assert confirmed.status_code == 201, confirmed.text
        return str(hold_id)

    def live(self, consultant: Account, day: date) -> list[dict[str, Any]]:
        """Every live booking (holds included) of the consultant that day, as an admin sees them."""
        out = []
        for status in ("Hold", "Upcoming"):
            reply = self.http[-1].get(
                "/appointments",
                params={"consultant": consultant.id, "status": status, "from": day.isoformat(), "to": day.isoformat()},
                headers=bearer(self.admin),
            )
            assert reply.status_code == 200, reply.text
            out += reply.json()["data"]["data"]
        return out

    def close(self) -> None:
        for http in self.http:
            http.close()


@dataclass
class Outcome:
    status: int
    message: str
    seconds: float


def race(calls: list[tuple[str, Callable[[httpx.Client], httpx.Response]]], warm: bool = True) -> list[Outcome]:
    """Run every call in its own thread and connection, released together by a barrier so the
    requests overlap on the wire. With `warm` each connection is opened first (for a few calls:
    with hundreds, the first ones could idle past the server's keep-alive while the last open)."""
    barrier = threading.Barrier(len(calls))
    results: list[Outcome | None] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, url: str, call: Callable[[httpx.Client], httpx.Response]) -> None:
        try:
            with httpx.Client(base_url=url + API, timeout=120, verify=TLS) as http:
                if warm:
                    http.get("/health").raise_for_status()
                barrier.wait(timeout=120)
                started = time.perf_counter()
                reply = call(http)
                results[index] = Outcome(
                    reply.status_code, reply.json().get("message", ""), time.perf_counter() - started
                )
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i, url, call)) for i, (url, call) in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:3]
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def overlapping(bookings: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every pair of bookings whose intervals overlap (ISO UTC strings compare as instants)."""
    return [
        (a["_id"], b["_id"])
        for a, b in combinations(bookings, 2)
        if a["startAt"] < b["endAt"] and b["startAt"] < a["endAt"]
    ]


def assert_one_hold_wins(store: Store, clients: list[Account], consultant: Account, day: date) -> None:
    body = lambda client: store.hold_body(client, consultant, day, "09:00", "10:00")  # noqa: E731
    calls = [
        (
            store.urls[i % len(store.urls)],
            lambda http, c=client: http.post("/appointments/hold", json=body(c), headers=bearer(c.token)),
        )
        for i, client in enumerate(clients)
    ]
    started = time.perf_counter()
    outcomes = race(calls, warm=False)
    print(
        f"{len(clients)} holds on one slot: {time.perf_counter() - started:.2f}s, "
        f"slowest {max(o.seconds for o in outcomes):.2f}s"
    )
    statuses = Counter(o.status for o in outcomes)
    assert statuses == Counter({200: 1, 409: len(clients) - 1}), statuses
    assert {o.message for o in outcomes if o.status == 409} == {TAKEN_BY_HOLD}
    winner = clients[next(i for i, o in enumerate(outcomes) if o.status == 200)]
    loser = clients[next(i for i, o in enumerate(outcomes) if o.status == 409)]
    # the slot lists agree with the outcome, on every process
    for via in range(len(store.urls)):
        assert "09:00 - 10:00" in store.slots(winner, consultant, day, via)
        assert "09:00 - 10:00" not in store.slots(loser, consultant, day, via)
    live = store.live(consultant, day)
    assert [(b["client"]["_id"], b["status"]) for b in live] == [(winner.id, "Hold")]


# -- PostgreSQL, two API processes ------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[Account]]]:
    """Two `consult serve` processes (each running projections) on one PostgreSQL database, an
    admin and 200 clients."""
    with postgres_database(cluster=True) as url:
        settings = make_settings(tmp_path_factory.mktemp("races"), url)
        migrate(settings)  # once, so that the two processes can boot at the same time
        with ThreadPoolExecutor(max_workers=2) as pool:
            first, second = pool.map(lambda _: Server(settings), range(2))
        store = Store([first.url, second.url], tag=f"{time.time_ns() % 10**6:06d}")
        try:
            started = time.perf_counter()
            clients = store.clients(200)
            print(f"200 clients signed up in {time.perf_counter() - started:.2f}s")
            yield store, clients
        finally:
            store.close()
            first.stop()
            second.stop()


@pytest.mark.postgres
def test_200_clients_on_two_processes_hold_one_slot_exactly_one_wins(pg_cluster):
    store, clients = pg_cluster
    consultant = store.consultant()
    assert_one_hold_wins(store, clients, consultant, weekdays_from(2, 1)[0])


@pytest.mark.postgres
def test_bookings_of_different_lengths_never_both_land(pg_cluster):
    """Settings change the session length; bookings made under the old length stay. An admin
    revives a cancelled 60-minute appointment (checked for overlap only) while two clients hold
    the two 30-minute slots it covers, and the reverse (a 30-minute one revived against a 60-minute
    hold), on two processes at once. The outcome is always one side or the other."""
    store, clients = pg_cluster
    window = {
        day: {"enabled": True, "slots": [{"start": "09:00", "end": "11:00"}]}
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
    }
    sixty = {"sessionSettings": {"defaultDuration": 60, "bufferTime": 0}, "workingHours": window}
    thirty = {"sessionSettings": {"defaultDuration": 30, "bufferTime": 0}, "workingHours": window}
    consultant = store.consultant(sixty)
    days = weekdays_from(3, 20)
    owner, first, second = clients[0], clients[1], clients[2]

    def cancelled_booking(day: date, start: str, end: str) -> str:
        appointment = store.book(owner, consultant, day, start, end)
        reply = store.http[0].patch(
            f"/appointments/{appointment}", json={"status": "Cancelled"}, headers=bearer(owner.token)
        )
        assert reply.status_code == 200, reply.text
        return appointment

    long_ones = {day: cancelled_booking(day, "09:00", "10:00") for day in days[:10]}  # under the 60-minute grid
    store.put_availability(consultant, thirty)
    short_ones = {day: cancelled_booking(day, "09:30", "10:00") for day in days[10:]}  # under the 30-minute grid
    assert store.slots(first, consultant, days[0]) == [
        "09:00 - 09:30",
        "09:30 - 10:00",
        "10:00 - 10:30",
        "10:30 - 11:00",
    ]
    revive = {"status": "Upcoming"}
    a, b = store.urls[0], store.urls[-1]
    outcomes_seen: Counter[str] = Counter()

    def hold(client: Account, day: date, start: str, end: str) -> Callable[[httpx.Client], httpx.Response]:
        return lambda http: http.post(
            "/appointments/hold",
            json=store.hold_body(client, consultant, day, start, end),
            headers=bearer(client.token),
        )

    def revive_call(appointment: str) -> Callable[[httpx.Client], httpx.Response]:
        return lambda http: http.patch(f"/appointments/{appointment}", json=revive, headers=bearer(store.admin))

    for day, appointment in long_ones.items():  # 60 minutes against 2 × 30 minutes (the 30-minute grid is on)
        revived, early, late = race(
            [
                (a, revive_call(appointment)),
                (b, hold(first, day, "09:00", "09:30")),
                (a, hold(second, day, "09:30", "10:00")),
            ]
        )
        assert {revived.status, early.status, late.status} <= {200, 409}, (revived, early, late)
        if revived.status == 200:
            assert (early.status, late.status) == (409, 409), (revived, early, late)
            assert {early.message, late.message} == {TAKEN_BY_HOLD}
            outcomes_seen["60 won"] += 1
        else:  # the revival lost to a hold; the two 30-minute holds do not collide with each other
            assert revived.message == TAKEN_BY_RESCHEDULE
            assert (early.status, late.status) == (200, 200), (revived, early, late)
            outcomes_seen["30 won"] += 1
        assert overlapping(store.live(consultant, day)) == []

    store.put_availability(consultant, sixty)
    for day, appointment in short_ones.items():  # 30 minutes against 60 minutes (the 60-minute grid is on)
        revived, held = race([(a, revive_call(appointment)), (b, hold(first, day, "09:00", "10:00"))])
        assert sorted([revived.status, held.status]) == [200, 409], (revived, held)
        assert (revived.message if revived.status == 409 else held.message) in (TAKEN_BY_RESCHEDULE, TAKEN_BY_HOLD)
        outcomes_seen["30 won" if revived.status == 200 else "60 won"] += 1
        live = store.live(consultant, day)
        assert len(live) == 1 and overlapping(live) == []
    assert sum(outcomes_seen.values()) == 20


@pytest.mark.postgres
def test_reschedule_racing_a_new_booking_lets_exactly_one_through(pg_cluster):
    store, clients = pg_cluster
    consultant = store.consultant()  # the defaults: 09:00, 10:15, 11:30, ... (60 minutes, 15-minute buffer)
    mover, newcomer, onlooker = clients[3], clients[4], clients[5]
    wins: Counter[str] = Counter()
    for day in weekdays_from(3, 20):
        appointment = store.book(mover, consultant, day, "09:00", "10:00")
        moved, held = race(
            [
                (
                    store.urls[0],
                    lambda http, a=appointment, d=day: http.patch(
                        f"/appointments/{a}",
                        json={"startAt": at(d, "10:15"), "endAt": at(d, "11:15")},
                        headers=bearer(mover.token),
                    ),
                ),
                (
                    store.urls[-1],
                    lambda http, d=day: http.post(
                        "/appointments/hold",
                        json=store.hold_body(newcomer, consultant, d, "10:15", "11:15"),
                        headers=bearer(newcomer.token),
                    ),
                ),
            ]
        )
        assert sorted([moved.status, held.status]) == [200, 409], (moved, held)
        if moved.status == 200:
            assert held.message == TAKEN_BY_HOLD
            wins["reschedule"] += 1
            expected = [("10:15", mover.id)]
        else:
            assert moved.message == TAKEN_BY_RESCHEDULE
            wins["booking"] += 1
            expected = [("09:00", mover.id), ("10:15", newcomer.id)]
        live = store.live(consultant, day)
        starts = sorted(
            (
                datetime.fromisoformat(b["startAt"].replace("Z", "+00:00"))
                .astimezone(timezone(timedelta(hours=5, minutes=30)))
                .strftime("%H:%M"),
                b["client"]["_id"],
            )
            for b in live
        )
        assert starts == expected, (wins, live)
        open_now = store.slots(onlooker, consultant, day, via=len(store.urls) - 1)
        assert "10:15 - 11:15" not in open_now
        assert ("09:00 - 10:00" in open_now) == (moved.status == 200)
    assert sum(wins.values()) == 20


# -- SQLite, one API process ------------------------------------------------------------------


def test_50_clients_hold_one_slot_on_sqlite_exactly_one_wins(tmp_path):
    settings = make_settings(tmp_path)
    server = Server(settings)
    store = Store([server.url], tag=f"{time.time_ns() % 10**6:06d}")
    try:
        clients = store.clients(50)
        consultant = store.consultant()
        assert_one_hold_wins(store, clients, consultant, weekdays_from(2, 1)[0])
    finally:
        store.close()
        server.stop()
