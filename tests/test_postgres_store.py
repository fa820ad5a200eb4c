"""The central events store in PostgreSQL, against a real server: idempotent batches, one partition per UTC day of the
event's own time, the readers (replay, the console) giving what SQLite gives, quarantine, the recorder end to end
over a real Mosquitto, and retention dropping whole calls, then their day partitions.

Each test gets a fresh database of a random name on the server at DATABASE_TEST_URL (by default
postgresql://postgres@127.0.0.1:5432/postgres; its user must be allowed to CREATE DATABASE), dropped afterwards. A
server that cannot be reached fails the tests (never skips them): start PostgreSQL (`.ci/run` does)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import numpy as np
import pytest

from agent_runtime import retention
from agent_runtime.contracts.events import CallClosed
from agent_runtime.events.mqtt import MqttSettings
from agent_runtime.events.outbox import MqttPublisher, Outbox
from agent_runtime.events.postgres import PostgresEventStore, describe
from agent_runtime.events.store import (
    EventStore,
    StoredEventError,
    call_events,
    event_row,
    open_store,
    quarantine_row,
    read_events,
    recent_calls,
)
from tests.services import Mosquitto, free_port, wait_for_port
from tests.test_events import turn_event, wait_until
from tests.test_privacy import simulated_calls
from training.replay import load_transitions

ADMIN_URL = os.environ.get("DATABASE_TEST_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
REPO = Path(__file__).resolve().parent.parent
PASSWORD = "pg-password-never-shown-77"  # trust authentication ignores it; it must appear nowhere


def admin(*statements: str, url: str = ADMIN_URL) -> list:
    """Run `statements` on `url` from a thread of its own (no event loop of the caller's is disturbed)."""

    async def work() -> list:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            return [await conn.fetch(statement) for statement in statements]
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work()).result()


def with_database(url: str, name: str, password: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if password is not None:
        user_host = netloc.rpartition("@")
        user = user_host[0].split(":", 1)[0] or "postgres"
        netloc = f"{user}:{password}@{user_host[2]}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{name}"))


@pytest.fixture
def database() -> str:
    """The URL of a fresh, empty database (no tables yet), dropped after the test."""
    unreachable = None
    try:
        admin("SELECT 1")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        unreachable = f"{type(exc).__name__}: {exc}"
    if unreachable is not None:
        pytest.fail(
            f"PostgreSQL is not reachable at {describe(ADMIN_URL)} ({unreachable}). Start it "
            "(`infra/postgres-up.sh`; `make test` runs it) or point DATABASE_TEST_URL at a server whose user may "
            "CREATE DATABASE. These tests never skip.",
            pytrace=False,
        )
    name = f"events_test_{uuid.uuid4().hex[:12]}"
    try:  # a locale whose order is not bytewise, so that the store's own order (COLLATE "C") is what is tested
        admin(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
    except asyncpg.PostgresError:  # a server without ICU
        admin(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(ADMIN_URL, name)
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(url: str, statement: str) -> list:
    return admin(statement, url=url)[0]


def sqlite_rows(path: Path) -> list[tuple]:
    """The event rows of a SQLite store in arrival order, as store.event_row makes them."""
    columns = "event_id, schema_version, type, call_id, turn, at, state_spec_version, payload, delivered"
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute(f"SELECT {columns} FROM events ORDER BY rowid").fetchall()


def partitions(url: str) -> dict[str, int]:
    """{partition name: rows} of `events`."""
    rows = query(
        url,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'events'::regclass",
    )
    names = sorted(row[0] for row in rows)
    counts = admin(*(f"SELECT count(*) FROM {name}" for name in names), url=url)
    return {name: count[0][0] for name, count in zip(names, counts, strict=True)}


async def test_a_batch_stored_twice_is_stored_once(database):
    store = await PostgresEventStore.open(database)
    events = [turn_event("c1", i) for i in range(5)]
    rows = [event_row(e, delivered=True) for e in events]
    assert await store.append_rows(rows) == 5
    assert await store.append_rows(rows) == 0  # a redelivered batch
    assert await store.append_rows([*rows[:2], event_row(turn_event("c1", 5)), rows[0]]) == 1  # duplicates in one
    assert await store.count() == 6
    assert (await store.event_ids())[:5] == [e.event_id for e in events]  # in arrival order
    await store.close()
    again = await PostgresEventStore.open(database)  # opening an existing store changes nothing
    assert await again.append_rows(rows) == 0 and await again.count() == 6
    # a NUL in a debtor's words is a \u0000 escape in the payload: TEXT keeps it (JSONB would refuse the batch)
    nul = turn_event("c2", 0, "a NUL \x00 said")
    assert await again.append_rows([event_row(nul)]) == 1
    await again.close()
    assert [e for e in read_events(database) if e.call_id == "c2"] == [nul]


async def test_events_land_in_the_partition_of_their_own_utc_day(database):
    store = await PostgresEventStore.open(database)
    midnight = datetime(2031, 3, 10, tzinfo=UTC)
    times = {
        "last moment of the 9th": midnight - timedelta(microseconds=1),
        "midnight of the 10th": midnight,
        "10th in UTC, 11th in Tokyo": (midnight + timedelta(hours=20)).astimezone(timezone(timedelta(hours=9))),
        "naive: UTC": (midnight + timedelta(days=2, hours=1)).replace(tzinfo=None),
        "a week later": midnight + timedelta(days=7),
    }
    events = [turn_event("c", i).model_copy(update={"at": at}) for i, at in enumerate(times.values())]
    assert await store.append_rows([event_row(e) for e in events]) == 5
    assert partitions(database) == {
        "events_20310309": 1,
        "events_20310310": 2,
        "events_20310312": 1,
        "events_20310317": 1,
    }
    stored = {e.turn: e.at for e in read_events(database)}
    assert stored[1] == midnight and stored[2] == times["10th in UTC, 11th in Tokyo"]
    await store.close()


async def test_concurrent_writers_create_each_day_once_without_failing(database):
    stores = [await PostgresEventStore.open(database) for _ in range(4)]
    start = datetime(2031, 5, 1, 12, tzinfo=UTC)
    batches = [
        [event_row(turn_event(f"w{w}", i).model_copy(update={"at": start + timedelta(days=i % 5)})) for i in range(50)]
        for w in range(len(stores))
    ]
    stored = await asyncio.gather(*(s.append_rows(b) for s, b in zip(stores, batches, strict=True)))
    assert stored == [50] * 4
    assert list(partitions(database).values()) == [40] * 5
    for store in stores:
        await store.close()


async def test_reads_give_what_sqlite_gives_in_the_same_order(database, tmp_path):
    """Real calls (opened, turns, closed) arriving interleaved, call ids that sort differently under a locale: the
    typed events, in order, equal SQLite's for the same rows, and equal what was produced."""
    await simulated_calls(tmp_path / "calls.db", calls=5)
    renamed = {"call-0": "Call-Z", "call-1": "call-a", "call-2": "çall", "call-3": "call-10", "call-4": "call-9"}
    rows = [event_row(e.model_copy(update={"call_id": renamed[e.call_id]})) for e in read_events(tmp_path / "calls.db")]
    random.Random(7).shuffle(rows)  # arrival order across calls (and, within a call, turn events out of order)
    sqlite_store = await EventStore.open(tmp_path / "shuffled.db")
    await sqlite_store.append_rows(rows)
    await sqlite_store.close()
    store = await open_store(database)
    assert isinstance(store, PostgresEventStore)
    assert await store.append_rows(rows) == len(rows)
    await store.close()
    from_postgres = list(read_events(database))
    assert from_postgres == list(read_events(tmp_path / "shuffled.db"))
    assert sorted(e.model_dump_json() for e in from_postgres) == sorted(payload for *_, payload, _ in rows)
    in_order = list(dict.fromkeys(e.call_id for e in from_postgres))
    assert in_order == sorted(renamed.values(), key=str.encode)  # bytewise, as SQLite: "Call-Z" first, "çall" last
    # the console's readers
    assert recent_calls(database) == recent_calls(tmp_path / "shuffled.db")
    assert call_events(database, "çall") == call_events(tmp_path / "shuffled.db", "çall")
    assert call_events(database, "no-such-call") == []


async def test_a_stored_payload_that_does_not_parse_is_skipped_into_errors(database):
    store = await PostgresEventStore.open(database)
    good = [turn_event("good", i) for i in range(3)]
    broken = event_row(turn_event("broken", 0))
    await store.append_rows([*map(event_row, good), (*broken[:7], '{"schema_version": 5, "type": "tu', 0)])
    await store.close()
    errors: list[StoredEventError] = []
    assert [e.event_id for e in read_events(database, errors=errors)] == [e.event_id for e in good]
    assert [e.call_id for e in errors] == ["broken"]
    with pytest.raises(StoredEventError, match="call broken"):
        list(read_events(database))


async def test_refused_messages_land_in_quarantine_once(database):
    store = await PostgresEventStore.open(database)
    refused = [
        quarantine_row("debtcollect/v1/events/a/turn/c", b"\xff\x00 not json", "malformed", "not JSON"),
        quarantine_row("debtcollect/v1/events/a/turn/c", b"{}", "unsigned", "detail with a NUL \x00 and \ud800"),
    ]
    good = event_row(turn_event("c", 0))
    assert await store.append_rows([good], refused) == 1
    assert await store.append_rows([good], refused) == 0  # a redelivery lands on the same rows
    # an event PostgreSQL's text cannot hold (a NUL in its id) goes to quarantine, not the batch down with it
    nul = event_row(turn_event("c", 1).model_copy(update={"event_id": "abc\x00defghij"}))
    assert await store.append_rows([nul, event_row(turn_event("c", 2))]) == 1
    quarantined = await store.quarantined()
    assert [reason for _, reason, _ in quarantined] == ["malformed", "unsigned", "unstorable"]
    assert "\x00" not in quarantined[1][2]
    payloads = query(database, "SELECT payload FROM quarantine ORDER BY arrival")
    assert payloads[0][0] == b"\xff\x00 not json"
    await store.close()


async def test_an_unreachable_server_or_a_database_without_events_fail_clearly(database):
    url = f"postgresql://recorder:{PASSWORD}@127.0.0.1:{free_port()}/events"
    with pytest.raises(ConnectionError, match="cannot use the events database") as failed:
        await PostgresEventStore.open(url)
    assert PASSWORD not in str(failed.value) and "recorder@127.0.0.1" in str(failed.value)
    with pytest.raises(ConnectionError):
        list(read_events(url))
    with pytest.raises(ValueError, match="not an events database"):
        list(read_events(database))  # no tables yet


def recorder_env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MQTT_", "DATABASE_URL", "EVENTS_"))}
    return clean | extra


async def test_the_recorder_writes_into_postgres_given_database_url(database, tmp_path):
    """The real command, DATABASE_URL set (with a password): events published through a real Mosquitto are stored
    once each, a malformed message is quarantined, SIGTERM stops it cleanly, and the password is never printed."""
    broker = Mosquitto(tmp_path / "broker").start()
    settings = MqttSettings.from_url(broker.url)
    log = tmp_path / "recorder.log"
    url = with_database(ADMIN_URL, urlsplit(database).path.lstrip("/"), password=PASSWORD)
    command = [sys.executable, "-m", "agent_runtime.recorder", "--mqtt", broker.url, "--allow-unsigned"]
    with log.open("ab") as stderr:
        recorder = subprocess.Popen(
            command, cwd=REPO, env=recorder_env(DATABASE_URL=url), stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        deadline = time.monotonic() + 20
        while "recording" not in log.read_text():
            assert recorder.poll() is None and time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)
        assert describe(url) in log.read_text()
        probe = turn_event("probe", 0)
        async with settings.client("probe") as client:  # until the recorder's persistent session is subscribed
            while not await asyncio.to_thread(query, database, "SELECT 1 FROM events"):
                await client.publish(settings.topic("turn", "probe"), probe.model_dump_json(), qos=1)
                await asyncio.sleep(0.1)
        outbox_store = await EventStore.open(tmp_path / "outbox.db")
        outbox = Outbox(outbox_store)
        produced = [turn_event(f"call-{i // 10}", i % 10) for i in range(400)]
        for event in produced:
            await outbox.add(event)
        produced.append(probe)
        publisher = MqttPublisher(outbox_store, settings, written=outbox.written)
        drained = asyncio.Event()
        drained.set()  # deliver the backlog, then return
        await asyncio.wait_for(publisher.run(drained), timeout=30)
        async with settings.client("rogue") as client:
            await client.publish(settings.topic("turn", "call-0"), b"{not json", qos=1)
        await outbox.close()
        await outbox_store.close()

        async def all_stored() -> bool:
            counts = await asyncio.to_thread(query, database, "SELECT count(*) FROM events")
            quarantined = await asyncio.to_thread(query, database, "SELECT count(*) FROM quarantine")
            return counts[0][0] == len(produced) and quarantined[0][0] == 1

        await wait_until(all_stored, timeout=30)
        recorder.send_signal(signal.SIGTERM)
        assert recorder.wait(timeout=10) == 0, log.read_text()
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait()
        broker.stop()
    assert sorted(e.event_id for e in read_events(database)) == sorted(e.event_id for e in produced)
    assert PASSWORD not in log.read_text()


def test_the_recorder_fails_in_one_line_on_a_database_it_cannot_reach(tmp_path):
    url = f"postgresql://recorder:{PASSWORD}@127.0.0.1:{free_port()}/events"
    done = subprocess.run(
        [sys.executable, "-m", "agent_runtime.recorder", "--mqtt", "mqtt://127.0.0.1:1", "--allow-unsigned"],
        cwd=REPO,
        env=recorder_env(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: cannot use the events database at postgresql://")
    assert PASSWORD not in done.stderr + done.stdout and "Traceback" not in done.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "agent_runtime.recorder", "--allow-unsigned"],
        cwd=REPO,
        env=recorder_env(DATABASE_URL=f"mysql://root:{PASSWORD}@db/events"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "DATABASE_URL" in bad.stderr and PASSWORD not in bad.stderr


async def test_replay_builds_the_same_transitions_from_postgres_as_from_sqlite(database, tmp_path):
    await simulated_calls(tmp_path / "calls.db", calls=12)
    store = await PostgresEventStore.open(database)
    await store.append_rows(sqlite_rows(tmp_path / "calls.db"))
    await store.close()
    from_sqlite, from_postgres = load_transitions(tmp_path / "calls.db"), load_transitions(database)
    assert len(from_sqlite) > 0 and from_postgres.calls == from_sqlite.calls >= 6
    assert (from_postgres.events, from_postgres.skipped) == (from_sqlite.events, from_sqlite.skipped)
    assert from_postgres.actions == from_sqlite.actions and from_postgres.rewards == from_sqlite.rewards
    assert from_postgres.dones == from_sqlite.dones
    np.testing.assert_array_equal(np.array(from_postgres.obs), np.array(from_sqlite.obs))
    np.testing.assert_array_equal(np.array(from_postgres.next_obs), np.array(from_sqlite.next_obs))


def test_replay_trains_from_a_url_and_keeps_its_password_out_of_the_provenance(database, tmp_path):
    from policy.checkpoint import load_checkpoint
    from training.replay import Args, run

    asyncio.run(simulated_calls(tmp_path / "calls.db", calls=6))

    async def copy() -> None:
        store = await PostgresEventStore.open(database)
        await store.append_rows(sqlite_rows(tmp_path / "calls.db"))
        await store.close()

    asyncio.run(copy())
    url = with_database(ADMIN_URL, urlsplit(database).path.lstrip("/"), password=PASSWORD)
    summary = run(
        Args(events=url, out=tmp_path / "run", algo="dqn", updates=100, eval_every=0, eval_episodes=2, progress=False)
    )
    assert summary.real_episodes > 0
    metadata, _, _ = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert metadata.provenance["events_file"] == describe(url) and metadata.provenance["events_sha256"] is None
    assert PASSWORD not in (tmp_path / "run" / "checkpoint.pt").read_bytes().decode("latin-1")


async def test_retention_deletes_old_calls_whole_then_drops_their_partitions(database, tmp_path, capsys):
    clear = await simulated_calls(tmp_path / "calls.db", calls=3)
    calls = sorted({e.call_id for e in clear})
    now = datetime.now(UTC)
    rows = []
    for event in read_events(tmp_path / "calls.db"):
        at = event.at
        if event.call_id == calls[0]:  # 40 days ago
            at = event.at - timedelta(days=40)
        elif event.call_id == calls[1]:  # opened before the cutoff, closed a day after it: goes whole
            at = now - (timedelta(days=29) if isinstance(event, CallClosed) else timedelta(days=30, seconds=5))
        rows.append(event_row(event.model_copy(update={"at": at})))
    store = await PostgresEventStore.open(database)
    await store.append_rows(rows)
    old = quarantine_row("t/x", b"{forged", "malformed", "not json")
    await store.append_rows([], [(old[0], (now - timedelta(days=40)).isoformat(), *old[2:])])
    await store.append_rows([], [quarantine_row("t/y", b"{new", "malformed", "not json")])
    before = partitions(database)
    old_day = f"events_{now - timedelta(days=40):%Y%m%d}"
    assert old_day in before

    assert retention.main(["--older-than-days", "30", "--dry-run", database]) == 0
    out = capsys.readouterr().out
    assert "would delete 2 call(s)" in out and "1 quarantined" in out and "would drop" in out
    assert {e.call_id for e in read_events(database)} == set(calls)

    assert retention.main(["--older-than-days", "30", database]) == 0
    out = capsys.readouterr().out
    assert "deleted 2 call(s)" in out and "1 quarantined" in out and "dropped" in out
    assert {e.call_id for e in read_events(database)} == {calls[2]}
    after = partitions(database)
    assert old_day not in after and set(after) <= set(before)
    assert min(after) >= f"events_{now - timedelta(days=31):%Y%m%d}"  # every day wholly before the cutoff is gone
    assert f"events_{now - timedelta(days=29):%Y%m%d}" in after  # the day calls[1] closed on stays
    assert query(database, "SELECT topic FROM quarantine")[0][0] == "t/y"
    # a late event of a day dropped under a running writer, which had the day cached: its partition comes back
    late_event = turn_event("late", 0).model_copy(update={"at": now - timedelta(days=40)})
    assert await store.append_rows([event_row(late_event)]) == 1
    await store.close()
    assert old_day in partitions(database)


def test_retention_names_a_database_it_cannot_reach_without_its_password(capsys):
    url = f"postgresql://recorder:{PASSWORD}@127.0.0.1:{free_port()}/events"
    assert retention.main(["--older-than-days", "7", url]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("error:") and PASSWORD not in out


async def test_the_console_lists_and_replays_calls_stored_in_postgres(database, tmp_path):
    """`web --calls-from database-url`: the Calls view reads the PostgreSQL store named by DATABASE_URL (a password
    in it is never shown), while the console's own calls still go to its SQLite outbox."""
    import aiohttp

    await simulated_calls(tmp_path / "calls.db", calls=3)
    store = await PostgresEventStore.open(database)
    await store.append_rows(sqlite_rows(tmp_path / "calls.db"))
    await store.close()
    url = with_database(ADMIN_URL, urlsplit(database).path.lstrip("/"), password=PASSWORD)
    port, log = free_port(), tmp_path / "console.log"
    env = recorder_env(DATABASE_URL=url, EVENTS_DB=str(tmp_path / "outbox.db"), DRAIN_SECONDS="1")
    command = [sys.executable, "-m", "agent_runtime", "web", "--port", str(port), "--calls-from", "database-url"]
    with log.open("ab") as output:
        console = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        await asyncio.to_thread(wait_for_port, port, 60)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
            async with session.get("/api/calls") as response:
                listed = (await response.json())["calls"]
            async with session.get(f"/api/calls/{listed[0]['call_id']}") as response:
                cards = (await response.json())["cards"]
        assert sorted(call["call_id"] for call in listed) == sorted({e.call_id for e in read_events(database)})
        assert cards and len(cards) == len(call_events(database, listed[0]["call_id"]))
    finally:
        console.terminate()
        console.wait(timeout=20)
    assert PASSWORD not in log.read_text()


def test_retention_leaves_a_database_without_events_alone(database, capsys):
    assert retention.main(["--older-than-days", "7", database]) == 1
    assert "not an events database" in capsys.readouterr().out
    assert query(database, "SELECT to_regclass('events')") == [(None,)]
