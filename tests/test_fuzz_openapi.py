"""Property-based fuzz of the whole OpenAPI (issue 12, section 3): schemathesis generates valid and
invalid requests for every operation from the app's own `/openapi.json`, sends them to the ASGI app
in-process (lifespan and projections running) as an admin, a consultant and a client, on SQLite and
on PostgreSQL, and the test fails on any 5xx. Afterwards an ordinary write must still be visible at
once (a bad value that reached an event would have jammed the read-model projection).

Bounded by rounds, not seconds: a round sends every operation `FUZZ_EXAMPLES` generated cases (each as
every role), the rounds alternating valid (positive) and invalid (negative) generation; `FUZZ_ROUNDS`
rounds per backend (default 2: every operation in both modes, whatever the load of the machine; a
time budget reached only part of the operations in negative mode on a loaded machine). The cost grows
with the number of operations. `FUZZ_SECONDS=300` fuzzes longer locally: rounds go on until that time
has passed; `FUZZ_EXAMPLES=20` fuzzes each operation deeper."""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable

from tests.conftest import bearer, create_admin, login, signup

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.generation import GenerationMode  # noqa: E402

FUZZ_ROUNDS = max(2, int(os.environ.get("FUZZ_ROUNDS", "2")))
FUZZ_SECONDS = float(os.environ.get("FUZZ_SECONDS", "0"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))  # per operation and mode in one round; each sent as every role
# operations whose fuzzing would only end the session under test, not find a crash
SKIPPED = {("DELETE", "/api/v1/consultants/{id}"), ("DELETE", "/api/v1/users/{id}")}


def _accounts(api: Any) -> dict[str, dict[str, str]]:
    admin = bearer(create_admin(api))
    consultant = signup(api, "Consultant")
    consultant_id = consultant["user"]["id"]
    assert api.post(f"/api/v1/consultants/{consultant_id}/approve", headers=admin).status_code == 200
    consultant_token = login(api, consultant["user"]["email"], "secret1", "Consultant")
    client = signup(api, "Client")
    return {"Admin": admin, "Consultant": bearer(consultant_token), "Client": bearer(client["token"])}


def _send(api: Any, case: Any, auth: dict[str, str]) -> Any:
    """The request schemathesis serialized (its own JSON/bytes encoding of the generated body)."""
    sent = case.as_transport_kwargs(base_url="http://testserver")
    headers = {str(k): str(v) for k, v in (sent.get("headers") or {}).items() if k.lower() != "authorization"}
    kwargs: dict[str, Any] = {"params": sent.get("params") or None, "headers": {**headers, **auth}}
    if "json" in sent:
        kwargs["json"] = sent["json"]
    elif sent.get("data") is not None:
        data = sent["data"]
        kwargs["content"] = data if isinstance(data, bytes) else str(data).encode()
    return api.request(sent["method"], sent["url"], **kwargs)


def _fuzz_operation(
    api: Any, operation: Any, mode: Any, accounts: dict[str, dict[str, str]], crashes: list[str], seen: Counter[int]
) -> bool:
    """Each generated case is sent once per role (generation costs more than sending). False when
    the operation has nothing to generate in this mode (no parameter or body to negate)."""
    strategy = operation.as_strategy(generation_mode=mode)

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        for role, auth in accounts.items():
            try:
                reply = _send(api, case, auth)
            except Exception as error:  # the test client re-raises what the app did not handle (a 500)
                crashes.append(f"{role} {case.method} {case.formatted_path} query={case.query!r}: {error!r}"[:400])
                continue
            seen[reply.status_code // 100 * 100] += 1
            if reply.status_code >= 500:
                crashes.append(
                    f"{reply.status_code} {role} {case.method} {case.formatted_path} query={case.query!r} "
                    f"body={getattr(case, 'body', None)!r}: {reply.text[:200]}"
                )

    try:
        run()
    except Unsatisfiable:
        return False
    return True


def _still_writes(api: Any, accounts: dict[str, dict[str, str]]) -> None:
    title = f"After Fuzz {time.monotonic_ns() % 10**9}"
    started = time.monotonic()
    created = api.post("/api/v1/categories", headers=accounts["Admin"], json={"title": title})
    listed = api.get("/api/v1/categories").json()["data"]
    elapsed = time.monotonic() - started
    assert created.status_code == 201, created.text
    assert title in [category["title"] for category in listed]
    assert elapsed < 1.0, f"a write took {elapsed:.2f}s to become visible"


def test_fuzz_every_operation_as_every_role_never_answers_5xx(api: Any) -> None:
    accounts = _accounts(api)
    schema = schemathesis.openapi.from_dict(api.get("/openapi.json").json())
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if (result.ok().method.upper(), result.ok().path) not in SKIPPED
    ]
    assert len(operations) > 40, "the OpenAPI lost operations"
    crashes: list[str] = []
    seen: Counter[int] = Counter()
    barren: set[tuple[str, str, str]] = set()
    deadline = time.monotonic() + FUZZ_SECONDS
    rounds = 0
    while (rounds < FUZZ_ROUNDS or time.monotonic() < deadline) and len(crashes) < 20:
        mode = GenerationMode.POSITIVE if rounds % 2 == 0 else GenerationMode.NEGATIVE
        for operation in operations:
            key = (operation.method, operation.path, mode.value)
            if key not in barren and not _fuzz_operation(api, operation, mode, accounts, crashes, seen):
                barren.add(key)
        rounds += 1
    print(f"fuzzed {sum(seen.values())} requests in {rounds} rounds: {dict(sorted(seen.items()))}")
    assert not crashes, "5xx answers:\n" + "\n".join(crashes)
    assert seen[200] >= 50 and seen[400] >= 50, seen  # the fuzz reached handlers, not only the auth check
    _still_writes(api, accounts)
