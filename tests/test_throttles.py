"""Issue 12 §4: per-account and per-phone throttles on top of the per-IP limits (CONTRACT.md
"Throttles"): 10 failed logins for one account within the window give 429 for the rest of it, the
right password included; one phone gets at most 10 wrong OTP guesses per window in total, however
many codes are sent. In memory for one process, shared through Redis between instances."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.errors import NotAuthenticated, TooManyRequests
from infrastructure.throttles import MemoryAttempts, RedisAttempts
from interfaces.http.app import create_app
from tests.conftest import make_settings, postgres_database, signup

AUTH = "/api/v1/auth"
TOO_MANY = {"success": False, "message": "Too many attempts. Please try again later."}


def login(api: Any, email: str, password: str) -> Any:
    return api.post(f"{AUTH}/login", json={"email": email, "password": password})


def send_otp(api: Any, mobile: str) -> str:
    reply = api.post(f"{AUTH}/send-otp", json={"mobile": mobile})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["data"]["otp"])


def verify(api: Any, mobile: str, code: str) -> Any:
    return api.post(f"{AUTH}/verify-otp", json={"mobile": mobile, "otp": code})


def wrong(code: str, n: int = 1) -> str:
    return f"{(int(code) + n) % 1_000_000:06d}"


def test_ten_failed_logins_lock_the_account_for_the_window(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as api:
        victim, bystander = signup(api, "Client"), signup(api, "Client")
        email = victim["user"]["email"]
        for attempt in range(10):
            # the e-mail's case does not give a fresh budget
            reply = login(api, email.upper() if attempt % 2 else email, "not-the-password")
            assert reply.status_code == 401, (attempt, reply.text)
        for password in ("secret1", "not-the-password"):
            reply = login(api, email, password)
            assert (reply.status_code, reply.json()) == (429, TOO_MANY)
        assert login(api, bystander["user"]["email"], "secret1").status_code == 200  # per account
        # successes do not use up the budget
        for _ in range(12):
            assert login(api, bystander["user"]["email"], "secret1").status_code == 200


def test_one_phone_gets_ten_wrong_otp_guesses_however_many_codes_are_sent(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as api:
        mobile = "+9197" + str(secrets.randbelow(10**8)).zfill(8)
        for _ in range(2):
            code = send_otp(api, mobile)  # a fresh code: the phone's budget goes on
            for n in range(1, 6):
                reply = verify(api, mobile, wrong(code, n))
                assert (reply.status_code, reply.json()["message"]) == (400, "Invalid OTP"), reply.text
        code = send_otp(api, mobile)
        reply = verify(api, mobile, code)  # the right code, but the 10 guesses are spent
        assert (reply.status_code, reply.json()) == (429, TOO_MANY)
        other = "+9196" + str(secrets.randbelow(10**8)).zfill(8)
        assert verify(api, other, send_otp(api, other)).status_code == 200  # per phone


def hammer(call: Any, n: int) -> Counter[str]:
    """`n` threads start `call` together; counts their outcomes."""
    start = threading.Barrier(n)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run() -> None:
        start.wait()
        try:
            call()
            outcome = "ok"
        except TooManyRequests:
            outcome = "429"
        except NotAuthenticated:
            outcome = "401"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_guesses_never_exceed_the_budget(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as api:
        identity = api.app.state.container.identity
        email = signup(api, "Client")["user"]["email"]
        outcomes = hammer(lambda: identity.login(email, "wrong-password", None), 30)
        assert outcomes == Counter({"401": 10, "429": 20})


@pytest.mark.parametrize("kind", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_counters_window_starts_with_the_first_attempt_and_ends(kind: str, request: pytest.FixtureRequest) -> None:
    attempts = MemoryAttempts() if kind == "memory" else RedisAttempts(request.getfixturevalue("redis_url"))
    key = "test:" + secrets.token_hex(6)
    assert [attempts.take(key, 3, 1) for _ in range(4)] == [True, True, True, False]
    time.sleep(1.2)
    assert attempts.take(key, 3, 1)
    attempts.give_back(key)  # a success returns its reservation
    assert [attempts.take(key, 1, 1) for _ in range(2)] == [True, False]


@pytest.mark.postgres
@pytest.mark.redis
def test_two_instances_share_the_budgets_through_redis(tmp_path: Path, redis_url: str) -> None:
    with postgres_database() as url:
        common = {"redis_url": redis_url, "socketio_channel": "consult-test-" + secrets.token_hex(4)}
        settings_a = make_settings(tmp_path / "a", url, **common)
        settings_b = make_settings(tmp_path / "b", url, **common)
        with TestClient(create_app(settings_a)) as a, TestClient(create_app(settings_b)) as b:
            email = signup(a, "Client")["user"]["email"]
            for api in (a, b) * 5:
                assert login(api, email, "not-the-password").status_code == 401
            for api in (a, b):
                reply = login(api, email, "secret1")
                assert (reply.status_code, reply.json()) == (429, TOO_MANY)
            mobile = "+9195" + str(secrets.randbelow(10**8)).zfill(8)
            for api in (a, b):
                code = send_otp(api, mobile)
                for n in range(1, 6):
                    assert verify(api, mobile, wrong(code, n)).json()["message"] == "Invalid OTP"
            code = send_otp(b, mobile)
            for api in (a, b):
                reply = verify(api, mobile, code)
                assert (reply.status_code, reply.json()) == (429, TOO_MANY)
