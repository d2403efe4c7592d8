"""`consult import` of a generated dump of the original backend (tests/mongo_export.py), on SQLite and
PostgreSQL, checked through HTTP against figures computed from the dump (contract mongo-import §7)."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from interfaces import import_cli
from interfaces.http.app import create_app
from tests.conftest import ROOT, bearer, rebuild, settings_env
from tests.mongo_export import build, write
from tests.mongo_import_checks import check_aliases, check_links, check_notifications

API = "/api/v1"
IST = ZoneInfo("Asia/Kolkata")


def run_import(settings: Any, directory: Any, *flags: str) -> tuple[int, str]:
    args = argparse.Namespace(directory=directory, dry_run="--dry-run" in flags, allow_nonempty="--allow" in flags)
    out = io.StringIO()
    with redirect_stdout(out):
        code = import_cli.run(args, settings)
    return code, out.getvalue()


def stored(settings: Any) -> list[bytes]:
    from application.marketplace import Marketplace
    from infrastructure.database import event_store_env

    market = Marketplace(env=event_store_env(settings))
    try:
        return [bytes(n.state) for n in market.recorder.select_notifications(1, 10**6)]
    finally:
        market.close()


def events_in(settings: Any) -> int:
    return len(stored(settings))


def number(value: Decimal) -> float:
    return float(value)


def login(api: Any, email: str, password: str, role: str | None = None) -> Any:
    body = {"email": email, "password": password, **({"role": role} if role else {})}
    return api.post(f"{API}/auth/login", json=body)


def views(api: Any, admin: dict[str, str], expected: dict[str, Any]) -> dict[str, Any]:
    """Answers that read every imported record kind, for before/after comparisons."""
    urls = [
        "/appointments?limit=1000",
        "/transactions?limit=100",
        "/categories",
        "/subcategories",
        "/client-consultants",
        "/notifications?limit=100",
        f"/analytics/overview?viewType=yearly&year={datetime.now(UTC).year}",
        *(f"/consultants/{ident}" for ident in expected["consultants"]),
        *(f"/clients/{ident}" for ident in expected["clients"]),
    ]
    return {url: api.get(f"{API}{url}", headers=admin).json() for url in urls}


def test_import_of_a_dump_with_every_hazard(settings, tmp_path):
    now = datetime.now(UTC)
    dump = build(now)
    directory = tmp_path / "dump"
    write(dump, directory)
    expected = dump.expected

    code, dry = run_import(settings, directory, "--dry-run")
    assert code == 0 and "nothing written (dry run)" in dry
    assert events_in(settings) == 0

    code, report = run_import(settings, directory)
    assert code == 0, report
    for line in (
        f"SKIP clients/{expected['duplicate']}: duplicate account (same e-mail as {expected['clients'][0]}, kept)",
        f"SKIP subcategories/{expected['orphan']}: parent category",
        f"SKIP clients/{expected['phone_twin']}: duplicate account (same phone as {expected['clients'][1]}, kept)",
        "Upcoming whose end has passed (H14)",
        f"SKIP users/{expected['phone_clash']}: legacy Client row; alias of client {expected['clients'][2]}",
        f"client {expected['duplicate']} is a skipped duplicate; re-pointed to {expected['clients'][0]}",
        f"SKIP appointments/{expected['unstorable']}: cannot be imported (Validation failed: ",
        "SKIP transactions/transactions.json:3: ",
        f"SKIP users/{expected['alias']}: legacy row of consultant {expected['consultants'][0]}",
        "a hold (a 5-minute lock, not a booking)",
        "no netAmount; recorded as amount - platformFee = 800.00 (D2)",
        "amount 1500.005 rounded to 1500.01",
        f"consultant {expected['deleted_consultant']} does not exist; kept under a tombstone (D5)",
        "status 'Confirmed' is not in today's enum; recorded as Completed",
        "no startAt/endAt; derived from date + timeStart/timeEnd (IST)",
        "of the same consultant (D4)",
        "within a minute",
        "refreshed to 'Legal' (catalogue)",
        "fees was the text '700'; recorded as 700.00",
        "settings keyed by a users id",
        "appointments: read 29, imported 27, skipped 2",
        f"SKIP notifications/{expected['notifications']['lost']}: recipient ",
        f"SKIP notifications/{expected['notifications']['nobody']}: no recipient, recipientRole or isGlobal",
        f"WARN notifications/{expected['notifications']['alias']}: recipient {expected['alias']} resolved to "
        f"account {expected['consultants'][0]}",
        f"WARN notifications/{expected['notifications']['global']}: type 'bogus' is not in the enum",
        "notifications: read 8, imported 6, skipped 2",
        "otps: 1 documents not imported",
        "sessions.json: not a collection of the original; ignored",
    ):
        assert line in report, line
    states = stored(settings)
    assert len(states) > 100
    # personal fields are sealed per person as for accounts made through the API (crypto-shredding)
    for secret in ("client1@old.example", "Client 1", "+919820000001", "admin@old.example"):
        assert not any(secret.encode() in state for state in states), secret

    with TestClient(create_app(settings)) as api:
        # logins with the original passwords, under the original ids
        tokens = {}
        for role, email, password, ident in dump.logins:
            reply = login(api, email, password, role if role != "Admin" else None)
            if email == "c3@old.example":
                assert reply.status_code >= 400 and "blocked" in reply.text.lower()
                continue
            assert reply.status_code == 200, (email, reply.text)
            assert reply.json()["data"]["user"]["id"] == ident
            tokens[email] = bearer(reply.json()["data"]["token"])
        assert login(api, "client0@old.example", "other-password").status_code == 401  # the skipped duplicate
        otp_only = login(api, "client5@old.example", "anything")
        assert "Password not set" in otp_only.text
        admin = tokens["admin@old.example"]

        # records under their original ids, with their original createdAt
        consultant = api.get(f"{API}/consultants/{expected['consultants'][0]}", headers=admin).json()["data"]
        assert consultant["categories"][0]["categoryName"] == "Legal"
        assert consultant["createdAt"] == (now - timedelta(days=190)).strftime("%Y-%m-%dT08:00:00.000Z")
        assert "password" not in consultant and "resetPasswordToken" not in consultant
        listed = api.get(f"{API}/appointments?limit=1000", headers=admin).json()["data"]["data"]
        assert len(listed) == expected["appointments"]

        # money: the payout summaries against the dump's own figures
        earned, paid = sum(expected["earned"].values()), sum(expected["paid"].values())
        overview = api.get(f"{API}/analytics/overview?viewType=yearly&year={now.year}", headers=admin)
        assert overview.status_code == 200, overview.text
        assert overview.json()["data"]["payoutSummary"] == {
            "totalEarnings": number(earned),
            "totalPaidOut": number(paid),
            "remainingBalance": number(earned - paid),
        }
        for month, gmv in expected["monthly_gmv"].items():  # payments bucketed by their original createdAt
            year_text, month_text = month.split("-")
            monthly = api.get(
                f"{API}/analytics/overview?viewType=monthly&year={year_text}&month={int(month_text)}", headers=admin
            ).json()["data"]
            assert monthly["revenueBreakdown"]["monthlyGmv"] == number(gmv), month
        for n, ident in enumerate(expected["consultants"][:3]):
            mine = api.get(f"{API}/analytics/consultant", headers=tokens[f"c{n}@old.example"])
            assert mine.status_code == 200, mine.text
            if n == 2:  # client 3's link to consultant 2 was Inactive in the dump
                assert mine.json()["data"]["clientStats"]["inactive"] == 1, mine.json()["data"]["clientStats"]
            assert mine.json()["data"]["payoutSummary"] == {
                "totalEarnings": number(expected["earned"][ident]),
                "totalPaidOut": number(expected["paid"][ident]),
                "remainingBalance": number(expected["earned"][ident] - expected["paid"][ident]),
            }, ident

        # the write side's balance (what the payout route checks) is the one the import leaves
        richest = expected["consultants"][0]
        remaining = expected["earned"][richest] - expected["paid"][richest]
        over = api.post(
            f"{API}/transactions/payout",
            json={"consultantId": richest, "amount": number(remaining + Decimal("0.01"))},
            headers=admin,
        )
        assert over.status_code == 400 and f"{remaining:.2f}".rstrip("0").rstrip(".") in over.text, over.text
        exact = api.post(
            f"{API}/transactions/payout", json={"consultantId": richest, "amount": number(remaining)}, headers=admin
        )
        assert exact.status_code == 201, exact.text
        replay = api.post(  # an imported payout's referenceId is its idempotency key (H10)
            f"{API}/transactions/payout",
            json={"consultantId": richest, "amount": 2000, "referenceId": expected["payout_reference"]},
            headers=admin,
        )
        assert replay.status_code == 200, replay.text

        # an imported upcoming booking is not offered again; the slot after it (with the buffer) is
        consultant_id, start = expected["future"]
        day = start.astimezone(IST).date().isoformat()
        slots = api.get(
            f"{API}/appointments/available-slots?consultant={consultant_id}&date={day}",
            headers=tokens["client1@old.example"],
        ).json()["data"]
        assert "10:00 - 11:00" not in slots and "11:15 - 12:15" in slots, slots
        check_notifications(api, admin, tokens, expected)
        check_aliases(api, admin, tokens, expected)
        check_links(api, admin, tokens, expected)
        before = views(api, admin, expected)

    # `consult rebuild` (read models and the reporting store from the events) gives the same answers
    rebuild(settings)
    with TestClient(create_app(settings)) as api:
        assert views(api, admin, expected) == before

    # a second import changes nothing: refused as it stands, a no-op when allowed
    written = events_in(settings)  # the service recorded logins and completed the ended booking (H14)
    code, again = run_import(settings, directory)
    assert code == import_cli.EXIT_REFUSED
    assert events_in(settings) == written
    code, again = run_import(settings, directory, "--allow")
    assert code == 0 and "nothing imported" in again
    assert events_in(settings) == written


def test_an_unreadable_directory_is_refused_and_missing_files_are_empty_collections(tmp_path):
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    code, _ = run_import(settings, tmp_path / "nowhere")
    assert code == import_cli.EXIT_REFUSED
    only = tmp_path / "only"
    only.mkdir()
    (only / "categories.json").write_text('{"_id": {"$oid": "65f0c0ffee0000000000abcd"}, "title": "Law"}\n')
    code, report = run_import(settings, only)
    assert code == 0, report
    assert "categories: read 1, imported 1, skipped 0, warnings 1" in report
    assert "users: no file; imported as empty" in report and "transactions: no file; imported as empty" in report


def test_an_import_killed_half_way_is_detected_and_resumed(settings, tmp_path):
    """SIGKILL the import after its first atomic batches; a re-run with another dump is refused and
    changes nothing, a re-run with the same dump completes it; then it is complete (§0 idempotency)."""
    import os
    import signal
    import time

    from application.marketplace import Marketplace
    from domain.ids import key_id
    from infrastructure.bootstrap import migrate
    from infrastructure.database import event_store_env

    now = datetime.now(UTC)
    dump = build(now)
    bulk = [f"{int(now.timestamp()):08x}{n:016x}" for n in range(10**6, 10**6 + 800)]
    for n, ident in enumerate(bulk):  # enough people for many small batches
        dump.add("clients", {"_id": {"$oid": ident}, "fullName": f"Bulk {n}", "email": f"bulk{n}@old.example",
                             "mobile": f"+9197{n:08d}", "status": "Active"})  # fmt: skip
    directory = tmp_path / "dump"
    write(dump, directory)
    expected = dump.expected
    migrate(settings)  # the tables the killed process writes to, so its progress can be watched
    market = Marketplace(env=event_store_env(settings))
    try:
        env = {**settings_env(settings), "IMPORT_BATCH_EVENTS": "40"}
        with (tmp_path / "out.txt").open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "interfaces.cli", "import", str(directory)],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + 120
            while not market.recorder.max_notification_id() and process.poll() is None:
                assert time.monotonic() < deadline, "the import saved nothing in 2 minutes"
                time.sleep(0.005)
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL, (tmp_path / "out.txt").read_text()
        saved = market.recorder.max_notification_id()
        assert saved and market.find(key_id("singleton:mongo-import")) is None
    finally:
        market.close()

    other = tmp_path / "other"
    write(build(now + timedelta(seconds=1)), other)
    err = io.StringIO()
    with redirect_stderr(err):
        code, _ = run_import(settings, other)
    assert code == import_cli.EXIT_REFUSED and "stopped before it finished" in err.getvalue(), err.getvalue()
    assert "run `consult import` again with that dump" in err.getvalue()
    assert events_in(settings) == saved

    code, report = run_import(settings, directory)
    assert code == 0 and "resumed the import of this dump started at" in report, report
    assert "(completed the import started at" in report
    assert "already present" in report  # what the killed run saved was not written again
    code, _ = run_import(settings, directory)
    assert code == import_cli.EXIT_REFUSED
    code, again = run_import(settings, directory, "--allow")
    assert code == 0 and "nothing imported" in again, again

    with TestClient(create_app(settings)) as api:
        admin = bearer(login(api, "admin@old.example", "Admin#2024pass").json()["data"]["token"])
        listed = api.get(f"{API}/appointments?limit=1000", headers=admin).json()["data"]["data"]
        assert len(listed) == expected["appointments"]
        overview = api.get(f"{API}/analytics/overview?viewType=yearly&year={now.year}", headers=admin).json()
        earned, paid = sum(expected["earned"].values()), sum(expected["paid"].values())
        assert overview["data"]["payoutSummary"]["totalEarnings"] == number(earned)
        assert overview["data"]["payoutSummary"]["totalPaidOut"] == number(paid)
        for ident in (bulk[0], bulk[-1], *expected["clients"]):
            assert api.get(f"{API}/clients/{ident}", headers=admin).status_code == 200, ident
        links = api.get(f"{API}/client-consultants", headers=admin).json()["data"]["data"]
        assert {ident for ident, *_ in expected["links"]} <= {link["_id"] for link in links}
