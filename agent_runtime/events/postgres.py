"""The central events store in PostgreSQL: what the recorder writes when DATABASE_URL (or `--db postgresql://...`)
names a server, with the SQLite store's columns and row tuples (`store.event_row`, `store.quarantine_row`).

- `events` is partitioned by RANGE of the event's own timestamp `at`, one partition per UTC day (`events_YYYYMMDD`),
  created on demand. A unique key on a partitioned table must hold the partition key, so the primary key is
  (event_id, at): a redelivered event carries the same `at`, and ON CONFLICT DO NOTHING absorbs it. `arrival` (a
  sequence) stands for SQLite's rowid: readers order by call, then turn (NULLs first, as SQLite sorts them), then
  arrival; `call_id` sorts bytewise (COLLATE "C"), as SQLite's does.
- A partition is created as a plain table and then attached (ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on
  `events`, so a long replay read does not hold the recorder up, where CREATE TABLE ... PARTITION OF would wait for
  it), under a transaction-level advisory lock, so that concurrent creators neither fail nor create twice; days
  already seen are cached, and a day dropped by retention meanwhile is created again (one retry).
- Payloads are TEXT, as the producer signed and the recorder admitted them, not JSONB. Measured here
  (benchmarks/postgres_store.py, results/postgres_store.json): JSONB inserts about 3x slower (the server parses and
  converts every payload) and the raw whole-store read about 5x slower (it converts each back to text), for tables
  about 19 % smaller; replay parses every payload with the typed parser anyway and queries nothing inside it, and
  JSONB would rewrite the JSON (key order, numbers) and refuse a `\\u0000` escape that the event contract allows in
  a debtor's words, failing the whole batch on every redelivery.
- Batches go in as one INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING per transaction: at the
  recorder's 200 events a batch it beat COPY into a temporary table then INSERT ... SELECT by about 1.5x (one
  statement instead of two, and no temporary table to empty at each commit), and its status says how many rows
  were new. Commits stay synchronous: the recorder acknowledges a message only after its batch is committed.
- The synchronous readers (`stored_rows`, `recent_rows`, `call_rows`, `delete_calls_before`) run asyncpg in a private
  event loop on a thread of their own, so they work whether or not the caller runs a loop; `stored_rows` streams
  through a server-side cursor in batches, fetching the next while the caller parses this one.

A URL may hold a password: nothing here logs or raises it; `describe` gives the URL without it and without its query.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import asyncpg

log = logging.getLogger("agent_runtime.events.postgres")
T = TypeVar("T")

SESSION = {"timezone": "UTC", "application_name": "agent_runtime.events"}
CONNECT_TIMEOUT_SECONDS = 10.0
RETRY_FOR_SECONDS = 30.0  # how long a batch waits for a server that went away before the error reaches the caller
READ_BATCH = 5_000  # rows per cursor fetch: a few MB of payloads
DROP_LOCK_TIMEOUT = "5s"  # retention waits at most this for `events` (a partition drop locks the whole table)
LOCK_KEY = 0x6576656E7473  # pg_advisory_xact_lock key of schema and partition changes ("events")
QUARANTINE_KEEP_BYTES = 64 * 1024  # as store.QUARANTINE_KEEP_BYTES
PARTITION = re.compile(r"events_(\d{8})")

SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS events_arrival;
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    type TEXT NOT NULL,
    call_id TEXT COLLATE "C" NOT NULL,
    turn INTEGER,
    at TIMESTAMPTZ NOT NULL,
    state_spec_version TEXT,
    payload TEXT NOT NULL,
    delivered SMALLINT NOT NULL DEFAULT 0,
    arrival BIGINT NOT NULL DEFAULT nextval('events_arrival'),
    PRIMARY KEY (event_id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE events_arrival OWNED BY events.arrival;
CREATE INDEX IF NOT EXISTS events_by_call ON events (call_id, turn NULLS FIRST, arrival);
CREATE INDEX IF NOT EXISTS events_opened ON events (at) WHERE type = 'call_opened';
-- the calls to one number (the do-not-contact check); a text pattern, as the payload is TEXT, not JSONB
CREATE INDEX IF NOT EXISTS events_by_number ON events ((substring(payload FROM '"phone_ref":"([^"]*)"')))
    WHERE type = 'call_opened';
CREATE TABLE IF NOT EXISTS quarantine (
    digest TEXT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    size INTEGER NOT NULL,
    payload BYTEA NOT NULL,
    arrival BIGINT GENERATED ALWAYS AS IDENTITY
);
"""
COLUMNS = "event_id, schema_version, type, call_id, turn, at, state_spec_version, payload, delivered"
INSERT = (
    f"INSERT INTO events ({COLUMNS}) SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::int[], "
    "$6::timestamptz[], $7::text[], $8::text[], $9::smallint[]) ON CONFLICT DO NOTHING"
)
INSERT_QUARANTINE = (
    "INSERT INTO quarantine (digest, received_at, topic, reason, detail, size, payload) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
)
READ = 'SELECT call_id, payload FROM events ORDER BY call_id COLLATE "C", turn NULLS FIRST, arrival'
TEXT_COLUMNS = (0, 2, 3, 6)  # event_id, type, call_id, state_spec_version: parsed fields, stored as columns
# The connection failed or the server is going away: worth another try once it is back.
RETRYABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
)


def describe(url: str) -> str:
    """The URL as logs and messages may show it: scheme, user, hosts and database; no password, no query."""
    scheme, _, rest = url.partition("://")
    rest = rest.split("?", 1)[0].split("#", 1)[0]
    netloc, slash, database = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}{at}{hosts}{slash}{database}"


def _scrub(text: str, url: str) -> str:
    """`text` with `url` and any password in it replaced (an exception's message, before it is raised on)."""
    text = text.replace(url, describe(url))
    netloc = url.partition("://")[2].split("/", 1)[0]
    userinfo = netloc.rpartition("@")[0]
    secrets = [userinfo.partition(":")[2]] if ":" in userinfo else []
    secrets += re.findall(r"[?&]password=([^&#]+)", url)
    for secret in filter(None, secrets):
        text = text.replace(secret, "******")
    return text


def _unavailable(url: str, exc: BaseException) -> ConnectionError:
    reason = _scrub(str(exc) or type(exc).__name__, url)
    return ConnectionError(f"cannot use the events database at {describe(url)}: {reason}")


async def _connect(url: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_SECONDS, server_settings=SESSION)
    except (*RETRYABLE, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise _unavailable(url, exc) from None


def _utc(text: str) -> datetime:
    """A stored `at` (ISO 8601) as an aware time; a naive one is UTC, as SQLite's julianday reads it."""
    when = datetime.fromisoformat(text)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def day_of(when: datetime) -> date:
    return when.astimezone(UTC).date()


def partition_name(day: date) -> str:
    return f"events_{day:%Y%m%d}"


async def create_schema(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)  # two recorders starting at once
        await conn.execute(SCHEMA)


async def create_partitions(conn: asyncpg.Connection, days: Sequence[date]) -> None:
    """A partition for each of `days` that has none (safe to call concurrently from any number of processes: they
    take turns on an advisory lock; one that does not, say a person's psql, can only make the first try fail, and
    the second finds its table)."""
    try:
        await _create_partitions(conn, days)
    except (asyncpg.DuplicateTableError, asyncpg.UniqueViolationError):
        await _create_partitions(conn, days)


async def _create_partitions(conn: asyncpg.Connection, days: Sequence[date]) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        for day in sorted(set(days)):
            name = partition_name(day)
            if await conn.fetchval("SELECT to_regclass($1)", name) is not None:
                continue
            upper = "MAXVALUE" if day == date.max else f"'{day + timedelta(days=1)} 00:00:00+00'"
            await conn.execute(f"CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS)")
            await conn.execute(
                f"ALTER TABLE events ATTACH PARTITION {name} FOR VALUES FROM ('{day} 00:00:00+00') TO ({upper})"
            )


async def day_partitions(conn: asyncpg.Connection) -> dict[date, str]:
    """The day partitions of `events` by day (tables of another name are not this module's and are left alone)."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'events'::regclass"
    )
    days = {}
    for (name,) in rows:
        if match := PARTITION.fullmatch(name):
            days[datetime.strptime(match[1], "%Y%m%d").date()] = name
    return days


def _text(value: str) -> str:
    """A text PostgreSQL can hold: no NUL character, no lone surrogate (a refused message's topic or detail)."""
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode()


class PostgresEventStore:
    """The recorder's store in PostgreSQL (the subset of EventStore's methods a central store needs). `path` names
    the database without its password, for logs."""

    def __init__(self, pool: asyncpg.Pool, url: str):
        self.pool, self._url, self.path = pool, url, describe(url)
        self._days: set[date] = set()  # the day partitions known to exist

    @classmethod
    async def open(cls, url: str) -> PostgresEventStore:
        """Connect (a pool of up to two connections), creating the tables where they are missing. A server that
        cannot be reached or refuses raises ConnectionError, whose message holds no password."""
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=2, timeout=CONNECT_TIMEOUT_SECONDS, server_settings=SESSION
            )
            async with pool.acquire() as conn:
                await create_schema(conn)
        except (*RETRYABLE, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise _unavailable(url, exc) from None
        return cls(pool, url)

    async def append_rows(self, rows: Sequence[tuple], quarantined: Sequence[tuple] = ()) -> int:
        """Insert event rows (and refused messages' rows) in one transaction; returns how many events were new. A
        server that went away is waited for (RETRY_FOR_SECONDS, with backoff); then ConnectionError."""
        if not rows and not quarantined:
            return 0
        rows, unstorable = self._storable(rows)
        columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 9
        if rows:
            columns[5] = [_utc(at) for at in columns[5]]
        quarantined = [
            (digest, _utc(received), _text(topic), _text(reason), _text(detail), size, payload)
            for digest, received, topic, reason, detail, size, payload in [*quarantined, *unstorable]
        ]
        days = {day_of(at) for at in columns[5]}
        return await self._retrying(lambda: self._insert(columns, days, quarantined))

    @staticmethod
    def _storable(rows: Sequence[tuple]) -> tuple[Sequence[tuple], list[tuple]]:
        """(rows, quarantine rows): a NUL character in a parsed text column (the event contract allows one in an
        event_id or a spec version, PostgreSQL's text does not) would fail the whole batch, again on every
        redelivery: such an event goes to quarantine instead."""
        if not any("\x00" in (row[i] or "") for row in rows for i in TEXT_COLUMNS):
            return rows, []
        good, bad = [], []
        received = datetime.now(UTC).isoformat()
        detail = "a NUL character in event_id, type, call_id or state_spec_version, which PostgreSQL cannot store"
        for row in rows:
            if any("\x00" in (row[i] or "") for i in TEXT_COLUMNS):
                payload = row[7].encode()
                # store.quarantine_row's shape (this module does not import store, which imports it)
                digest = hashlib.sha256(b"(unstorable)\0" + payload).hexdigest()
                bad.append(
                    (
                        digest,
                        received,
                        f"(call {_text(row[3])[:200]})",
                        "unstorable",
                        detail,
                        len(payload),
                        payload[:QUARANTINE_KEEP_BYTES],
                    )
                )
            else:
                good.append(row)
        return good, bad

    async def _insert(self, columns: list[list], days: set[date], quarantined: list[tuple]) -> int:
        async with self.pool.acquire() as conn:
            if days - self._days:
                await create_partitions(conn, sorted(days - self._days))
                self._days |= days
            try:
                return await self._write(conn, columns, quarantined)
            except asyncpg.CheckViolationError as exc:
                if "no partition" not in str(exc):
                    raise
                # retention dropped a day this process had cached: create it again, once
                await create_partitions(conn, sorted(days))
                return await self._write(conn, columns, quarantined)

    @staticmethod
    async def _write(conn: asyncpg.Connection, columns: list[list], quarantined: list[tuple]) -> int:
        async with conn.transaction():
            new = 0
            if columns[0]:
                status = await conn.execute(INSERT, *columns)
                new = int(status.rsplit(" ", 1)[1])
            if quarantined:
                await conn.executemany(INSERT_QUARANTINE, quarantined)
        return new

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + RETRY_FOR_SECONDS, 0.2
        while True:
            try:
                return await attempt()
            except RETRYABLE as exc:
                if loop.time() + delay > deadline:
                    raise _unavailable(self._url, exc) from None
                log.warning(
                    "events database %s unavailable (%s); retrying in %.1f s", self.path, type(exc).__name__, delay
                )
                await asyncio.sleep(delay)
                delay = min(2 * delay, 5.0)

    async def quarantined(self) -> list[tuple[str, str, str]]:
        """(topic, reason, detail) of every refused message, oldest first."""
        rows = await self.pool.fetch("SELECT topic, reason, detail FROM quarantine ORDER BY received_at, arrival")
        return [tuple(row) for row in rows]

    async def count(self) -> int:
        return await self.pool.fetchval("SELECT count(*) FROM events")

    async def event_ids(self) -> list[str]:
        return [row[0] for row in await self.pool.fetch("SELECT event_id FROM events ORDER BY arrival")]

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.pool.close(), 5.0)
        except TimeoutError:
            self.pool.terminate()


# The synchronous readers: offline tools (training.replay, retention) and the console's handlers (via a thread).


class _Loop:
    """A private event loop on a daemon thread: asyncpg for synchronous callers, whether or not they run a loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="events-postgres", daemon=True)
        self.thread.start()

    def submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.submit(work).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def _run(url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """`work` on a fresh connection to `url`, from synchronous code."""

    async def session() -> T:
        conn = await _connect(url)
        try:
            return await _not_an_events_database(url, work(conn))
        finally:
            await conn.close()

    background = _Loop()
    try:
        return background.run(session())
    finally:
        background.close()


async def _not_an_events_database(url: str, work: Awaitable[T]) -> T:
    try:
        return await work
    except asyncpg.UndefinedTableError as exc:
        raise ValueError(f"{describe(url)} is not an events database: {exc}") from None
    except RETRYABLE as exc:
        raise _unavailable(url, exc) from None


def stored_rows(url: str, batch: int = READ_BATCH) -> Iterator[tuple[str, str]]:
    """(call_id, payload) of every stored event, by call, then turn (calls' opening and closing first), then arrival,
    streamed through a server-side cursor in one REPEATABLE READ snapshot."""
    background = _Loop()
    conn = None
    pending: concurrent.futures.Future | None = None
    try:
        conn = background.run(_connect(url))
        background.run(conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        cursor = background.run(_not_an_events_database(url, conn.cursor(READ)))
        pending = background.submit(_not_an_events_database(url, cursor.fetch(batch)))
        while rows := pending.result():
            pending = background.submit(_not_an_events_database(url, cursor.fetch(batch)))  # the next, meanwhile
            yield from rows
        pending = None
    finally:
        if pending is not None:  # the reader stopped early: let the fetch in flight end before closing
            with contextlib.suppress(Exception):
                pending.result()
        if conn is not None:
            with contextlib.suppress(Exception):
                background.run(asyncio.wait_for(conn.close(), 5.0))
            conn.terminate()  # a no-op once closed
        background.close()


def recent_rows(url: str, limit: int) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """([(call_id, call_opened payload)] of the last `limit` calls opened, newest first; {call_id: call_closed
    payload} of those that closed)."""

    async def work(conn: asyncpg.Connection) -> tuple[list[tuple[str, str]], dict[str, str]]:
        opened = await conn.fetch(
            "SELECT call_id, payload FROM events WHERE type = 'call_opened' ORDER BY at DESC, arrival DESC LIMIT $1",
            limit,
        )
        closed = await conn.fetch(
            "SELECT call_id, payload FROM events WHERE type = 'call_closed' AND call_id = ANY($1::text[]) "
            "ORDER BY arrival",
            [row[0] for row in opened],
        )
        return [tuple(row) for row in opened], {row[0]: row[1] for row in closed}

    return _run(url, work)


def closed_rows_to(url: str, phone_ref: str) -> list[str]:
    """The call_closed payloads of the calls opened to the number with this keyed reference."""
    number = "substring(o.payload FROM '\"phone_ref\":\"([^\"]*)\"')"

    async def work(conn: asyncpg.Connection) -> list[str]:
        rows = await conn.fetch(
            f"SELECT c.payload FROM events o JOIN events c ON c.call_id = o.call_id AND c.type = 'call_closed' "
            f"WHERE o.type = 'call_opened' AND {number} = $1",
            phone_ref,
        )
        return [row[0] for row in rows]

    return _run(url, work)


def call_rows(url: str, call_id: str) -> list[str]:
    """The payloads of one call's events: opened, its turns, closed."""
    order = "CASE type WHEN 'call_opened' THEN 0 WHEN 'turn' THEN 1 ELSE 2 END, turn NULLS FIRST, arrival"

    async def work(conn: asyncpg.Connection) -> list[str]:
        rows = await conn.fetch(f"SELECT payload FROM events WHERE call_id = $1 ORDER BY {order}", call_id)
        return [row[0] for row in rows]

    return _run(url, work)


def delete_calls_before(url: str, cutoff: datetime, *, dry_run: bool = False) -> tuple[int, int, int, int, int]:
    """(calls, events, undelivered, quarantined, partitions dropped) of the deletion of every call that opened before
    `cutoff` (whole calls), of refused messages received before it, and then of the day partitions that end by the
    cutoff and are empty. Dropping a partition locks `events` for a moment; with the table busy for longer than
    DROP_LOCK_TIMEOUT the partitions stay (empty) for the next run."""
    # a call with any event before the cutoff opened before it (and only the old partitions are scanned)
    old = "SELECT DISTINCT call_id FROM events WHERE at < $1"

    async def work(conn: asyncpg.Connection) -> tuple[int, int, int, int, int]:
        if await conn.fetchval("SELECT to_regclass('events')") is None:  # a wrong URL is not given the tables
            raise ValueError(f"{describe(url)} is not an events database: it has no events table")
        calls = await conn.fetchval(f"SELECT count(*) FROM ({old}) AS old", cutoff)
        events, undelivered = await conn.fetchrow(
            f"SELECT count(*), count(*) FILTER (WHERE delivered = 0) FROM events WHERE call_id IN ({old})", cutoff
        )
        quarantined = await conn.fetchval("SELECT count(*) FROM quarantine WHERE received_at < $1", cutoff)
        expired = {day: name for day, name in (await day_partitions(conn)).items() if _ends_by(day, cutoff)}
        if dry_run:
            return calls, events, undelivered, quarantined, len(expired)
        async with conn.transaction():
            await conn.execute(f"DELETE FROM events WHERE call_id IN ({old})", cutoff)
            await conn.execute("DELETE FROM quarantine WHERE received_at < $1", cutoff)
        dropped = 0
        if expired:
            try:
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'")
                    await conn.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")  # no late event slips in
                    for name in expired.values():
                        if not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {name})"):
                            await conn.execute(f"DROP TABLE {name}")
                            dropped += 1
            except asyncpg.LockNotAvailableError:
                log.warning("events is busy: its expired day partitions stay (empty) until the next run")
                dropped = 0
        return calls, events, undelivered, quarantined, dropped

    return _run(url, work)


def _ends_by(day: date, cutoff: datetime) -> bool:
    """Whether the whole of `day` (UTC) lies before `cutoff`."""
    return day < date.max and datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) <= cutoff
