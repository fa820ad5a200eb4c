"""Retention: delete the calls older than N days from every events database given (outboxes and central stores).

    python -m agent_runtime.retention --older-than-days 90 data/outbox.db data/events.db [--dry-run]
    python -m agent_runtime.retention --older-than-days 90 postgresql://recorder@db/events    # or "$DATABASE_URL"

A call goes whole (every event of it) once it opened more than N days ago; refused messages in quarantine go by the
time they arrived. In a SQLite file deleted content is overwritten, not only unlinked from the table. In PostgreSQL
the calls are deleted, then the day partitions that lie wholly before the cutoff (empty by then) are dropped, which
removes their files; rows deleted from newer partitions stay on disk until VACUUM reuses their space. Run it daily
(cron, a Kubernetes CronJob). A URL is never printed with its password.
"""

from __future__ import annotations

import argparse
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent_runtime.events.store import delete_calls_before, describe_source, is_database_url


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if days < 1:
        raise argparse.ArgumentTypeError("keep at least 1 day")
    return days


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "databases", nargs="+", metavar="PATH|URL", help="events databases: SQLite files or postgresql:// URLs"
    )
    parser.add_argument(
        "--older-than-days", type=_days, required=True, help="delete calls opened before this many days"
    )
    parser.add_argument("--dry-run", action="store_true", help="count what would go; delete nothing")
    args = parser.parse_args(argv)
    cutoff = datetime.now(UTC) - timedelta(days=args.older_than_days)
    failed = False
    for database in args.databases:
        source = database if is_database_url(database) else Path(database)
        name = describe_source(source)
        try:
            deleted = delete_calls_before(source, cutoff, dry_run=args.dry_run)
        except (FileNotFoundError, ValueError, OSError, sqlite3.DatabaseError) as exc:  # OSError: ConnectionError
            print(f"error: {name}: {exc}" if name not in str(exc) else f"error: {exc}")
            failed = True
            continue
        verb = "would delete" if args.dry_run else "deleted"
        partitions = ""
        if is_database_url(source):
            partitions = f"; {'would drop' if args.dry_run else 'dropped'} {deleted.partitions} day partition(s)"
        print(
            f"{name}: {verb} {deleted.calls} call(s), {deleted.events} event(s) ({deleted.undelivered} never "
            f"delivered), {deleted.quarantined} quarantined message(s) from before {cutoff:%Y-%m-%d %H:%M} UTC"
            f"{partitions}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
