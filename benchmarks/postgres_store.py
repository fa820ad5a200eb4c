"""The PostgreSQL events store: batched inserts and replay reads, on the server at --url (a fresh database of a random
name is created there and dropped at the end).

    python -m benchmarks.postgres_store [--url postgresql://postgres@127.0.0.1:5432/postgres] [--events 100000]
        [--batches 200 1000 5000] [--read-events 100000] [--repeats 5] [--seed 0]

1. Inserts: realistic TurnEvents (a simulator state, Q-values, offer terms, stage latencies, texts; about 1.5 KB of
   JSON; 12 turns a call, spread over three UTC days) through `PostgresEventStore.append_rows`, one batch at a time as
   the recorder commits them (200 a batch, the recorder's COMMIT_EVERY, and bigger), each a synchronous commit;
   events/s, the median of the repeats (the table emptied between them). Also the same batches again (all
   duplicates: a redelivery), and, for the record of the design choice, two alternatives on a raw connection: COPY
   into a temporary table then INSERT ... SELECT ... ON CONFLICT, and a JSONB payload column.
2. Reads: `read_events(url)` over --read-events stored events, typed parsing included (what training.replay does),
   events/s; the raw cursor stream without parsing; the same events read from a SQLite file for comparison; and the
   peak of Python allocations while reading (tracemalloc, a separate pass), which shows the store is streamed.

Prints JSON; writes results/postgres_store.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import numpy as np

from agent_runtime.contracts.events import TurnEvent, new_event_id
from agent_runtime.contracts.stages import LATENCY_STAGES
from agent_runtime.events.postgres import COLUMNS, SESSION, PostgresEventStore, describe, stored_rows
from agent_runtime.events.store import EventStore, event_row, read_events
from simulator.env import DebtorEnv
from tests.test_events import turn_event

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"  # the tests' server (DATABASE_TEST_URL there)
TEXTS = [
    "well i lost my job in march so i could maybe do seventy five dollars a month starting next friday",
    "i already told you people i cannot pay that much right now",
    "can you send me something in writing first",
    "okay fine what is the lowest you can do",
    "i get paid on the fifteenth so after that works better for me",
]


def realistic_rows(n: int, seed: int, start: datetime) -> list[tuple]:
    """Rows of `n` TurnEvents as the recorder stores them (delivered), 12 turns a call, over three UTC days."""
    env, rng = DebtorEnv(), np.random.default_rng(seed)
    state, _ = env.reset(seed=seed)
    _, _, _, _, info = env.step(3)
    template = turn_event("call", 0).model_copy(
        update={
            "state": state.tolist(),
            "offer": info["terms"],
            "agent_text": "I hear you. We could set that up as $75 a month, with the first payment on the 12th.",
        }
    )
    rows = []
    for i in range(n):
        event: TurnEvent = template.model_copy(
            update={
                "event_id": new_event_id(),
                "call_id": f"call-{seed}-{i // 12:07d}",
                "turn": i % 12,
                "at": start + timedelta(seconds=i * 3 * 86400 / n),
                "user_text": TEXTS[int(rng.integers(len(TEXTS)))],
                "q_values": rng.normal(2.0, 1.0, 9).astype(np.float32).tolist(),
                "latencies_ms": {stage: float(rng.uniform(5, 400)) for stage in LATENCY_STAGES},
            }
        )
        rows.append(event_row(event, delivered=True))
    return rows


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def insert_rate(url: str, rows: list[tuple], batch: int, repeats: int) -> dict:
    store = await PostgresEventStore.open(url)
    fresh, again = [], []
    try:
        for _ in range(repeats):
            await store.pool.execute("TRUNCATE events")
            start = time.perf_counter()
            new = 0
            for i in range(0, len(rows), batch):
                new += await store.append_rows(rows[i : i + batch])
            fresh.append(len(rows) / (time.perf_counter() - start))
            assert new == len(rows), (new, len(rows))
            start = time.perf_counter()
            for i in range(0, len(rows), batch):
                assert await store.append_rows(rows[i : i + batch]) == 0
            again.append(len(rows) / (time.perf_counter() - start))
    finally:
        await store.close()
    return {
        "batch": batch,
        "events": len(rows),
        "events_per_second": round(statistics.median(fresh)),
        "each_repeat": [round(r) for r in fresh],
        "redelivered_events_per_second": round(statistics.median(again)),
    }


async def alternative_inserts(url: str, rows: list[tuple], batch: int, repeats: int) -> dict:
    """The design's alternatives, on one raw connection to a table of the same shape (one partition spanning all):
    COPY into a temporary table then INSERT ... SELECT ... ON CONFLICT (TEXT payload), and unnest with JSONB."""
    conn = await asyncpg.connect(url, server_settings=SESSION)
    records = [(*row[:5], datetime.fromisoformat(row[5]), *row[6:]) for row in rows]
    results = {}
    try:
        for payload in ("text", "jsonb"):
            await conn.execute(
                f"""DROP TABLE IF EXISTS alt_{payload};
                CREATE TABLE alt_{payload} (LIKE events INCLUDING DEFAULTS) PARTITION BY RANGE (at);
                ALTER TABLE alt_{payload} ALTER COLUMN payload TYPE {payload} USING payload::{payload};
                ALTER TABLE alt_{payload} ADD PRIMARY KEY (event_id, at);
                CREATE INDEX ON alt_{payload} (call_id, turn NULLS FIRST, arrival);
                CREATE INDEX ON alt_{payload} (at) WHERE type = 'call_opened';
                CREATE TABLE alt_{payload}_all PARTITION OF alt_{payload} FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
                CREATE TEMP TABLE IF NOT EXISTS staging_{payload} (LIKE alt_{payload} INCLUDING DEFAULTS)
                ON COMMIT DELETE ROWS"""
            )
        columns = COLUMNS.split(", ")
        unnest = (
            "INSERT INTO alt_{p} ({c}) SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], "
            "$5::int[], $6::timestamptz[], $7::text[], $8::{p}[], $9::smallint[]) ON CONFLICT DO NOTHING"
        )

        async def copy_batch(chunk: list[tuple], payload: str) -> None:
            async with conn.transaction():
                await conn.copy_records_to_table(f"staging_{payload}", records=chunk, columns=columns)
                await conn.execute(
                    f"INSERT INTO alt_{payload} ({COLUMNS}) SELECT {COLUMNS} FROM staging_{payload} "
                    "ON CONFLICT DO NOTHING"
                )

        async def unnest_batch(chunk: list[tuple], payload: str) -> None:
            async with conn.transaction():
                await conn.execute(unnest.format(p=payload, c=COLUMNS), *map(list, zip(*chunk, strict=True)))

        for name, method, payload in [
            ("copy_text", copy_batch, "text"),
            ("unnest_text", unnest_batch, "text"),
            ("unnest_jsonb", unnest_batch, "jsonb"),
        ]:
            rates = []
            for _ in range(repeats):
                await conn.execute(f"TRUNCATE alt_{payload}")
                start = time.perf_counter()
                for i in range(0, len(records), batch):
                    await method(records[i : i + batch], payload)
                rates.append(len(records) / (time.perf_counter() - start))
            results[f"{name}_events_per_second"] = round(statistics.median(rates))
        for payload in ("text", "jsonb"):  # the raw read of the whole table in replay's order, no parsing
            rates = []
            for _ in range(repeats):
                start = time.perf_counter()
                async with conn.transaction():
                    cursor = await conn.cursor(
                        f"SELECT call_id, payload::text FROM alt_{payload} ORDER BY call_id, turn NULLS FIRST, arrival"
                    )
                    while await cursor.fetch(5000):
                        pass
                rates.append(len(records) / (time.perf_counter() - start))
            results[f"raw_read_{payload}_rows_per_second"] = round(statistics.median(rates))
            size = await conn.fetchval(f"SELECT pg_total_relation_size('alt_{payload}_all')")
            results[f"{payload}_table_megabytes"] = round(size / 2**20, 1)
    finally:
        await conn.close()
    return {"batch": batch, "events": len(records), **results}


def read_rates(url: str, sqlite: Path, events: int, repeats: int) -> dict:
    def rate(read) -> float:
        start = time.perf_counter()
        count = sum(1 for _ in read())
        assert count == events, (count, events)
        return events / (time.perf_counter() - start)

    typed = [rate(lambda: read_events(url)) for _ in range(repeats)]
    raw = [rate(lambda: stored_rows(url)) for _ in range(repeats)]
    from_sqlite = [rate(lambda: read_events(sqlite)) for _ in range(repeats)]
    tracemalloc.start()
    for _ in read_events(url):
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "events": events,
        "read_events_per_second": round(statistics.median(typed)),
        "each_repeat": [round(r) for r in typed],
        "raw_cursor_rows_per_second": round(statistics.median(raw)),
        "sqlite_read_events_per_second": round(statistics.median(from_sqlite)),
        "peak_python_allocations_mb_while_reading": round(peak / 2**20, 1),
    }


async def server_facts(url: str) -> dict:
    conn = await asyncpg.connect(url)
    try:
        facts = {"server_version": await conn.fetchval("SHOW server_version")}
        for name in ("shared_buffers", "synchronous_commit", "fsync", "wal_level"):
            facts[name] = await conn.fetchval(f"SHOW {name}")
        return facts
    finally:
        await conn.close()


async def admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL, help="a server, and a database there to connect to first")
    parser.add_argument("--events", type=int, default=100_000, help="events inserted per batch size")
    parser.add_argument("--batches", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--read-events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/postgres_store.json"))
    args = parser.parse_args()
    name = f"bench_events_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(args.url, f'CREATE DATABASE "{name}"'))
    url = with_database(args.url, name)
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    try:
        rows = realistic_rows(max(args.events, args.read_events), args.seed, start)
        inserts = [asyncio.run(insert_rate(url, rows[: args.events], b, args.repeats)) for b in args.batches]
        alternatives = asyncio.run(alternative_inserts(url, rows[: args.events], 200, args.repeats))
        asyncio.run(_fill(url, rows[: args.read_events]))
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = Path(tmp) / "events.db"
            asyncio.run(_fill_sqlite(sqlite, rows[: args.read_events]))
            reads = read_rates(url, sqlite, args.read_events, args.repeats)
        facts = asyncio.run(server_facts(url))
    finally:
        asyncio.run(admin(args.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    report = {
        "inserts": inserts,
        "alternatives_at_batch_200": alternatives,
        "reads": reads,
        "mean_event_bytes": round(float(np.mean([len(row[7]) for row in rows[:1000]]))),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), **facts},
        "server": describe(args.url).rsplit("/", 1)[0],
        "seed": args.seed,
        "command": (
            f"python -m benchmarks.postgres_store --events {args.events} --batches {' '.join(map(str, args.batches))} "
            f"--read-events {args.read_events} --repeats {args.repeats} --seed {args.seed}"
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


async def _fill(url: str, rows: list[tuple]) -> None:
    store = await PostgresEventStore.open(url)
    try:
        await store.pool.execute("TRUNCATE events")
        for i in range(0, len(rows), 5000):
            await store.append_rows(rows[i : i + 5000])
    finally:
        await store.close()


async def _fill_sqlite(path: Path, rows: list[tuple]) -> None:
    store = await EventStore.open(path)
    try:
        for i in range(0, len(rows), 5000):
            await store.append_rows(rows[i : i + 5000])
    finally:
        await store.close()


if __name__ == "__main__":
    main()
