"""The `consult` command line: serve, worker, migrate, create-admin, seed-demo, rebuild, report, doctor,
projections retry."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import sys
import threading
from typing import Any

from infrastructure.realtime import WEBSOCKET_PROTOCOL
from infrastructure.settings import Settings
from interfaces.progress import progress
from interfaces.supervisor import Supervised

log = logging.getLogger("consult")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if args.workers > 1 and not settings.redis_url:
        print(
            "consult serve: --workers above 1 needs REDIS_URL (Socket.IO fan-out and shared rate limits "
            "across processes). Set REDIS_URL or run one worker.",
            file=sys.stderr,
        )
        return 2
    if args.workers > 1 and not settings.uses_postgres:
        print("consult serve: --workers above 1 needs DATABASE_URL pointing at PostgreSQL.", file=sys.stderr)
        return 2
    from infrastructure.bootstrap import migrate
    from infrastructure.delivery import production_problem

    if problem := production_problem(settings):
        print(f"consult serve: {problem}", file=sys.stderr)
        return 2
    migrate(settings)
    projector = None
    if args.workers > 1:
        # N API processes run no projections; one `consult worker` child runs them and, unless
        # REPORTING_URL names a reporting process elsewhere, owns the DuckDB store and serves analytics.
        os.environ["CONSULT_RUN_PROJECTIONS"] = "0"
        command = [sys.executable, "-m", "interfaces.cli", "worker"]
        if not settings.reporting_url:
            port = args.reporting_port or _free_port()
            command += ["--reporting", "--host", "127.0.0.1", "--port", str(port)]
            os.environ["REPORTING_URL"] = f"http://127.0.0.1:{port}"
        projector = Supervised(command, os.environ.copy(), "reporting worker" if "--reporting" in command else "worker")
        projector.start()
    print(f"consult: serving on http://{args.host}:{args.port} (API docs at /docs)", flush=True)
    try:
        uvicorn.run(
            "interfaces.asgi:create",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            access_log=args.log_level == "debug",
            ws=WEBSOCKET_PROTOCOL,
            proxy_headers=False,  # forwarded addresses: only FORWARDED_ALLOW_IPS, applied by the app
        )
    finally:
        if projector is not None:
            projector.stop()
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    """Projections (and the scheduler), for multi-process deployments; with `--reporting` also the
    DuckDB reporting store and the analytics routes on `--port`."""
    from infrastructure.bootstrap import build, position_watch
    from infrastructure.delivery import production_problem
    from infrastructure.realtime import RedisBroadcaster

    if problem := production_problem(settings):
        print(f"consult worker: {problem}", file=sys.stderr)
        return 2
    container = build(
        settings,
        run_projections=True,
        broadcaster=RedisBroadcaster(settings.redis_url, settings.socketio_channel) if settings.redis_url else None,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = threading.Thread(target=container.scheduler.run_forever, args=(stop,), daemon=True, name="scheduler")
    scheduler.start()
    threads = [scheduler]
    if args.reporting:
        threads.append(_serve_reporting(container, args, stop))
    print(
        "consult worker: following the event log" + (f"; analytics on port {args.port}" if args.reporting else ""),
        flush=True,
    )
    # the API processes' writes wake the runners at once (LISTEN/NOTIFY); `--interval` is the fallback poll
    watch = container.watch = position_watch(settings, container.market)
    if container.people_runner is not None:
        people = threading.Thread(
            target=container.people_runner.run_forever,
            args=(stop, args.interval, watch.waker() if watch else None),
            daemon=True,
            name="people",
        )
        people.start()
        threads.append(people)
    container.runner.run_forever(stop, interval=args.interval, wake=watch.waker() if watch else None)
    for thread in threads:
        thread.join(timeout=10)
    container.close()
    return 0


def _serve_reporting(container: Any, args: argparse.Namespace, stop: threading.Event) -> threading.Thread:
    """Own the DuckDB store: follow the log into it and answer /api/v1/analytics/* on --port."""
    import uvicorn

    from interfaces.http.app import create_reporting_api
    from reporting.wiring import attach

    attach(container)
    container.start_reporting()
    server = uvicorn.Server(
        uvicorn.Config(
            create_reporting_api(container), host=args.host, port=args.port, log_level="warning", access_log=False
        )
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # the worker handles signals

    def run() -> None:
        server.run()

    def watch() -> None:
        stop.wait()
        server.should_exit = True

    thread = threading.Thread(target=run, daemon=True, name="reporting-http")
    thread.start()
    threading.Thread(target=watch, daemon=True, name="reporting-stop").start()
    return thread


def _migrate(_: argparse.Namespace, settings: Settings) -> int:
    from infrastructure.bootstrap import migrate

    migrate(settings)
    print("consult: event store and read models are up to date")
    return 0


def _create_admin(args: argparse.Namespace, settings: Settings) -> int:
    from domain.errors import DomainError
    from infrastructure.bootstrap import build

    password = os.environ.get("CONSULT_ADMIN_PASSWORD") or ""
    if not password:
        if not sys.stdin.isatty():
            print("consult create-admin: set CONSULT_ADMIN_PASSWORD or run in a terminal", file=sys.stderr)
            return 2
        password = getpass.getpass("Password for the first admin: ")
        if getpass.getpass("Repeat the password: ") != password:
            print("consult create-admin: the passwords differ", file=sys.stderr)
            return 2
    from interfaces.http.routers.auth import CreateAdminBody

    try:
        body = CreateAdminBody(fullName=args.name, email=args.email, password=password, mobile=args.mobile)
    except Exception as error:  # pydantic ValidationError: show the messages, never the password
        messages = [e.get("msg", "") for e in getattr(error, "errors", lambda: [])()]
        print("consult create-admin: " + "; ".join(m.removeprefix("Value error, ") for m in messages), file=sys.stderr)
        return 2
    container = build(settings, run_projections=True)
    try:
        admin = container.identity.create_first_admin(body.fullName, body.email, body.password, body.mobile)
    except DomainError as error:
        print(f"consult create-admin: {error.message}", file=sys.stderr)
        return 1
    finally:
        container.close()
    print(f"consult: admin {admin['email']} created (user id {admin['userId']})")
    return 0


def _seed_demo(_: argparse.Namespace, settings: Settings) -> int:
    from infrastructure.bootstrap import build
    from interfaces.demo import seed

    container = build(settings, run_projections=True)
    try:
        if container.market.recorder.max_notification_id():
            print("consult seed-demo: the store already has data; nothing added")
            return 0
        logins = seed(container)
    finally:
        container.close()
    print("consult seed-demo: demo data added. Logins (e-mail / password):")
    for role, email, password in logins:
        print(f"  {role:<10} {email:<32} {password}")
    return 0


def _rebuild(_: argparse.Namespace, settings: Settings) -> int:
    from infrastructure import parking
    from infrastructure.bootstrap import build
    from reporting.wiring import ReportingLocked, open_store

    container = build(settings, run_projections=False)
    try:
        total = container.market.recorder.max_notification_id() or 0
        for runner in container.runners:
            runner.reset()
            with progress(f"rebuilding read models ({runner.name})", "event", total) as advance:
                runner.catch_up(progress=advance)
        parked = parking.listed(container.engine)  # events a projection could not apply: reported below
        try:
            store = open_store(settings, container)
        except ReportingLocked as error:  # the file is locked by the running owner process
            print(
                f"consult rebuild: {error}; stop `consult serve` / `consult worker --reporting` first", file=sys.stderr
            )
            return 1
        try:
            store.reset()
            with progress("rebuilding reporting store", "event", total) as advance:
                store.catch_up(progress=advance)
            store.publish_snapshot(force=True)
            parked += store.parked_events()
        finally:
            store.close()
    finally:
        container.close()
    print(f"consult rebuild: read models rebuilt from {total} events; reporting store rebuilt from {total} events")
    if parked:
        print(f"consult rebuild: {len(parked)} events parked (see `consult doctor`):", file=sys.stderr)
        _parking().show(parked, sys.stderr)
    return 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    """Ad-hoc SQL over the analyst snapshot (read-only; never the live store)."""
    from reporting.analyst import SnapshotMissing, run_sql

    if args.report_command == "export":
        return _report_export(args, settings)
    try:
        print(run_sql(settings.data_dir, args.query, as_csv=args.csv, limit=args.max_rows))
    except SnapshotMissing as error:
        print(f"consult report: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - a SQL error, a write refused by the read-only snapshot
        print(f"consult report: {error}", file=sys.stderr)
        return 1
    return 0


def _report_export(args: argparse.Namespace, settings: Settings) -> int:
    """`consult report export --parquet DIR`: the analyst snapshot as Parquet partitions, incremental."""
    from pathlib import Path

    from reporting.analyst import snapshot_path
    from reporting.parquet_export import export_snapshot

    snapshot = snapshot_path(settings.data_dir)
    if not snapshot.exists():
        print(
            f"consult report: no reporting snapshot at {snapshot}: start `consult serve` or run `consult rebuild`",
            file=sys.stderr,
        )
        return 2
    with progress("writing changed Parquet partitions", "partition") as advance:
        result = export_snapshot(snapshot, Path(args.parquet), progress=advance)
    print(
        f"consult report export: position {result.position}: {len(result.written)} partitions written, "
        f"{result.unchanged} unchanged, {len(result.removed)} removed, in {args.parquet}"
    )
    return 0


def _privacy(args: argparse.Namespace, settings: Settings) -> int:
    """`consult privacy encrypt-existing`: seal the personal fields of events stored in the clear."""
    from infrastructure.bootstrap import build
    from infrastructure.privacy_migration import encrypt_existing

    container = build(settings, run_projections=False)
    try:
        total = container.market.recorder.max_notification_id() or 0
        with progress("sealing personal fields", "event", total) as advance:
            read, rewritten = encrypt_existing(
                container.market, container.write_engine, vacuum=args.vacuum, progress=advance
            )
    finally:
        container.close()
    print(f"consult privacy encrypt-existing: {rewritten} of {read} events rewritten with sealed personal fields")
    return 0


COMMANDS: dict[str, Any] = {
    "serve": _serve,
    "worker": _worker,
    "migrate": _migrate,
    "create-admin": _create_admin,
    "seed-demo": _seed_demo,
    "rebuild": _rebuild,
    "report": _report,
    "doctor": lambda args, settings: _parking().doctor(args, settings),
    "projections": lambda args, settings: _parking().retry(args, settings),
    "privacy": _privacy,
    "import": lambda args, settings: _import_cli().run(args, settings),
}


def _parking() -> Any:
    from interfaces import parking_cli

    return parking_cli


def _import_cli() -> Any:
    from interfaces import import_cli

    return import_cli


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="consult", description="Consultation marketplace backend")
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="API + Socket.IO (+ projections when --workers is 1)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--reporting-port",
        type=int,
        default=0,
        help="with --workers N: port of the reporting worker child (default: a free port)",
    )
    worker = sub.add_parser("worker", help="projections and scheduler only (multi-process deployments)")
    worker.add_argument("--interval", type=float, default=0.02, help="seconds between polls of the event log")
    worker.add_argument(
        "--reporting",
        action="store_true",
        help="also own the DuckDB reporting store and serve /api/v1/analytics/* on --port",
    )
    worker.add_argument("--host", default="127.0.0.1")
    worker.add_argument("--port", type=int, default=8001)
    sub.add_parser("migrate", help="create the event store and upgrade the read-model tables")
    admin = sub.add_parser(
        "create-admin", help="create the first admin (password from CONSULT_ADMIN_PASSWORD or a prompt; never printed)"
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True)
    admin.add_argument("--mobile", required=True)
    sub.add_parser("seed-demo", help="add demo data, only to an empty store")
    sub.add_parser("rebuild", help="drop the read models and the reporting store and rebuild them from the events")
    report = sub.add_parser("report", help="analyst access to the reporting snapshot")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    sql = report_sub.add_parser("sql", help="run read-only SQL over the latest reporting snapshot")
    sql.add_argument("query")
    sql.add_argument("--csv", action="store_true", help="CSV output instead of a table")
    sql.add_argument("--max-rows", type=int, default=1000, help="rows shown in table output (CSV: all)")
    exporting = report_sub.add_parser(
        "export", help="publish the reporting snapshot as Parquet partitions (incremental: changed ones only)"
    )
    exporting.add_argument("--parquet", required=True, metavar="DIR", help="directory of the Parquet export")
    _parking().add_parsers(sub)
    _import_cli().add_parser(sub)
    privacy = sub.add_parser("privacy", help="crypto-shredding maintenance")
    privacy_sub = privacy.add_subparsers(dest="privacy_command", required=True)
    sealing = privacy_sub.add_parser(
        "encrypt-existing", help="seal the personal fields of events stored in the clear (idempotent; service stopped)"
    )
    sealing.add_argument("--vacuum", action="store_true", help="then compact the events table (no clear remnants)")
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    return int(COMMANDS[args.command](args, Settings()))


if __name__ == "__main__":
    sys.exit(main())
