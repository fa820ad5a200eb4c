"""Every process ends: the recorder and the events publisher stop on SIGTERM/SIGINT in every broker state, fail at
once on a bad URL or refused credentials, and leave a dead broker after a bounded wait, losing no acknowledged event.

The recorder runs as the real command (a subprocess) against a real mosquitto or a port nobody listens on."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent_runtime.events.mqtt import BrokerRefusedError, MqttSettings
from agent_runtime.events.outbox import MqttPublisher, Outbox
from agent_runtime.events.store import EventStore
from agent_runtime.services import event_outbox
from tests.services import Mosquitto, free_port
from tests.test_events import turn_event

REPO = Path(__file__).resolve().parent.parent
STOP_WITHIN_SECONDS = 5.0  # the bound for a tool without calls in progress
FAIL_WITHIN_SECONDS = 10.0  # a bad URL or refused credentials: the interpreter's start-up plus one connect
PASSWORD = "not-the-password-42"  # distinctive, so an echo of it is found


def recorder_command(url: str, db: Path, identifier: str = "recorder-exit-test") -> list[str]:
    return [
        *(sys.executable, "-m", "agent_runtime.recorder", "--mqtt", url, "--db", str(db)),
        *("--identifier", identifier, "--allow-unsigned"),
    ]


def environment(**mqtt: str) -> dict[str, str]:
    """This process's environment without any MQTT credentials, plus `mqtt` (MQTT_USERNAME=..., ...)."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("MQTT_")}
    return clean | mqtt


def start_recorder(url: str, db: Path, log: Path, **env: str) -> subprocess.Popen:
    with log.open("ab") as stderr:  # a file, not a pipe: nothing blocks on a full pipe
        return subprocess.Popen(
            recorder_command(url, db), cwd=REPO, env=environment(**env), stdout=subprocess.DEVNULL, stderr=stderr
        )


def wait_for_text(log: Path, text: str, process: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while text.lower() not in log.read_text().lower():
        assert process.poll() is None, f"the recorder ended early:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no {text!r} in the recorder's log after {timeout} s:\n{log.read_text()}"
        time.sleep(0.05)


def ended_within(process: subprocess.Popen, seconds: float) -> int:
    """The exit code, or a failure (after a SIGKILL) when the process is still running `seconds` later."""
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"still running {seconds} s later (ended by SIGKILL)")


def stored_event_ids(db: Path) -> set[str]:
    if not db.exists():
        return set()
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
        try:
            return {event_id for (event_id,) in connection.execute("SELECT event_id FROM events")}
        except sqlite3.OperationalError:  # the recorder has not created the table yet
            return set()


def failing_run(url: str, tmp_path: Path, **env: str) -> tuple[int, str]:
    """Run the recorder expecting it to give up by itself: (exit code, stdout and stderr)."""
    log = tmp_path / "recorder.log"
    process = start_recorder(url, tmp_path / "central.db", log, **env)
    code = ended_within(process, FAIL_WITHIN_SECONDS)
    return code, log.read_text()


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_recorder_stops_on_a_signal_while_the_broker_is_down(tmp_path, sig):
    log = tmp_path / "recorder.log"
    process = start_recorder(f"mqtt://127.0.0.1:{free_port()}", tmp_path / "central.db", log)
    wait_for_text(log, "retrying", process)  # reconnecting with backoff
    process.send_signal(sig)
    assert ended_within(process, STOP_WITHIN_SECONDS) == 0, log.read_text()


def test_the_recorder_stops_on_a_signal_while_a_broker_never_answers(tmp_path):
    """A listener that never reads: the TCP connect succeeds, the CONNACK never comes."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        log = tmp_path / "recorder.log"
        process = start_recorder(f"mqtt://127.0.0.1:{silent.getsockname()[1]}", tmp_path / "central.db", log)
        wait_for_text(log, "recording", process)
        time.sleep(0.5)  # now waiting for the CONNACK
        process.send_signal(signal.SIGTERM)
        assert ended_within(process, STOP_WITHIN_SECONDS) == 0, log.read_text()


async def test_the_recorder_stops_mid_stream_and_loses_nothing_it_acknowledged(tmp_path):
    """SIGTERM while messages stream in: what the recorder acknowledged is stored, the rest the broker redelivers to
    the next run of the same persistent session, so every published event ends up stored."""
    broker = Mosquitto(tmp_path / "broker").start()
    db, log = tmp_path / "central.db", tmp_path / "recorder.log"
    settings = MqttSettings.from_url(broker.url)
    published: list[str] = []
    try:
        process = start_recorder(broker.url, db, log)
        async with settings.client("stream-test") as client:
            probe = turn_event("probe", 0)
            while probe.event_id not in stored_event_ids(db):  # the recorder's persistent session is subscribed
                await client.publish(settings.topic("turn", "probe"), probe.model_dump_json(), qos=1)
                await asyncio.sleep(0.1)
            published.append(probe.event_id)

            enough = asyncio.Event()

            async def stream() -> None:
                for i in itertools.count():
                    if enough.is_set():
                        return
                    event = turn_event(f"call-{i // 10}", i % 10)
                    await client.publish(settings.topic("turn", event.call_id), event.model_dump_json(), qos=1)
                    published.append(event.event_id)  # the broker acknowledged it
                    await asyncio.sleep(0.001)

            streaming = asyncio.create_task(stream())
            while len(stored_event_ids(db)) < 200:
                await asyncio.sleep(0.02)
            process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(ended_within, process, STOP_WITHIN_SECONDS)
            enough.set()
            await streaming
        assert code == 0, log.read_text()
        assert stored_event_ids(db) < set(published)  # stopped mid-stream
        process = start_recorder(broker.url, db, log)  # the same identifier: the broker redelivers the rest
        deadline = time.monotonic() + 30
        while stored_event_ids(db) != set(published) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(ended_within, process, STOP_WITHIN_SECONDS) == 0, log.read_text()
        assert stored_event_ids(db) == set(published)
    finally:
        broker.stop()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1883", f"mqtt://agent:{PASSWORD}@127.0.0.1:1883"], ids=["scheme", "inline-password"]
)
def test_a_bad_broker_url_fails_at_once_in_one_line(tmp_path, url):
    code, output = failing_run(url, tmp_path)
    assert code != 0
    assert len(error_lines(output)) == 1 and "Traceback" not in output, output
    assert PASSWORD not in output


@pytest.fixture
def password_broker(tmp_path):
    broker = Mosquitto(tmp_path / "auth").require_password("agent", "s3cret")
    yield broker.start()
    broker.stop()


@pytest.mark.parametrize(
    "credentials",
    [{"MQTT_USERNAME": "agent", "MQTT_PASSWORD": PASSWORD}, {}],
    ids=["wrong-password", "anonymous"],
)
def test_refused_credentials_fail_at_once_in_one_line(tmp_path, password_broker, credentials):
    code, output = failing_run(password_broker.url, tmp_path, **credentials)
    assert code != 0
    (line,) = error_lines(output)
    assert "refused" in line and "Traceback" not in output, output
    assert PASSWORD not in output


async def test_leaving_the_outbox_with_the_broker_down_keeps_the_events_queued(tmp_path, caplog):
    """What `simulate --mqtt` does with the broker down: the work ends, the publisher waits a few seconds for the
    broker, then gives up; the events stay in the outbox, undelivered, for a later run."""
    caplog.set_level(logging.WARNING, logger="agent_runtime.events.outbox")
    events = [turn_event("call-down", i) for i in range(5)]
    nobody = MqttSettings(port=free_port())
    loop = asyncio.get_running_loop()

    async def produce() -> float:
        async with event_outbox(tmp_path / "outbox.db", nobody) as outbox:
            await outbox.add_many(events)
            return loop.time()

    work_done = await asyncio.wait_for(produce(), timeout=30)
    assert loop.time() - work_done < 10.0  # "a few seconds" of waiting for the broker, then the process may end
    store = await EventStore.open(tmp_path / "outbox.db")
    assert await store.backlog() == len(events) == await store.count()
    await store.close()
    (line,) = [record.getMessage() for record in caplog.records if "queued" in record.getMessage()]
    assert f"{len(events)} event(s)" in line


async def test_the_publisher_wait_for_a_dead_broker_is_configurable(tmp_path):
    store = await EventStore.open(tmp_path / "outbox.db")
    outbox = Outbox(store)
    await outbox.add(turn_event("call-down", 0))
    stop = asyncio.Event()
    stop.set()  # deliver what is there, then return
    publisher = MqttPublisher(store, MqttSettings(port=free_port()), drain_seconds=0.5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(publisher.run(stop), timeout=10)
    assert loop.time() - started < 3.0
    assert await store.backlog() == 1
    await outbox.close()
    await store.close()


async def test_a_broker_that_refuses_the_publisher_ends_its_run(tmp_path, password_broker):
    store = await EventStore.open(tmp_path / "outbox.db")
    refused = MqttSettings(port=password_broker.port, username="agent", password=PASSWORD)
    with pytest.raises(BrokerRefusedError, match="MQTT_PASSWORD"):
        await asyncio.wait_for(MqttPublisher(store, refused).run(asyncio.Event()), timeout=10)
    await store.close()


def test_simulate_with_refused_credentials_fails_before_its_calls(tmp_path, password_broker):
    command = [sys.executable, "-m", "agent_runtime", "simulate", "--text", "--calls", "500", "--out", str(tmp_path)]
    run = subprocess.run(
        [*command, "--mqtt", password_broker.url],
        cwd=REPO,
        env=environment(MQTT_USERNAME="agent", MQTT_PASSWORD=PASSWORD),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    (line,) = error_lines(run.stderr)
    assert "refused" in line and PASSWORD not in run.stdout + run.stderr
    assert stored_event_ids(tmp_path / "events.db") == set()  # no call began
