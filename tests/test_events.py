import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import DSTOutput, Intent
from agent_runtime.contracts.events import TurnEvent
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.events.mqtt import MqttSettings
from agent_runtime.events.outbox import MqttPublisher, Outbox
from agent_runtime.events.redaction import redact
from agent_runtime.events.store import EventStore, read_events
from agent_runtime.recorder import Recorder
from agent_runtime.settings import load_settings
from tests.services import Mosquitto


def turn_event(call_id: str, turn: int, text: str = "i can pay fifty dollars a month") -> TurnEvent:
    return TurnEvent(
        call_id=call_id,
        turn=turn,
        started_at=datetime.now(UTC),
        user_text=text,
        dst=DSTOutput(intent=Intent.WILLING, sentiment=0.1, amount=50),
        state=[0.1] * STATE_SIZE,
        proposed_action=Action.OFFER_PAYMENT_PLAN,
        executed_action=Action.OFFER_PAYMENT_PLAN,
        q_values=[0.5] * 9,
        policy_version="test",
        agent_text="We can set up a plan of $50 a month.",
    )


@pytest.fixture
def broker(tmp_path):
    server = Mosquitto(tmp_path / "broker").start()
    yield server
    server.stop()


async def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


def test_redaction_masks_numbers_cards_and_emails():
    text = "my card is 4111 1111 1111 1111, mail me at jo.doe@example.com, i can pay seventy five or 80"
    masked = redact(text)
    assert "4111" not in masked and "example.com" not in masked and "seventy" not in masked and "80" not in masked
    assert "[card]" in masked and "[email]" in masked and "[number]" in masked
    assert masked.startswith("my card is")
    assert redact("my ssn is one two three four five") == "my ssn is [number] [number] [number] [number] [number]"


async def test_store_is_idempotent_and_tracks_delivery(tmp_path):
    store = await EventStore.open(tmp_path / "events.db")
    events = [turn_event("c1", i) for i in range(3)]
    assert await store.append(events) == 3
    assert await store.append(events) == 0
    assert await store.backlog() == 3
    pending = await store.pending_after(0, 10)
    await store.mark_delivered_rows([rowid for rowid, *_ in pending[:2]])
    assert [row[3] for row in await store.pending_after(0, 10)] == [events[2].model_dump_json()]
    await store.close()
    assert [e.turn for e in read_events(tmp_path / "events.db")] == [0, 1, 2]


async def test_outbox_add_returns_after_commit(tmp_path):
    store = await EventStore.open(tmp_path / "outbox.db")
    outbox = Outbox(store)
    await asyncio.gather(*(outbox.add(turn_event("c", i)) for i in range(50)))
    assert len(list(read_events(tmp_path / "outbox.db"))) == 50  # visible to another connection at once
    await outbox.close()
    await store.close()


def test_reading_a_file_that_is_not_an_events_database_fails_clearly(tmp_path):
    bad = tmp_path / "x.db"
    bad.write_bytes(b"garbage" * 100)
    with pytest.raises(ValueError, match="not an events database"):
        list(read_events(bad))
    with pytest.raises(FileNotFoundError):
        list(read_events(tmp_path / "missing.db"))


async def _start_recorder(broker: str | MqttSettings, db, identifier: str = "recorder-test"):
    """A recorder on `broker` (a URL, or settings such as TLS ones) into a new store at `db`, once subscribed."""
    store = await EventStore.open(db)
    settings = broker if isinstance(broker, MqttSettings) else MqttSettings.from_url(broker)
    recorder = Recorder(settings, store, identifier)
    stop = asyncio.Event()
    task = asyncio.create_task(recorder.run(stop))
    await asyncio.wait_for(recorder.subscribed.wait(), timeout=10)
    return recorder, store, stop, task


async def assert_stored_exactly_once(central: EventStore, outbox: EventStore, produced: list[str], timeout: float):
    """Wait until the outbox is delivered and the central store holds every produced event id, then check, after
    a pause for any late redelivery, that it holds each exactly once."""

    async def all_stored() -> bool:
        return await central.count() >= len(produced) and await outbox.backlog() == 0

    await wait_until(all_stored, timeout=timeout)
    await asyncio.sleep(0.3)
    assert sorted(await central.event_ids()) == sorted(produced)


@dataclass
class EventPipe:
    central: EventStore  # the recorder's store
    outbox_store: EventStore
    outbox: Outbox


@contextlib.asynccontextmanager
async def event_pipe(broker: str | MqttSettings, folder: Path):
    """A recorder into folder/central.db and an agent's outbox at folder/outbox.db with its publisher running; on the
    way out the publisher stops (delivering what it can within its drain time), then the recorder, and every store is
    closed."""
    settings = broker if isinstance(broker, MqttSettings) else MqttSettings.from_url(broker)
    _recorder, central, stop_recorder, recorder_task = await _start_recorder(settings, folder / "central.db")
    outbox_store = await EventStore.open(folder / "outbox.db")
    outbox = Outbox(outbox_store)
    publisher = MqttPublisher(outbox_store, settings, written=outbox.written)
    stop_publishing = asyncio.Event()
    publishing = asyncio.create_task(publisher.run(stop_publishing))
    try:
        yield EventPipe(central, outbox_store, outbox)
    finally:
        stop_publishing.set()
        await publishing
        stop_recorder.set()
        await recorder_task
        await outbox.close()
        await outbox_store.close()
        await central.close()


async def test_events_reach_the_recorder_exactly_once_across_a_broker_crash(tmp_path, broker):
    async with event_pipe(broker.url, tmp_path) as pipe:
        produced = []
        for i in range(600):
            event = turn_event(f"call-{i // 10}", i % 10)
            await pipe.outbox.add(event)
            produced.append(event.event_id)
            if i == 250:
                broker.kill()  # mid-stream, no clean shutdown
            if i == 400:
                broker.start()
            await asyncio.sleep(0.001)
        await assert_stored_exactly_once(pipe.central, pipe.outbox_store, produced, timeout=40)


PRODUCER = textwrap.dedent("""
    import asyncio, sys
    from tests.test_events import turn_event
    from agent_runtime.events.outbox import Outbox
    from agent_runtime.events.store import EventStore

    async def main():
        store = await EventStore.open(sys.argv[1])
        outbox = Outbox(store)
        for i in range(1000):
            await outbox.add(turn_event("call-killed", i))
            print(i, flush=True)  # the turn is complete once its event is committed
            await asyncio.sleep(0.005)

    asyncio.run(main())
""")


async def test_a_killed_producer_loses_no_completed_turn(tmp_path, broker):
    outbox_path = tmp_path / "outbox.db"
    producer = subprocess.Popen(
        [sys.executable, "-c", PRODUCER, str(outbox_path)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    completed = -1
    while completed < 40:
        completed = int(producer.stdout.readline())
    producer.send_signal(signal.SIGKILL)
    producer.wait()
    turns_in_outbox = [e.turn for e in read_events(outbox_path)]
    assert set(range(completed + 1)) <= set(turns_in_outbox)
    # After a restart the agent's publisher delivers the whole outbox.
    _recorder, central, stop_recorder, recorder_task = await _start_recorder(broker.url, tmp_path / "central.db")
    store = await EventStore.open(outbox_path)
    publisher = MqttPublisher(store, MqttSettings.from_url(broker.url))
    stop = asyncio.Event()
    stop.set()  # drain what is there, then return
    await asyncio.wait_for(publisher.run(stop), timeout=20)

    async def delivered():
        return len(await central.event_ids()) == len(turns_in_outbox)

    await wait_until(delivered)
    stop_recorder.set()
    await recorder_task
    await store.close()
    await central.close()


async def test_malformed_and_unknown_schema_messages_are_quarantined(tmp_path, broker):
    recorder, central, stop, task = await _start_recorder(broker.url, tmp_path / "central.db")
    settings = MqttSettings.from_url(broker.url)
    good = turn_event("c", 0)
    future = json.loads(good.model_dump_json()) | {"schema_version": 99, "event_id": "f" * 32}
    async with settings.client("rogue") as client:
        await client.publish(settings.topic("turn", "c"), b"\xff\x00 not json", qos=1)
        await client.publish(settings.topic("turn", "c"), json.dumps({"schema_version": 1, "type": "turn"}), qos=1)
        await client.publish(settings.topic("turn", "c"), json.dumps(future), qos=1)
        await client.publish(settings.topic("turn", "c"), good.model_dump_json(), qos=1)

    async def seen_all():
        return recorder.stats.received >= 4

    await wait_until(seen_all)
    await asyncio.sleep(0.2)
    assert recorder.stats.quarantined == {"malformed": 2, "unknown_schema": 1}
    assert recorder.stats.stored == 1
    assert await central.event_ids() == [good.event_id]
    assert sorted(reason for _, reason, _ in await central.quarantined()) == [
        "malformed",
        "malformed",
        "unknown_schema",
    ]
    stop.set()
    await task
    await central.close()


def test_mqtt_settings_keep_secrets_out_of_urls_and_reprs(monkeypatch):
    monkeypatch.setenv("MQTT_USERNAME", "agent")
    monkeypatch.setenv("MQTT_PASSWORD", "s3cret")
    settings = load_settings().mqtt("mqtts://broker.example:8884")  # credentials from the settings, not the URL
    assert (settings.username, settings.password, settings.tls, settings.port) == ("agent", "s3cret", True, 8884)
    assert "s3cret" not in repr(settings)
    with pytest.raises(ValueError, match="MQTT_PASSWORD"):
        MqttSettings.from_url("mqtt://agent:s3cret@broker.example")
    with pytest.raises(ValueError, match="mqtt://"):
        MqttSettings.from_url("http://broker.example")


async def test_password_protected_broker(tmp_path):
    broker = Mosquitto(tmp_path / "auth").require_password("agent", "s3cret").start()
    try:
        good = MqttSettings(port=broker.port, username="agent", password="s3cret")
        async with good.client("authorised") as client:
            await client.publish(good.topic("turn", "c"), b"{}", qos=1)
        with pytest.raises(aiomqtt.MqttError):
            async with MqttSettings(port=broker.port, username="agent", password="wrong").client("intruder"):
                pass
    finally:
        broker.stop()


def _certificates(folder):
    """A throwaway CA and a server certificate for 127.0.0.1 (openssl CLI)."""

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
    )
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"
    )
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "1",
        "-extfile",
        "san.ext",
    )
    return folder / "ca.crt"


async def test_tls_broker_accepts_only_verified_connections(tmp_path, monkeypatch):
    broker = Mosquitto(tmp_path / "tls")
    ca = _certificates(tmp_path / "tls")
    broker.config.write_text(
        broker.config.read_text() + f"cafile {ca}\ncertfile {tmp_path}/tls/server.crt\n"
        f"keyfile {tmp_path}/tls/server.key\n"
    )
    broker.start()
    try:
        monkeypatch.setenv("MQTT_CA_FILE", str(ca))
        settings = load_settings().mqtt(f"mqtts://127.0.0.1:{broker.port}")
        assert settings.tls
        async with settings.client("tls-client") as client:
            await client.publish(settings.topic("turn", "c"), b"{}", qos=1)
        monkeypatch.delenv("MQTT_CA_FILE")
        untrusted = load_settings().mqtt(f"mqtts://127.0.0.1:{broker.port}")
        with pytest.raises(aiomqtt.MqttError):
            async with untrusted.client("untrusting"):
                pass
    finally:
        broker.stop()
