"""Benchmark: what money costs on the request path, as ratios against routes measured in the same run.

A real `consult serve` process (sandbox gateway) on a throwaway store. One client in a closed loop,
the kinds of requests interleaved round by round (ABAB...), so load changes hit every kind alike:

- `GET /health` (the trivial route);
- a free booking: POST /appointments/hold + POST /appointments (fee 0);
- a paid booking: hold + POST /payments/create-order + POST /appointments with a signed
  `razorpayResponse` (the sandbox's HMAC with the key secret, as a checkout returns it);
- a payout: POST /transactions/payout (distinct `referenceId`s) of a consultant whose earnings
  history grows by one completed payment per round (so the Earnings aggregate's history grows);
- `GET /transactions?limit=100` as the admin (the admin app's Payments tab), over the growing ledger.

    .venv/bin/python bench/money.py --backend sqlite --rounds 30
    .venv/bin/python bench/money.py --backend postgres --workers 2   # the multi-process shape (Redis)

With `--workers N` (PostgreSQL) the server is `consult serve --workers N`: N API processes that run no
projections and one projection worker child, so every command waits for read-your-writes across
processes (the worker's commit, heard over LISTEN/NOTIFY).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    HEALTH,
    Scenario,
    bearer,
    bench_settings,
    consult_server,
    database,
    machine,
    median,
    percentile,
    utc_stamp,
)

SLOTS = [
    ("09:00", "10:00"),
    ("10:15", "11:15"),
    ("11:30", "12:30"),
    ("12:45", "13:45"),
    ("14:00", "15:00"),
    ("15:15", "16:15"),
]


def weekdays(count: int, weeks_ahead: int = 2) -> list[date]:
    today = date.today()
    first = today + timedelta(days=7 * weeks_ahead - today.weekday())
    days = [first + timedelta(days=n) for n in range(count * 2 + 14)]
    return [d for d in days if d.weekday() < 5][:count]


def at(day: date, hhmm: str) -> str:
    return f"{day.isoformat()}T{hhmm}:00+05:30"


class Money(Scenario):
    def __init__(self, base_url: str, secret: str):
        super().__init__(base_url)
        self.secret = secret
        unique = secrets.token_hex(4)
        self.paid_id, self.paid = self.register("Consultant", "+9195", unique)
        admin = bearer(self.admin)
        self.http.post(f"/consultants/{self.paid_id}/approve", headers=admin).raise_for_status()
        self.http.patch(
            f"/consultants/{self.paid_id}", headers=admin, json={"fees": 1500, "commission": {"platformPercent": 10}}
        ).raise_for_status()
        self.slots = [(d, s) for d in weekdays(60) for s in SLOTS]
        self.free_slots, self.paid_slots = list(self.slots), list(self.slots)
        self.direct_slots = list(self.slots[::-1])
        self.serial = 0

    def _body(self, consultant: str, day: date, slot: tuple[str, str]) -> dict[str, Any]:
        return {
            "consultant": consultant,
            "client": self.client_id,
            "startAt": at(day, slot[0]),
            "endAt": at(day, slot[1]),
        }

    def free_booking(self) -> int:
        day, slot = self.free_slots.pop(0)
        body = self._body(self.consultant_id, day, slot)
        held = self.http.post("/appointments/hold", json=body, headers=bearer(self.client))
        confirmed = self.http.post(
            "/appointments", json={**body, "holdId": held.json()["data"]["holdId"]}, headers=bearer(self.client)
        )
        return confirmed.status_code

    def paid_booking(self) -> int:
        day, slot = self.paid_slots.pop(0)
        body = self._body(self.paid_id, day, slot)
        hold_id = self.http.post("/appointments/hold", json=body, headers=bearer(self.client)).json()["data"]["holdId"]
        order = self.http.post(
            "/payments/create-order",
            headers=bearer(self.client),
            json={"amount": 1500, "holdId": hold_id, "consultantId": self.paid_id},
        ).json()["data"]
        payment_id = "pay_" + secrets.token_hex(7)
        signature = hmac.new(
            self.secret.encode(), f"{order['orderId']}|{payment_id}".encode(), hashlib.sha256
        ).hexdigest()
        confirmed = self.http.post(
            "/appointments",
            headers=bearer(self.client),
            json={
                **body,
                "holdId": hold_id,
                "payment": {
                    "razorpayResponse": {
                        "razorpay_order_id": order["orderId"],
                        "razorpay_payment_id": payment_id,
                        "razorpay_signature": signature,
                    }
                },
            },
        )
        return confirmed.status_code

    def earn(self) -> None:
        """One more completed offline payment of the paid consultant (not timed)."""
        day, slot = self.direct_slots.pop(0)
        created = self.http.post(
            "/appointments",
            headers=bearer(self.admin),
            json={**self._body(self.paid_id, day, slot), "payment": {"amount": 1000, "status": "Success"}},
        )
        created.raise_for_status()
        self.http.patch(
            f"/appointments/{created.json()['data']['_id']}", headers=bearer(self.admin), json={"status": "Completed"}
        ).raise_for_status()

    def payout(self) -> int:
        self.serial += 1
        return self.http.post(
            "/transactions/payout",
            headers=bearer(self.admin),
            json={"consultantId": self.paid_id, "amount": 10, "referenceId": f"BENCH-{self.serial}"},
        ).status_code

    def transactions(self) -> int:
        return self.http.get("/transactions", params={"limit": 100}, headers=bearer(self.admin)).status_code

    def health(self) -> int:
        return self.http.get(HEALTH.removeprefix("/api/v1")).status_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1, help="API processes (above 1: PostgreSQL and Redis)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, database(args.backend) as url:
        settings = bench_settings(Path(work), url)
        redis_url = args.redis_url if args.workers > 1 else None
        with consult_server(settings, Path(work) / "server.log", workers=args.workers, redis_url=redis_url) as served:
            scenario = Money(served.url, settings.resolved_razorpay_secret)
            kinds: dict[str, Callable[[], int]] = {
                "GET /health": scenario.health,
                "free booking (hold + confirm)": scenario.free_booking,
                "paid booking (hold + create-order + confirm)": scenario.paid_booking,
                "POST /transactions/payout": scenario.payout,
                "GET /transactions?limit=100 (admin)": scenario.transactions,
            }
            times: dict[str, list[float]] = {name: [] for name in kinds}
            statuses: Counter[str] = Counter()
            scenario.earn()
            for _ in range(args.rounds):
                scenario.earn()
                for name, call in kinds.items():
                    started = time.perf_counter()
                    status = call()
                    times[name].append(time.perf_counter() - started)
                    statuses[f"{name}: {status}"] += 1
            scenario.close()
    base = median(times["GET /health"])
    shape = f" --workers {args.workers}" if args.workers > 1 else ""
    print(f"{utc_stamp()}, `bench/money.py --backend {args.backend} --rounds {args.rounds}{shape}`, {machine()}")
    print()
    print("| request | n | p50 ms | p90 ms | p50 / health |")
    print("|---|---:|---:|---:|---:|")
    for name, values in times.items():
        print(
            f"| {name} | {len(values)} | {median(values) * 1000:.1f} | {percentile(values, 0.9) * 1000:.1f} | "
            f"{median(values) / base:.1f}x |"
        )
    print()
    print("statuses: " + ", ".join(f"{k} x{v}" for k, v in sorted(statuses.items())))
    expected = {
        "GET /health: 200",
        "free booking (hold + confirm): 201",
        "paid booking (hold + create-order + confirm): 201",
        "POST /transactions/payout: 201",
        "GET /transactions?limit=100 (admin): 200",
    }
    return 0 if set(statuses) == expected else 1


if __name__ == "__main__":
    sys.exit(main())
