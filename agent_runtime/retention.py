"""Retention: delete the calls older than N days from every events database given (outboxes and central stores).

    python -m agent_runtime.retention --older-than-days 90 data/outbox.db data/events.db [--dry-run]

A call goes whole (every event of it) once it opened more than N days ago; refused messages in quarantine go by the
time they arrived. Deleted content is overwritten in the file, not only unlinked from the table. Run it daily (cron,
a Kubernetes CronJob). The PostgreSQL store of the learning-loop issue does not exist yet: this covers SQLite only.
"""

from __future__ import annotations

import argparse
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent_runtime.events.store import delete_calls_before


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
    parser.add_argument("databases", type=Path, nargs="+", help="events databases (SQLite files)")
    parser.add_argument(
        "--older-than-days", type=_days, required=True, help="delete calls opened before this many days"
    )
    parser.add_argument("--dry-run", action="store_true", help="count what would go; delete nothing")
    args = parser.parse_args(argv)
    cutoff = datetime.now(UTC) - timedelta(days=args.older_than_days)
    failed = False
    for path in args.databases:
        try:
            deleted = delete_calls_before(path, cutoff, dry_run=args.dry_run)
        except (FileNotFoundError, sqlite3.DatabaseError) as exc:
            print(f"error: {path}: {exc}")
            failed = True
            continue
        verb = "would delete" if args.dry_run else "deleted"
        print(
            f"{path}: {verb} {deleted.calls} call(s), {deleted.events} event(s) ({deleted.undelivered} never "
            f"delivered), {deleted.quarantined} quarantined message(s) from before {cutoff:%Y-%m-%d %H:%M} UTC"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
