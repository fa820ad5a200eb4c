"""Event-bus throughput under a burst, producer, broker and recorder each in a process of its own:

    python -m benchmarks.events_throughput [--events 10000] [--calls 200] [--scenario backlog] [--scenario live]
        [--db sqlite] [--db postgresql://USER@HOST/DB] [--broker shipped|test-helper] [--repeats 3] [--seed 0]
        [--warmup 600] [--timeout 120] [--profile DIR] [--out results/events_throughput.json]

Per store named by --db (`sqlite`: a fresh SQLite file; a `postgresql://` URL: a scratch database created on that
server for each run and dropped after it, so the role needs CREATEDB) and per scenario, each run starts:
- the broker: Debian's mosquitto on a free loopback port, by default on infra/mosquitto/mosquitto.conf as shipped
  (`--broker shipped`: password accounts and ACL from make-passwd.sh, the plain listener the compose network uses,
  persistence saved every 10 s), or as the tests run it (`--broker test-helper`: tests.services.Mosquitto, anonymous,
  persistence saved on every change so that a SIGKILL loses nothing it acknowledged);
- the recorder: `python -m agent_runtime.recorder --mqtt ... --db ...` with EVENTS_SIGNING_KEY set, so every message
  is checked as in production (size, HMAC signature, typed parsing, topic, bounds; agent_runtime.events.ingest);
- the producer: this module in another process (`--producer`, internal), the agent's side of the bus: the real
  `Outbox` (events protected before they are committed: keyed identity, redacted texts) and `MqttPublisher`
  (signing every event). Its events are those of seeded simulated text calls (simulator.calls: the agent's own
  CallController, its NLG lines and the simulated debtors' words; about 1.5 KB of JSON each, 3 in 4 turn events).

A run: the orchestrator (this process) publishes signed probe events until the recorder stores one (it is
subscribed), the producer sends warm-up calls (not counted), and once they are stored, the burst of `--events`
events from `--calls` concurrent calls, each handing its events to the outbox one after another and awaiting each
commit as the agent's CallController does, each event stamped (`at`, its own time) as it is handed over:
- `backlog`: the pipe alone. The publisher is stopped (the broker is away) while the calls hand the burst over, so
  it waits in the outbox, protected and committed; at the start the publisher reconnects and delivers it.
- `live`: the whole path. The calls hand the burst over at the start while the publisher runs: protection (the
  redaction of every text, on the producer's event loop before the commit) is part of it.
The orchestrator polls the store every 5 ms for new rows (at a raised priority where permitted, so that a busy
machine does not date commits late); an event's commit time is the poll that first sees it.

Reported per run: events/s end to end (burst events over the time from the start to the commit of the last);
delivery latency p50/p95/p99/max from the moment an event could leave (its `at`, or the start for a backlog) to its
commit in the central store, and the same from its commit in the outbox; the producer's hand-over time and what
protection cost it per event; CPU seconds of each process during the burst (producer, recorder, broker, and
PostgreSQL's backends); exactly once: the store holds each burst event once (count and distinct ids == produced),
nothing quarantined, the outbox has delivered everything; the recorder's exit code on SIGTERM. Then the medians over
`--repeats` runs. `--profile DIR` attaches py-spy (sampling, per thread) to the producer and the recorder during
the burst and writes their collapsed stacks to DIR. Prints JSON; writes `--out` (results/events_throughput.json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CALLS = 200
POLL_SECONDS = 0.005
PROBE_PREFIX = "probe-"
SCENARIOS = ("backlog", "live")
GOAL_EVENTS_PER_SECOND, GOAL_P99_MS = 10_000, 1_000  # the goal under a 10,000-event burst


# --- the producer process ------------------------------------------------------------------------------------------


async def simulated_calls(seed: int, events: int, prefix: str) -> list[list]:
    """Seeded simulated text calls (each the list of its events, in order) holding `events` events in all; the
    last call is cut short where the total is reached."""
    from prometheus_client import CollectorRegistry

    from agent_runtime.contracts.outcome import OutcomeKind
    from agent_runtime.dst.tracker import DialogueStateTracker
    from agent_runtime.policy_source import DEFAULT_POLICY, load_policy
    from agent_runtime.services import CallServices
    from simulator.calls import simulated_debtor, talk
    from telemetry.metrics import RuntimeMetrics

    class Sink(list):
        async def add(self, event) -> None:
            self.append(event)

    services = CallServices(load_policy(DEFAULT_POLICY), DialogueStateTracker(), RuntimeMetrics(CollectorRegistry()))
    calls, total, index = [], 0, 0
    while total < events:
        sink = Sink()
        who = simulated_debtor(seed * 1_000_000 + index)
        call = who.controller(services, f"{prefix}{index}", sinks=(sink,))
        await talk(call, who)
        await call.close(OutcomeKind.INTERRUPTED, reason="simulation stopped")  # a no-op: the call ended
        calls.append(list(sink[: events - total]))
        total += len(calls[-1])
        index += 1
    return calls


async def _producer(config: dict) -> None:
    from agent_runtime.events.mqtt import MqttSettings
    from agent_runtime.events.outbox import MqttPublisher, Outbox
    from agent_runtime.events.privacy import EventProtector
    from agent_runtime.events.store import EventStore

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def say(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    store = await EventStore.open(config["outbox"])
    outbox = Outbox(store, EventProtector(config["identity_key"].encode()))
    protect_seconds = [0.0]
    protect = outbox.protector.protect

    def timed_protect(event):
        start = time.perf_counter()
        try:
            return protect(event)
        finally:
            protect_seconds[0] += time.perf_counter() - start

    outbox.protector.protect = timed_protect  # type: ignore[method-assign]
    settings = MqttSettings.from_url(config["mqtt"], username=config["username"], password=config["password"])
    publishers: list[tuple[MqttPublisher, asyncio.Event, asyncio.Task]] = []

    async def start_publisher() -> None:
        publisher = MqttPublisher(
            store,
            settings,
            identifier="bench-producer",
            written=outbox.written,
            signing_key=config["signing_key"].encode(),
        )
        stop = asyncio.Event()
        publishers.append((publisher, stop, asyncio.create_task(publisher.run(stop))))
        await publisher.connected.wait()

    async def stop_publisher() -> int:
        publisher, stop, task = publishers.pop()
        stop.set()
        await task
        return publisher.published

    committed: dict[str, float] = {}

    async def hand_over(calls: list[list], concurrency: int) -> None:
        queue = iter(calls)

        async def one_call() -> None:
            for events in queue:
                for event in events:
                    stamped = event.model_copy(update={"at": datetime.now(UTC)})
                    await outbox.add(stamped)
                    committed[stamped.event_id] = time.time()

        await asyncio.gather(*(one_call() for _ in range(concurrency)))

    await start_publisher()
    while line := await reader.readline():
        command = json.loads(line)
        if command["do"] == "warmup":
            calls = await simulated_calls(config["seed"] + 1, command["events"], f"warmup-{config['run']}-")
            await hand_over(calls, min(config["concurrency"], len(calls)))
            say({"warmup": [event.event_id for call in calls for event in call]})
        elif command["do"] == "burst":
            calls = await simulated_calls(config["seed"], command["events"], f"burst-{config['run']}-")
            ids = [event.event_id for call in calls for event in call]
            committed.clear()
            protect_seconds[0] = 0.0
            backlog = command["mode"] == "backlog"
            if backlog:  # the broker is away while the calls go on: the burst waits in the outbox
                await stop_publisher()
                start = time.time()
                await hand_over(calls, config["concurrency"])
                handover = time.time() - start
            turns = sum(event.type == "turn" for call in calls for event in call)
            say({"ids": ids, "turns": turns})  # before the start: none of the benchmark's own work in the window
            await reader.readline()  # go
            start = time.time()
            if backlog:  # the broker is back: the publisher reconnects and delivers the backlog
                await start_publisher()
            else:  # the calls hand the burst over while the publisher runs
                await hand_over(calls, config["concurrency"])
                handover = time.time() - start
            say(
                {
                    "start": start,
                    "handover_seconds": handover,
                    "protect_seconds": protect_seconds[0],
                }
            )
        elif command["do"] == "stop":
            Path(config["committed"]).write_text(json.dumps(committed))
            published = await stop_publisher()
            await outbox.close()
            say({"backlog": await store.backlog(), "published": published})
            await store.close()
            return


def producer_main(config_json: str) -> None:
    asyncio.run(_producer(json.loads(config_json)))


# --- the orchestrator ----------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Central:
    """Read access to the recorder's store for the orchestrator: new rows since the last poll, and the final checks."""

    async def open(self) -> None: ...

    async def new_rows(self) -> list[tuple[str, str]]: ...

    async def summary(self) -> dict: ...

    async def close(self) -> None: ...

    def backend_pids(self) -> list[int]:
        return []


class SqliteCentral(Central):
    def __init__(self, path: Path):
        self.path, self.last, self.db = path, 0, None

    async def open(self) -> None:
        self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    async def new_rows(self) -> list[tuple[str, str]]:
        query = "SELECT rowid, event_id, at FROM events WHERE rowid > ? ORDER BY rowid"
        try:
            rows = self.db.execute(query, (self.last,)).fetchall()
        except sqlite3.OperationalError:  # the recorder has not created its tables yet
            return []
        if rows:
            self.last = rows[-1][0]
        return [(event_id, at) for _, event_id, at in rows]

    async def summary(self) -> dict:
        total, distinct = self.db.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
        quarantined = self.db.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        ids = [row[0] for row in self.db.execute("SELECT event_id FROM events")]
        return {"rows": total, "distinct_ids": distinct, "quarantined": quarantined, "ids": ids}

    async def close(self) -> None:
        self.db.close()


class PostgresCentral(Central):
    """A scratch database on the server of `url`, created here and dropped on close. An index on `arrival` (the
    sequence every insert draws) lets the orchestrator poll new rows cheaply; the recorder's tables are its own."""

    def __init__(self, url: str, name: str):
        self.server_url, self.name, self.last, self.conn = url, name, 0, None
        base, _, _ = url.partition("?")
        self.url = base.rsplit("/", 1)[0] + "/" + name

    async def open(self) -> None:
        import asyncpg

        from agent_runtime.events.postgres import create_schema

        admin = await asyncpg.connect(self.server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()
        self.conn = await asyncpg.connect(self.url)
        await create_schema(self.conn)
        await self.conn.execute("CREATE INDEX IF NOT EXISTS events_by_arrival ON events (arrival)")

    async def new_rows(self) -> list[tuple[str, str]]:
        rows = await self.conn.fetch(
            "SELECT arrival, event_id, at FROM events WHERE arrival > $1 ORDER BY arrival", self.last
        )
        if rows:
            self.last = rows[-1][0]
        return [(row[1], row[2].isoformat()) for row in rows]

    async def summary(self) -> dict:
        total, distinct = await self.conn.fetchrow("SELECT count(*), count(DISTINCT event_id) FROM events")
        quarantined = await self.conn.fetchval("SELECT count(*) FROM quarantine")
        ids = [row[0] for row in await self.conn.fetch("SELECT event_id FROM events")]
        return {"rows": total, "distinct_ids": distinct, "quarantined": quarantined, "ids": ids}

    async def backend_pids_async(self) -> list[int]:
        rows = await self.conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", self.name
        )
        return [row[0] for row in rows]

    async def close(self) -> None:
        import asyncpg

        if self.conn is not None:
            await self.conn.close()
        admin = await asyncpg.connect(self.server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


async def probe_until_stored(settings, key: bytes, central: Central, timeout: float) -> int:
    """Publish signed probe events until the recorder stores one (its subscription is live); how many it stored."""
    from agent_runtime.contracts.events import CallClosed
    from agent_runtime.contracts.outcome import OutcomeKind, OutcomeSummary
    from agent_runtime.contracts.state import STATE_SIZE
    from agent_runtime.events.signing import sign

    deadline, stored, sent = time.monotonic() + timeout, 0, 0
    async with settings.client(f"bench-probe-{os.getpid()}") as client:
        while not stored:
            if time.monotonic() > deadline:
                raise TimeoutError("the recorder stored no probe event: is it subscribed?")
            event = CallClosed(
                call_id=f"{PROBE_PREFIX}{sent}",
                outcome=OutcomeSummary(kind=OutcomeKind.INTERRUPTED, success=False, recovery=0.0, committed_value=0.0),
                turns=0,
                final_state=[0.0] * STATE_SIZE,
            )
            payload = sign(event.model_dump_json().encode(), key)
            await client.publish(settings.topic(event.type, event.call_id), payload, qos=1, timeout=5)
            sent += 1
            await asyncio.sleep(0.1)
            stored += len(await central.new_rows())
    await asyncio.sleep(0.3)
    return stored + len(await central.new_rows())


class Process:
    """A child process with line-based JSON on its stdin and stdout (the producer)."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process

    async def send(self, message: dict) -> None:
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        await self.process.stdin.drain()

    async def receive(self, timeout: float) -> dict:
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"the producer ended (exit {await self.process.wait()})")
        return json.loads(line)


@contextlib.contextmanager
def observer_priority():
    """Run this process (the poller) at a higher priority than the producer, broker and recorder it watches, where
    permitted (root): on a busy machine a late poll would date commits late."""
    try:
        before = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    except OSError:
        yield
        return
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)


def percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    ms = np.asarray(values) * 1000
    return {
        "p50": round(float(np.percentile(ms, 50)), 1),
        "p95": round(float(np.percentile(ms, 95)), 1),
        "p99": round(float(np.percentile(ms, 99)), 1),
        "max": round(float(ms.max()), 1),
    }


def parse_at(text: str) -> float:
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


async def one_run(args: argparse.Namespace, db: str, scenario: str, run: int, folder: Path) -> dict:
    from agent_runtime.events.mqtt import MqttSettings
    from agent_runtime.settings import environment_for_child
    from tests.services import Mosquitto, make_certificates, make_passwd, shipped_mosquitto

    folder.mkdir(parents=True)
    signing_key, identity_key = secrets.token_hex(16), secrets.token_hex(16)
    if db == "sqlite":
        central: Central = SqliteCentral(folder / "central.db")
        target = str(folder / "central.db")
    else:
        central = PostgresCentral(db, f"events_bench_{os.getpid()}_{run}")
        target = central.url
    accounts = {
        "MQTT_USERNAME": "agent-bench",
        "MQTT_PASSWORD": secrets.token_hex(12),
        "RECORDER_MQTT_USERNAME": "recorder-bench",
        "RECORDER_MQTT_PASSWORD": secrets.token_hex(12),
    }
    if args.broker == "shipped":
        done = make_passwd(folder / "auth", accounts)
        if done.returncode != 0:
            raise RuntimeError(f"make-passwd.sh: {done.stderr}")
        broker = shipped_mosquitto(folder / "broker", folder / "auth", make_certificates(folder / "certs")).start()
        producer_account = (accounts["MQTT_USERNAME"], accounts["MQTT_PASSWORD"])
        recorder_account = {"MQTT_USERNAME": accounts["RECORDER_MQTT_USERNAME"]}
        recorder_account["MQTT_PASSWORD"] = accounts["RECORDER_MQTT_PASSWORD"]
    else:
        broker = Mosquitto(folder / "broker").start()
        producer_account, recorder_account = (None, None), {}
    mqtt = MqttSettings.from_url(broker.url, username=producer_account[0], password=producer_account[1])
    recorder = producer = None
    profilers: list[subprocess.Popen] = []
    try:
        if db != "sqlite":
            await central.open()
        env = environment_for_child(
            without=("MQTT_", "DATABASE_URL", "EVENTS_"),
            EVENTS_SIGNING_KEY=signing_key,
            PYTHONPATH=str(ROOT),
            **recorder_account,
        )
        with (folder / "recorder.log").open("wb") as log:
            recorder = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "agent_runtime.recorder", "--mqtt", broker.url, "--db", target),
                *("--identifier", f"bench-recorder-{run}"),
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        if db == "sqlite":
            for _ in range(200):  # the recorder creates the file
                if (folder / "central.db").exists():
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            await central.open()
        probes = await probe_until_stored(mqtt, signing_key.encode(), central, timeout=30)
        config = {
            "mqtt": broker.url,
            "username": producer_account[0],
            "password": producer_account[1],
            "outbox": str(folder / "outbox.db"),
            "committed": str(folder / "committed.json"),
            "signing_key": signing_key,
            "identity_key": identity_key,
            "seed": args.seed + run,
            "run": run,
            "concurrency": args.calls,
        }
        with (folder / "producer.log").open("wb") as log:
            child = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "benchmarks.events_throughput", "--producer", json.dumps(config)),
                cwd=ROOT,
                env=environment_for_child(PYTHONPATH=str(ROOT)),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                limit=1 << 24,
            )
        producer = Process(child)
        await producer.send({"do": "warmup", "events": args.warmup})
        warmup = (await producer.receive(120))["warmup"]
        seen = 0
        deadline = time.monotonic() + 60
        while seen < len(warmup):
            if time.monotonic() > deadline:
                raise TimeoutError(f"warm-up: {seen} of {len(warmup)} events stored")
            seen += len(await central.new_rows())
            await asyncio.sleep(0.02)
        await producer.send({"do": "burst", "events": args.events, "mode": scenario})
        # ready: its events are simulated (and, for a backlog, in the outbox)
        ready = await producer.receive(300)
        burst_ids = set(ready["ids"])
        await asyncio.sleep(0.5)  # let the warm-up's last acks and checkpoints settle
        await central.new_rows()
        pids = {"producer": child.pid, "recorder": recorder.pid, "broker": broker.process.pid}
        if isinstance(central, PostgresCentral):
            for pid in await central.backend_pids_async():
                pids[f"postgres_{pid}"] = pid
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            store = "sqlite" if db == "sqlite" else "postgresql"
            for role in ("producer", "recorder"):
                out = args.profile / f"{role}-{store}-{scenario}-run{run}.txt"
                spy = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pids[role])]
                spy += ["--format", "raw", "--output", str(out), "--rate", "250", "--threads"]
                profilers.append(subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            await asyncio.sleep(1.0)  # py-spy attaches
        commits: dict[str, tuple[float, str]] = {}
        done_message, stored_burst = None, 0
        with observer_priority():  # the poller runs as soon as it wakes, whatever the load: commit times stay true
            await producer.send({"do": "go"})
            receiving = asyncio.create_task(producer.receive(args.timeout))
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                rows = await central.new_rows()
                now = time.time()  # every row seen now was committed before this instant
                for event_id, at in rows:
                    if event_id not in commits:
                        commits[event_id] = (now, at)
                        stored_burst += event_id in burst_ids
                if done_message is None and receiving.done():
                    done_message = receiving.result()
                    stored_burst = len(burst_ids & commits.keys())
                if done_message is not None and stored_burst == len(burst_ids):
                    break
                await asyncio.sleep(POLL_SECONDS)
        cpu = {name: round(cpu_seconds(pid) - cpu_before[name], 2) for name, pid in pids.items()}
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)
        if done_message is None:
            raise TimeoutError(f"the producer did not hand its burst over within {args.timeout} s")
        delivered = [commits[i] for i in burst_ids if i in commits]
        end = max(when for when, _ in delivered) if delivered else time.time()
        await producer.send({"do": "stop"})
        outbox = await producer.receive(60)
        await child.wait()
        await asyncio.sleep(0.5)  # any late redelivery would land now: it must not be stored twice
        stored = await central.summary()
        recorder.send_signal(signal.SIGTERM)
        recorder_exit = await asyncio.wait_for(recorder.wait(), 15)
        committed = json.loads(Path(config["committed"]).read_text())
        start = done_message["start"]  # from which an event counts as waiting for the pipe: max(its time, start)
        latency = [when - max(parse_at(at), start) for when, at in delivered]
        pipe = [commits[i][0] - max(committed[i], start) for i in burst_ids if i in commits and i in committed]
        stored_ids = stored.pop("ids")
        burst_rows = sum(1 for i in stored_ids if i in burst_ids)
        cpu_total = sum(cpu.values())
        postgres_cpu = sum(v for k, v in cpu.items() if k.startswith("postgres_"))
        cpu = {k: v for k, v in cpu.items() if not k.startswith("postgres_")}
        if isinstance(central, PostgresCentral):
            cpu["postgres_backends"] = round(postgres_cpu, 2)
        seconds = end - done_message["start"]
        n = len(burst_ids)
        return {
            "scenario": scenario,
            "events": n,
            "turn_events": ready["turns"],
            "seconds": round(seconds, 3),
            "events_per_second": round(n / seconds),
            "delivery_latency_ms": percentiles(latency),
            "outbox_to_store_latency_ms": percentiles(pipe),
            "producer_handover_seconds": round(done_message["handover_seconds"], 3),
            "producer_protect_us_per_event": round(done_message["protect_seconds"] / n * 1e6, 1),
            "cpu_seconds": cpu,
            "cpu_seconds_total": round(cpu_total, 2),
            "exactly_once": {
                "produced": n,
                "stored": burst_rows,
                "distinct_stored": len(burst_ids & set(stored_ids)),
                "store_rows": stored["rows"],
                "store_distinct_ids": stored["distinct_ids"],
                "expected_store_rows": probes + len(warmup) + n,
                "quarantined": stored["quarantined"],
                "outbox_backlog_after": outbox["backlog"],
                "ok": burst_rows == n
                and len(burst_ids & set(stored_ids)) == n
                and stored["rows"] == stored["distinct_ids"] == probes + len(warmup) + n
                and stored["quarantined"] == 0
                and outbox["backlog"] == 0,
            },
            "recorder_exit": recorder_exit,
        }
    except BaseException:
        for log in ("producer.log", "recorder.log"):
            with contextlib.suppress(OSError):
                print(f"--- {log}:\n" + (folder / log).read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        for profiler in profilers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiler.wait(timeout=30)
        for process in (producer.process if producer else None, recorder):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
        broker.stop()
        await central.close()


def median_summary(runs: list[dict]) -> dict:
    def median(get) -> float:
        return round(statistics.median(get(run) for run in runs), 1)

    return {
        "runs": len(runs),
        "events_per_second": median(lambda r: r["events_per_second"]),
        "seconds": median(lambda r: r["seconds"]),
        "delivery_latency_ms": {
            q: median(lambda r, q=q: r["delivery_latency_ms"][q]) for q in ("p50", "p95", "p99", "max")
        },
        "outbox_to_store_latency_ms": {
            q: median(lambda r, q=q: r["outbox_to_store_latency_ms"][q]) for q in ("p50", "p95", "p99", "max")
        },
        "producer_handover_seconds": median(lambda r: r["producer_handover_seconds"]),
        "producer_protect_us_per_event": median(lambda r: r["producer_protect_us_per_event"]),
        "cpu_seconds": {k: median(lambda r, k=k: r["cpu_seconds"][k]) for k in runs[0]["cpu_seconds"]},
        "meets_goal": median(lambda r: r["events_per_second"]) >= GOAL_EVENTS_PER_SECOND
        and median(lambda r: r["delivery_latency_ms"]["p99"]) < GOAL_P99_MS,
        "exactly_once_all_runs": all(r["exactly_once"]["ok"] for r in runs),
        "recorder_exit_codes": sorted({r["recorder_exit"] for r in runs}),
    }


async def main_async(args: argparse.Namespace) -> dict:
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "burst": {"events": args.events, "concurrent_calls": args.calls, "warmup_events": args.warmup},
        "broker": args.broker,
        "goal": {"events_per_second": GOAL_EVENTS_PER_SECOND, "delivery_latency_ms_p99_below": GOAL_P99_MS},
        "stores": {},
    }
    with tempfile.TemporaryDirectory(prefix="events-throughput-") as tmp:
        for db in args.db:
            name = "sqlite" if db == "sqlite" else "postgresql"
            report["stores"][name] = {}
            for scenario in args.scenario:
                runs = []
                for run in range(args.repeats):
                    result = await one_run(args, db, scenario, run, Path(tmp) / f"{name}-{scenario}-{run}")
                    summary = {k: result[k] for k in ("events_per_second", "delivery_latency_ms", "cpu_seconds")}
                    print(json.dumps({"store": name, "run": run, **summary}), file=sys.stderr, flush=True)
                    runs.append(result)
                report["stores"][name][scenario] = {"median": median_summary(runs), "runs": runs}
    dbs = " ".join(f"--db {'postgresql://...' if db != 'sqlite' else db}" for db in args.db)
    report["command"] = (
        f"python -m benchmarks.events_throughput --events {args.events} --calls {args.calls} --broker {args.broker} "
        f"{' '.join(f'--scenario {s}' for s in args.scenario)} {dbs} --repeats {args.repeats} --seed {args.seed}"
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="events in the burst (default 10000)")
    parser.add_argument("--calls", type=int, default=CALLS, help=f"concurrent calls handing them over ({CALLS})")
    parser.add_argument(
        "--db",
        action="append",
        metavar="sqlite|URL",
        help="the central store: `sqlite` (a fresh file) or a postgresql:// URL (a scratch database is created on "
        "that server per run and dropped); repeat for several (default: sqlite)",
    )
    parser.add_argument(
        "--broker",
        choices=("shipped", "test-helper"),
        default="shipped",
        help="mosquitto on infra/mosquitto/mosquitto.conf (default) or on the tests' config (tests/services.py)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="backlog: the burst waits in the outbox (protected, committed) while the broker is away, then the "
        "publisher reconnects and delivers it: the pipe alone; live: the calls hand the burst over while the "
        "publisher runs: protection included; repeat for both (default: both)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per store; the report gives their medians (3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated calls (run k uses seed + k)")
    parser.add_argument("--warmup", type=int, default=600, help="warm-up events before the burst, not counted")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds the burst may take to be stored")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy the producer and the recorder into DIR")
    parser.add_argument("--out", type=Path, default=Path("results/events_throughput.json"))
    parser.add_argument("--producer", metavar="CONFIG", help=argparse.SUPPRESS)  # the producer process (internal)
    args = parser.parse_args()
    if args.producer:
        producer_main(args.producer)
        return
    args.db = args.db or ["sqlite"]
    args.scenario = args.scenario or list(SCENARIOS)
    report = asyncio.run(main_async(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
