"""`consult import DIR [--dry-run] [--allow-nonempty]` (contract mongo-import §0)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from infrastructure.settings import Settings
from interfaces.progress import progress

EXIT_REFUSED = 2


def add_parser(sub: Any) -> None:
    command = sub.add_parser("import", help="import a directory of mongoexport files of the original backend")
    command.add_argument("directory", type=Path)
    command.add_argument("--dry-run", action="store_true", help="read and check everything, write nothing")
    command.add_argument(
        "--allow-nonempty", action="store_true", help="import into a store that already has data (each id checked)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from infrastructure.mongo_import.importer import Importer, Refused
    from infrastructure.mongo_import.store import open_market
    from infrastructure.mongo_import.values import Report

    if not args.directory.is_dir():
        print(f"consult import: {args.directory} is not a readable directory", file=sys.stderr)
        return EXIT_REFUSED
    market, close = open_market(settings)
    report = Report(out=sys.stdout)
    try:
        with progress("importing", "record") as advance:
            importer = Importer(
                market,
                args.directory,
                report,
                dry_run=args.dry_run,
                allow_nonempty=args.allow_nonempty,
                currency=settings.platform_currency,
                zone=ZoneInfo(settings.business_timezone),
                progress=advance,
                batch_events=settings.import_batch_events,
            )
            importer.run()
    except Refused as refusal:
        print(f"consult import: {refusal}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        close()
    for line in report.summary():
        print(line)
    written = "nothing written (dry run)" if args.dry_run else f"{importer.writer.written} events written"
    if not report.total_imported:
        written = "nothing imported: every record is already in the store" if not args.dry_run else written
    if importer.resumed is not None:
        written += f" (completed the import started at {importer.resumed})"
    print(f"consult import: {written}")
    return 0
