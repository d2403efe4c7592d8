"""`consult doctor` and `consult projections retry`: the parked events of every projection.

The read models' parked events are in the database (`parked_events`); the reporting store's are in
DuckDB (`reporting_parked`). The DuckDB file is locked by the process that owns it, so while the
service runs `doctor` reads the analyst snapshot (a few seconds old) instead, and `retry` leaves the
reporting store to be retried with its owner stopped."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from infrastructure.settings import Settings


def show(entries: list[Any], out: Any = sys.stdout) -> None:
    for entry in entries:
        error = entry.error if len(entry.error) <= 300 else entry.error[:299] + "…"
        print(
            f"  position {entry.position}  {entry.projection:<12} {entry.topic}  "
            f"parked {entry.parked_at.isoformat(timespec='seconds')}  attempts {entry.attempts}\n    {error}",
            file=out,
        )


def reporting_parked(settings: Settings) -> tuple[list[Any], str]:
    """The reporting store's parked events, from the live file when it is free, else from the snapshot."""
    import duckdb

    from reporting import parked
    from reporting.store import LIVE_FILE, SNAPSHOT_FILE

    for name, label in ((LIVE_FILE, "reporting store"), (SNAPSHOT_FILE, "reporting snapshot")):
        path: Path = settings.data_dir / name
        if not path.exists():
            continue
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error:  # locked by the owner process: try the snapshot
            continue
        try:
            return parked.listed(con), label
        except duckdb.CatalogException:  # a store from before parking: nothing parked there
            return [], label
        finally:
            con.close()
    return [], "no reporting store"


def doctor(_: argparse.Namespace, settings: Settings) -> int:
    from infrastructure import parking
    from infrastructure.bootstrap import build

    container = build(settings, run_projections=False)
    try:
        models = parking.listed(container.engine)
        pending = max(runner.pending() for runner in container.runners)
    finally:
        container.close()
    reports, source = reporting_parked(settings)
    print(f"consult doctor: read models {pending} events behind the log")
    if not models and not reports:
        print(f"consult doctor: no parked events (read models; {source})")
        return 0
    print(f"consult doctor: {len(models) + len(reports)} parked events", file=sys.stderr)
    if models:
        print("read models:", file=sys.stderr)
        show(models, sys.stderr)
    if reports:
        print(f"{source}:", file=sys.stderr)
        show(reports, sys.stderr)
    print("fix the cause (upgrade), then `consult projections retry` or `consult rebuild`", file=sys.stderr)
    return 1


def retry(args: argparse.Namespace, settings: Settings) -> int:
    from infrastructure.bootstrap import build
    from infrastructure.parking_retry import retry as retry_read_models
    from reporting.wiring import ReportingLocked, open_store

    container = build(settings, run_projections=False)
    try:
        applied, still = [], []
        for runner in container.runners:  # the read models' runner and the people runner
            done, kept = retry_read_models(runner, args.position)
            applied += done
            still += kept
        try:
            store = open_store(settings, container)
        except ReportingLocked:  # its owner runs: what the snapshot shows parked there stays parked
            store = None
            left = [e for e in reporting_parked(settings)[0] if args.position in (None, e.position)]
            still += left
            if left:
                print(
                    "consult projections retry: the reporting store is in use; stop its owner to retry its "
                    f"{len(left)} parked events",
                    file=sys.stderr,
                )
        if store is not None:
            try:
                done, left = store.retry(args.position)
                applied, still = applied + done, still + left
                if done:
                    store.publish_snapshot(force=True)
            finally:
                store.close()
    finally:
        container.close()
    print(f"consult projections retry: {len(applied)} applied and unparked, {len(still)} still parked")
    show(still, sys.stderr)
    return 1 if still else 0


def add_parsers(sub: Any) -> None:
    sub.add_parser("doctor", help="list parked events (exit status 1 when there are some)")
    projections = sub.add_parser("projections", help="projection maintenance")
    projections_sub = projections.add_subparsers(dest="projections_command", required=True)
    again = projections_sub.add_parser("retry", help="apply parked events again; unpark those that apply now")
    again.add_argument("--position", type=int, default=None, help="only the event at this position")
