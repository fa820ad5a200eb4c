"""The events database: one SQLite file (WAL), idempotent on event_id, used as the producer's outbox and as the
recorder's central store alike (same schema). The central store may be PostgreSQL instead (a `postgresql://` URL;
agent_runtime.events.postgres, same columns and rows). `training.replay` reads any of them with `read_events`, which
parses every event with the contract's typed parser (any schema version, upgraded to the current one); the readers
below take a SQLite path or a URL alike, and this module is where they tell them apart (`is_database_url`)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import aiosqlite

from agent_runtime.contracts.events import CallClosed, Event, MalformedEventError, parse_event

if TYPE_CHECKING:
    from agent_runtime.events.postgres import PostgresEventStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    schema_version INTEGER NOT NULL,
    type TEXT NOT NULL,
    call_id TEXT NOT NULL,
    turn INTEGER,
    at TEXT NOT NULL,
    state_spec_version TEXT,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_by_call ON events (call_id, turn);
CREATE INDEX IF NOT EXISTS events_pending ON events (delivered) WHERE delivered = 0;
CREATE INDEX IF NOT EXISTS events_by_number ON events (json_extract(payload, '$.facts.phone_ref'))
    WHERE type = 'call_opened';
CREATE TABLE IF NOT EXISTS quarantine (
    digest TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    size INTEGER NOT NULL,
    payload BLOB NOT NULL
);
"""
QUARANTINE_KEEP_BYTES = 64 * 1024  # what is kept of a refused message: enough to see what it was, never 5 MB
INSERT_QUARANTINE = (
    "INSERT OR IGNORE INTO quarantine (digest, received_at, topic, reason, detail, size, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT = (
    "INSERT OR IGNORE INTO events (event_id, schema_version, type, call_id, turn, at, state_spec_version, payload, "
    "delivered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

MARK_DELIVERED = "UPDATE events SET delivered = 1 WHERE rowid IN (SELECT value FROM json_each(?))"
# rows per multi-row INSERT, within SQLite's bound on a statement's variables (32766; 999 before 3.32)
ROWS_PER_STATEMENT = 1000 if sqlite3.sqlite_version_info >= (3, 32, 0) else 100


@functools.lru_cache(maxsize=64)
def _many(insert: str, rows: int) -> str:
    """`insert` (one row's INSERT ... VALUES (?, ...)) for `rows` rows in one statement."""
    head, values = insert.split(" VALUES ")
    return f"{head} VALUES {', '.join([values] * rows)}"


def event_row(event: Event, *, delivered: bool = False, payload: str | None = None) -> tuple:
    """The table row of an event; `payload` reuses JSON already validated as this event (the recorder's case)."""
    return (
        event.event_id,
        event.schema_version,
        event.type,
        event.call_id,
        getattr(event, "turn", None),
        event.at.isoformat(),
        getattr(event, "state_spec_version", None),
        payload or event.model_dump_json(),
        int(delivered),
    )


def quarantine_row(topic: str, message: bytes, reason: str, detail: str) -> tuple:
    """A refused message's row; its digest (of topic and message) makes a redelivery land on the same row."""
    digest = hashlib.sha256(topic.encode(errors="replace") + b"\0" + message).hexdigest()
    received = datetime.now(UTC).isoformat()
    return (digest, received, topic[:1000], reason, detail[:1000], len(message), message[:QUARANTINE_KEEP_BYTES])


class EventStore:
    """Async access for the agent (outbox) and the recorder. Writes are batched: one transaction per call."""

    def __init__(self, db: aiosqlite.Connection, path: Path):
        self.db, self.path = db, path

    @classmethod
    async def open(cls, path: Path | str) -> EventStore:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.executescript(SCHEMA)
        await db.commit()
        return cls(db, path)

    async def append(self, events: Sequence[Event], *, delivered: bool = False) -> int:
        """Insert the events not already stored, as they are (producers protect them first: events.privacy); returns
        how many were new."""
        return await self.append_rows([event_row(e, delivered=delivered) for e in events])

    async def append_rows(self, rows: Sequence[tuple], quarantined: Sequence[tuple] = ()) -> int:
        """Insert event rows (and refused messages' rows) in one transaction; returns how many events were new.

        Many rows per INSERT statement rather than `executemany`: the sqlite3 module lets go of the GIL at every step
        of a statement, so a batch of n rows took the GIL back n times from an event loop that is busy reading the
        broker, each time after up to a switch interval (5 ms): a commit of 250 rows could take a second."""
        before = self.db.total_changes
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            await self.db.execute(_many(INSERT, len(chunk)), [value for row in chunk for value in row])
        new = self.db.total_changes - before
        for start in range(0, len(quarantined), ROWS_PER_STATEMENT):
            chunk = quarantined[start : start + ROWS_PER_STATEMENT]
            await self.db.execute(_many(INSERT_QUARANTINE, len(chunk)), [value for row in chunk for value in row])
        await self.db.commit()
        return new

    async def quarantined(self) -> list[tuple[str, str, str]]:
        """(topic, reason, detail) of every refused message, oldest first."""
        cursor = await self.db.execute("SELECT topic, reason, detail FROM quarantine ORDER BY received_at, rowid")
        return list(await cursor.fetchall())

    async def pending_after(self, rowid: int, limit: int) -> list[tuple[int, str, str, str]]:
        """(rowid, type, call_id, payload) of undelivered events after `rowid`, oldest first: a publisher's cursor,
        which reads each event once while earlier ones still await their acknowledgement."""
        cursor = await self.db.execute(
            "SELECT rowid, type, call_id, payload FROM events WHERE delivered = 0 AND rowid > ? ORDER BY rowid LIMIT ?",
            (rowid, limit),
        )
        return list(await cursor.fetchall())

    async def mark_delivered_rows(self, rowids: Sequence[int]) -> None:
        """Mark events delivered by rowid (as `pending_after` gives them), in one statement (see append_rows)."""
        await self.db.execute(MARK_DELIVERED, (json.dumps(list(rowids)),))
        await self.db.commit()

    async def backlog(self) -> int:
        cursor = await self.db.execute("SELECT count(*) FROM events WHERE delivered = 0")
        return (await cursor.fetchone())[0]

    async def count(self) -> int:
        cursor = await self.db.execute("SELECT count(*) FROM events")
        return (await cursor.fetchone())[0]

    async def event_ids(self) -> list[str]:
        cursor = await self.db.execute("SELECT event_id FROM events ORDER BY rowid")
        return [row[0] for row in await cursor.fetchall()]

    async def close(self) -> None:
        await self.db.close()


def is_database_url(source: Path | str) -> bool:
    """Whether `source` names a PostgreSQL database (`postgresql://` or `postgres://`) rather than a SQLite file."""
    return isinstance(source, str) and source.startswith(("postgresql://", "postgres://"))


def describe_source(source: Path | str) -> str:
    """`source` as logs, messages and provenance may show it: a URL without its password."""
    if is_database_url(source):
        from agent_runtime.events.postgres import describe

        return describe(source)
    return str(source)


async def open_store(target: Path | str) -> EventStore | PostgresEventStore:
    """The store at `target`: a SQLite file, or a PostgreSQL database (a URL; needs asyncpg, the telemetry extra)."""
    if is_database_url(target):
        from agent_runtime.events.postgres import PostgresEventStore

        return await PostgresEventStore.open(target)
    return await EventStore.open(target)


class StoredEventError(MalformedEventError):
    """A stored payload that is not a valid event; `call_id` says which call it belongs to."""

    def __init__(self, call_id: str, cause: MalformedEventError):
        super().__init__(f"call {call_id}: {cause}")
        self.call_id, self.cause = call_id, cause


def _read_only(path: Path | str) -> sqlite3.Connection:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no events database at {path}")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def read_events(source: Path | str, *, errors: list[StoredEventError] | None = None) -> Iterator[Event]:
    """Every stored event, typed, grouped by call and in turn order (synchronous, for offline readers), from a SQLite
    file or a PostgreSQL URL (streamed: a big store is never loaded whole). A payload that does not parse raises
    StoredEventError, or, where `errors` is given, is appended to it and skipped."""
    with contextlib.closing(_stored_rows(source)) as rows:
        for call_id, payload in rows:
            try:
                yield parse_event(payload)
            except MalformedEventError as exc:
                if errors is None:
                    raise StoredEventError(call_id, exc) from None
                errors.append(StoredEventError(call_id, exc))


def _stored_rows(source: Path | str) -> Iterator[tuple[str, str | bytes]]:
    """(call_id, payload) of every event: by call, then turn (a call's opening and closing, whose turn is NULL,
    first), then arrival."""
    if is_database_url(source):
        from agent_runtime.events.postgres import stored_rows

        return stored_rows(source)
    return _sqlite_rows(source)


def _sqlite_rows(path: Path | str) -> Iterator[tuple[str, bytes]]:
    with _read_only(path) as db:
        try:
            # as bytes: a payload that is not UTF-8 (a damaged file) is one malformed event, not the end of the read
            rows = db.execute("SELECT call_id, CAST(payload AS BLOB) FROM events ORDER BY call_id, turn, rowid")
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{path} is not an events database: {exc}") from None
        yield from rows


def stored_call_ids(path: Path | str) -> set[str]:
    """The calls that have events at `path` (none where there is no database yet)."""
    if not Path(path).exists():
        return set()
    with _read_only(path) as db:
        return {call_id for (call_id,) in db.execute("SELECT DISTINCT call_id FROM events")}


def recent_calls(path: Path | str, limit: int = 50) -> list[tuple[Event, Event | None]]:
    """The last `limit` calls opened, newest first: (call_opened, call_closed or None while still open); `path` may
    be a PostgreSQL URL."""
    if is_database_url(path):
        from agent_runtime.events.postgres import recent_rows

        opened, closed = recent_rows(path, limit)
        return [(parse_event(payload), parse_event(closed[i]) if i in closed else None) for i, payload in opened]
    with _read_only(path) as db:
        opened = db.execute(
            "SELECT call_id, payload FROM events WHERE type = 'call_opened' ORDER BY at DESC, rowid DESC LIMIT ?",
            (limit,),
        ).fetchall()
        ids = [call_id for call_id, _ in opened]
        placeholders = ",".join("?" * len(ids))
        query = f"SELECT call_id, payload FROM events WHERE type = 'call_closed' AND call_id IN ({placeholders})"
        closed = dict(db.execute(query, ids).fetchall())
    return [(parse_event(payload), parse_event(closed[i]) if i in closed else None) for i, payload in opened]


def closed_calls_to(source: Path | str, phone_ref: str) -> list[CallClosed]:
    """How the calls to the number with this keyed reference ended (the do-not-contact check); none where there is
    no database yet."""
    if is_database_url(source):
        from agent_runtime.events.postgres import closed_rows_to

        payloads = closed_rows_to(source, phone_ref)
    elif not Path(source).exists():
        return []
    else:
        query = (
            "SELECT c.payload FROM events o JOIN events c ON c.call_id = o.call_id AND c.type = 'call_closed' "
            "WHERE o.type = 'call_opened' AND json_extract(o.payload, '$.facts.phone_ref') = ?"
        )
        with _read_only(source) as db:
            payloads = [payload for (payload,) in db.execute(query, (phone_ref,))]
    return [event for event in map(parse_event, payloads) if isinstance(event, CallClosed)]


def call_events(path: Path | str, call_id: str) -> list[Event]:
    """One call's events in the order they happened: opened, its turns, closed; `path` may be a PostgreSQL URL."""
    if is_database_url(path):
        from agent_runtime.events.postgres import call_rows

        return [parse_event(payload) for payload in call_rows(path, call_id)]
    order = "CASE type WHEN 'call_opened' THEN 0 WHEN 'turn' THEN 1 ELSE 2 END, turn, rowid"
    with _read_only(path) as db:
        rows = db.execute(f"SELECT payload FROM events WHERE call_id = ? ORDER BY {order}", (call_id,)).fetchall()
    return [parse_event(payload) for (payload,) in rows]


@dataclass(frozen=True)
class Deleted:
    calls: int
    events: int
    undelivered: int  # of those events, how many an outbox had not yet delivered
    quarantined: int
    partitions: int = 0  # PostgreSQL: day partitions dropped (or, in a dry run, that would be)


def delete_calls_before(path: Path | str, cutoff: datetime, *, dry_run: bool = False) -> Deleted:
    """Delete every call that opened before `cutoff` (whole calls: all their events, never a part) and refused
    messages received before it. Deleted content is overwritten in the file (secure_delete) and the WAL is truncated,
    so the data is gone from the disk, not only from the table. A PostgreSQL URL: the same deletion, then its day
    partitions that lie wholly before the cutoff, empty by then, are dropped (agent_runtime.events.postgres)."""
    if is_database_url(path):
        from agent_runtime.events import postgres

        return Deleted(*postgres.delete_calls_before(path, cutoff, dry_run=dry_run))
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no events database at {path}")
    when = cutoff.astimezone(UTC).isoformat()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA)  # a file from before the quarantine table gets it
        db.execute("PRAGMA secure_delete = ON")
        old = "SELECT call_id FROM events GROUP BY call_id HAVING MIN(julianday(at)) < julianday(?)"
        calls = db.execute(f"SELECT count(*) FROM ({old})", (when,)).fetchone()[0]
        events, undelivered = db.execute(
            f"SELECT count(*), coalesce(sum(delivered = 0), 0) FROM events WHERE call_id IN ({old})", (when,)
        ).fetchone()
        quarantined = db.execute(
            "SELECT count(*) FROM quarantine WHERE julianday(received_at) < julianday(?)", (when,)
        ).fetchone()[0]
        if not dry_run:
            with db:
                db.execute(f"DELETE FROM events WHERE call_id IN ({old})", (when,))
                db.execute("DELETE FROM quarantine WHERE julianday(received_at) < julianday(?)", (when,))
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Deleted(calls, events, undelivered, quarantined)
