"""Authenticated, validated ingestion: the recorder stores only signed events that match their topic and stay within
a real producer's bounds; everything else lands in quarantine with its reason, and replay never sees it."""

import asyncio
import json
import subprocess
import sys

import pytest

from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.events.ingest import MAX_MESSAGE_BYTES, Refusal, Refused, admit
from agent_runtime.events.mqtt import MqttSettings
from agent_runtime.events.outbox import MqttPublisher
from agent_runtime.events.signing import sign, signed_payload
from agent_runtime.events.store import EventStore, read_events
from agent_runtime.recorder import Recorder
from tests.services import Mosquitto
from tests.test_events import turn_event, wait_until

KEY = b"deployment-signing-key-0123456789"
PREFIX = "debtcollect/v1"


def topic(event, producer="agent") -> str:
    return f"{PREFIX}/events/{producer}/{event.type}/{event.call_id}"


def forged(event, **changes) -> bytes:
    return json.dumps(json.loads(event.model_dump_json()) | changes).encode()


def refusal(topic_: str, message: bytes, key: bytes | None = KEY) -> Refusal:
    with pytest.raises(Refused) as refused:
        admit(topic_, message, prefix=PREFIX, signing_key=key)
    return refused.value.reason


def test_a_signed_event_on_its_own_topic_is_admitted_as_it_came():
    event = turn_event("c1", 0)
    admitted = admit(topic(event), sign(event.model_dump_json().encode(), KEY), prefix=PREFIX, signing_key=KEY)
    assert admitted.event == event and admitted.payload == event.model_dump_json()


def test_signatures_are_required_and_checked():
    event = turn_event("c1", 0)
    body = event.model_dump_json().encode()
    assert refusal(topic(event), body) is Refusal.UNSIGNED
    assert refusal(topic(event), sign(body, b"another-key-of-someone-else")) is Refusal.BAD_SIGNATURE
    tampered = sign(body, KEY).replace(b"fifty", b"fifth")
    assert refusal(topic(event), tampered) is Refusal.BAD_SIGNATURE
    assert signed_payload(sign(body, KEY), None) == body  # a recorder without a key takes the payload unchecked


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"state": [0.0] * 1_000_000}, Refusal.TOO_LARGE),
        ({"state": [0.0] * (STATE_SIZE + 1)}, Refusal.OUT_OF_BOUNDS),
        ({"turn": 10**15}, Refusal.OUT_OF_BOUNDS),
        ({"latencies_ms": {"e2e": -5.0}}, Refusal.OUT_OF_BOUNDS),
        ({"q_values": [1.0, 2.0]}, Refusal.OUT_OF_BOUNDS),
        ({"schema_version": 99}, Refusal.UNKNOWN_SCHEMA),
        ({"user_text": "x" * 30_000}, Refusal.MALFORMED),
    ],
)
def test_what_no_real_producer_sends_is_refused(changes, reason):
    event = turn_event("c1", 0)
    assert refusal(topic(event), sign(forged(event, **changes), KEY)) is reason


@pytest.mark.parametrize(
    "wrong_topic",
    [
        f"{PREFIX}/events/agent/turn/another-call",  # a turn published on another call's topic
        f"{PREFIX}/events/agent/call_closed/c1",  # another type
        f"{PREFIX}/events/turn/c1",  # no producer
        "elsewhere/events/agent/turn/c1",
    ],
)
def test_the_topic_must_name_the_events_own_type_and_call(wrong_topic):
    event = turn_event("c1", 0)
    assert refusal(wrong_topic, sign(event.model_dump_json().encode(), KEY)) is Refusal.TOPIC_MISMATCH


def test_non_json_and_non_objects_are_malformed():
    for payload in (b"{not json", b"[1,2,3]", b"null", b"\xff\xfe"):
        assert refusal(f"{PREFIX}/events/agent/turn/c1", sign(payload, KEY)) is Refusal.MALFORMED


async def test_the_recorder_quarantines_forgeries_and_replay_never_sees_them(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    central = await EventStore.open(tmp_path / "central.db")
    settings = MqttSettings.from_url(broker.url, username="agent")
    recorder = Recorder(settings, central, signing_key=KEY)
    stop = asyncio.Event()
    task = asyncio.create_task(recorder.run(stop))
    try:
        await asyncio.wait_for(recorder.subscribed.wait(), 10)
        genuine = [turn_event("real", i) for i in range(3)]
        outbox = await EventStore.open(tmp_path / "outbox.db")
        await outbox.append(genuine)
        done = asyncio.Event()
        done.set()  # drain, then return
        await MqttPublisher(outbox, settings, signing_key=KEY).run(done)
        rogue = MqttSettings.from_url(broker.url, username="mallory")
        attack = turn_event("real", 3)
        async with rogue.client("rogue") as client:
            await client.publish(rogue.topic("turn", "real"), attack.model_dump_json(), qos=1)  # unsigned
            await client.publish(rogue.topic("turn", "real"), sign(attack.model_dump_json().encode(), b"x" * 32), qos=1)
            other = turn_event("victim", 0)
            await client.publish(rogue.topic("turn", "real"), sign(other.model_dump_json().encode(), KEY), qos=1)
            huge = forged(turn_event("real", 4), state=[0.5] * 1_000_000)
            await client.publish(rogue.topic("turn", "real"), sign(huge, KEY), qos=1)

        async def all_seen():
            return recorder.stats.received >= 7

        await wait_until(all_seen)
        await asyncio.sleep(0.2)  # the last batch's commit
        assert recorder.stats.stored == 3
        assert recorder.stats.quarantined == {"unsigned": 1, "bad_signature": 1, "topic_mismatch": 1, "too_large": 1}
        reasons = sorted(reason for _, reason, _ in await central.quarantined())
        assert reasons == ["bad_signature", "too_large", "topic_mismatch", "unsigned"]
        stored = list(read_events(tmp_path / "central.db"))
        assert sorted(e.event_id for e in stored) == sorted(e.event_id for e in genuine)
        size = central.path.stat().st_size
        assert size < MAX_MESSAGE_BYTES * 4  # the 5 MB forgery kept only its first 64 KiB
        await outbox.close()
    finally:
        stop.set()
        await task
        await central.close()
        broker.stop()


def test_the_recorder_will_not_start_without_the_signing_key(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "agent_runtime.recorder", "--db", str(tmp_path / "e.db")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        "error: set EVENTS_SIGNING_KEY (the producers' key), or pass --allow-unsigned"
    )
