"""The broker's side of authenticated ingestion (infra/mosquitto): the accounts make-passwd.sh writes, the ACL that
lets each producer publish only under its own name and the recorder only read, and the TLS listener.

Real Mosquitto brokers on free loopback ports (tests/services.py), reached through the project's own client
(MqttSettings) and recorder. MQTT 3.1.1 brokers drop an unauthorised publish silently (the PUBACK still comes), so
the ACL tests publish an allowed sentinel after the forbidden messages: once the subscriber holds the sentinel, it
would hold any forbidden message that got through (one broker thread routes each message before acknowledging it).
"""

import asyncio
import os
import shutil
import stat
from datetime import date

import aiomqtt
import pytest

from agent_runtime.contracts.events import CallOpened
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.events.mqtt import DEFAULT_PREFIX, MqttSettings
from agent_runtime.events.store import EventStore
from agent_runtime.recorder import Recorder
from tests.services import Mosquitto, make_certificates, make_passwd, shipped_mosquitto

PRODUCER, RECORDER = "agent-7", "events-recorder"  # no "recorder": the ACL must be rendered with this name
ACCOUNTS = {
    "MQTT_USERNAME": PRODUCER,
    # shell metacharacters, a backslash, quotes and spaces: the script must pass them on untouched, evaluate none
    "MQTT_PASSWORD": "pr0ducer $HOME `id` \\n 'single' \"double\" ;|&",
    "RECORDER_MQTT_USERNAME": RECORDER,
    "RECORDER_MQTT_PASSWORD": "  rec0rder-Pa55 with spaces  ",
}
SECRETS = ("pr0ducer", "rec0rder")  # a fragment of each password: a leak through `echo` may mangle the rest
FACTS = CallFacts(debtor_name="Test Debtor", balance=100.0, days_overdue=30, due_date=date(2025, 1, 1), creditor="Bank")


def producer(url: str, **options) -> MqttSettings:
    return MqttSettings.from_url(url, username=PRODUCER, password=ACCOUNTS["MQTT_PASSWORD"], **options)


def recorder_account(url: str, **options) -> MqttSettings:
    return MqttSettings.from_url(url, username=RECORDER, password=ACCOUNTS["RECORDER_MQTT_PASSWORD"], **options)


@pytest.fixture
def auth(tmp_path):
    """make-passwd.sh's output (passwd, acl) for ACCOUNTS."""
    result = make_passwd(tmp_path / "auth", ACCOUNTS)
    assert result.returncode == 0, result.stderr
    return tmp_path / "auth"


@pytest.fixture
def certs(tmp_path):
    return make_certificates(tmp_path / "certs")


@pytest.fixture(params=["shipped-config", "test-helper"])
def broker(request, tmp_path, auth, certs):
    """A broker with make-passwd.sh's accounts and ACL, listening plain (url) and over TLS (tls_url): on the shipped
    mosquitto.conf, and on the test helper's own config (the rules must not depend on the rest of the tuning)."""
    if request.param == "shipped-config":
        server = shipped_mosquitto(tmp_path / "broker", auth, certs)
    else:
        server = Mosquitto(tmp_path / "broker").use_password_file(auth / "passwd").use_acl(auth / "acl")
        server.listen_tls(certs.cert, certs.key, certs.ca)
    server.start()
    yield server
    server.stop()


async def connects(settings: MqttSettings) -> bool:
    try:
        async with settings.client(f"probe-{settings.username}"):
            return True
    except aiomqtt.MqttError:
        return False


async def received_until(client: aiomqtt.Client, sentinel: str, timeout: float = 5.0) -> list[str]:
    """The topics `client` receives, up to and including `sentinel`'s."""
    topics = []
    async with asyncio.timeout(timeout):
        async for message in client.messages:
            topics.append(message.topic.value)
            if message.topic.value == sentinel:
                return topics
    raise AssertionError("the subscription ended")


# make-passwd.sh


async def test_make_passwd_writes_both_accounts_for_the_shipped_broker(tmp_path, certs):
    result = make_passwd(tmp_path / "auth", ACCOUNTS)
    assert result.returncode == 0, result.stderr
    assert not any(secret in result.stdout + result.stderr for secret in SECRETS)
    passwd, acl = tmp_path / "auth/passwd", tmp_path / "auth/acl"
    assert [line.split(":")[0] for line in passwd.read_text().splitlines()] == [PRODUCER, RECORDER]
    assert not any(secret in passwd.read_text() for secret in SECRETS)  # hashed
    assert stat.S_IMODE(passwd.stat().st_mode) == stat.S_IMODE(acl.stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "auth").iterdir()) == ["acl", "passwd"]  # no temporary file left
    broker = shipped_mosquitto(tmp_path / "broker", tmp_path / "auth", certs).start()
    try:
        for url, options in [(broker.url, {}), (broker.tls_url, {"ca_file": str(certs.ca)})]:
            assert await connects(producer(url, **options))
            assert await connects(recorder_account(url, **options))
            swapped = MqttSettings.from_url(
                url, username=PRODUCER, password=ACCOUNTS["RECORDER_MQTT_PASSWORD"], **options
            )
            assert not await connects(swapped)
            assert not await connects(MqttSettings.from_url(url, **options))  # anonymous
    finally:
        broker.stop()


@pytest.mark.parametrize("variable", list(ACCOUNTS))
@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_make_passwd_fails_in_one_line_without_a_variable(tmp_path, variable, value):
    accounts = {name: v for name, v in ACCOUNTS.items() if name != variable}
    if value is not None:
        accounts[variable] = value
    result = make_passwd(tmp_path / "auth", accounts)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and variable in result.stderr, result.stderr
    assert result.stdout == ""
    assert not any(secret in result.stderr for secret in SECRETS)
    assert list((tmp_path / "auth").iterdir()) == []  # nothing written, not even half a file


def test_make_passwd_puts_no_password_on_a_command_line(tmp_path):
    """`ps` shows every process's arguments: mosquitto_passwd must get the passwords some other way (stdin)."""
    shim = tmp_path / "bin/mosquitto_passwd"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >>{tmp_path}/argv\nexec {shutil.which("mosquitto_passwd")} "$@"\n')
    shim.chmod(0o755)
    result = make_passwd(tmp_path / "auth", ACCOUNTS | {"PATH": f"{shim.parent}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    command_lines = (tmp_path / "argv").read_text()
    assert command_lines.count("\n") == 2 and PRODUCER in command_lines and RECORDER in command_lines
    assert not any(secret in command_lines for secret in SECRETS)


def test_the_acl_follows_the_topic_layout(auth):
    rules = [line for line in (auth / "acl").read_text().splitlines() if line and not line.startswith("#")]
    assert f"pattern write {DEFAULT_PREFIX}/events/%u/#" in rules  # MqttSettings.topic with %u as the producer
    assert producer("mqtt://x").topic("turn", "c").startswith(f"{DEFAULT_PREFIX}/events/{PRODUCER}/")
    assert rules[rules.index(f"user {RECORDER}") + 1 :] == [
        f"topic read {MqttSettings().subscription}",
        f"topic deny {DEFAULT_PREFIX}/events/{RECORDER}/#",
    ]


# The ACL


async def test_a_producer_publishes_only_under_its_own_name(broker):
    agent, reader = producer(broker.url), recorder_account(broker.url)
    allowed, sentinel = agent.topic("turn", "call-1"), agent.topic("turn", "sentinel")
    forbidden = [
        f"{DEFAULT_PREFIX}/events/another-agent/turn/call-1",  # another producer's name
        f"{DEFAULT_PREFIX}/events/{RECORDER}/turn/call-1",  # the recorder's
        f"{DEFAULT_PREFIX}/events",  # above the producers
        f"{DEFAULT_PREFIX}/commands/{PRODUCER}/x",  # outside the events
        f"debtcollect/v2/events/{PRODUCER}/turn/call-1",  # outside the prefix
        "elsewhere",
    ]
    async with reader.client("reader") as subscriber, agent.client("agent") as client:
        await subscriber.subscribe(reader.subscription, qos=1)
        await client.publish(allowed, b"{}", qos=1)
        for topic in forbidden:
            await client.publish(topic, b"forged", qos=1)
        await client.publish(sentinel, b"{}", qos=1)
        assert await received_until(subscriber, sentinel) == [allowed, sentinel]


async def test_the_recorder_account_reads_but_cannot_publish(broker):
    agent, reader = producer(broker.url), recorder_account(broker.url)
    sentinel = agent.topic("turn", "sentinel")
    async with reader.client("reader") as subscriber, reader.client("recorder-publishing") as rogue:
        await subscriber.subscribe(reader.subscription, qos=1)
        for topic in [reader.topic("turn", "call-1"), agent.topic("turn", "call-1"), "elsewhere"]:
            await rogue.publish(topic, b"forged", qos=1)
        async with agent.client("agent") as client:
            await client.publish(sentinel, b"{}", qos=1)
        assert await received_until(subscriber, sentinel) == [sentinel]


async def test_a_producer_cannot_read_the_events(broker):
    """Mosquitto grants a subscription and checks read access on each message it would deliver: a producer subscribed
    to everything receives nothing, not even its own event. The broker routes a message to its subscribers before it
    acknowledges it, so a delivery to the publisher itself would arrive before its PUBACK."""
    agent = producer(broker.url)
    async with agent.client("agent") as client:
        for subscription in (agent.subscription, f"{DEFAULT_PREFIX}/events/{PRODUCER}/#", "#"):
            await client.subscribe(subscription, qos=1)
        await client.publish(agent.topic("turn", "call-1"), b"{}", qos=1)
        assert len(client.messages) == 0


async def test_anonymous_clients_and_wrong_passwords_are_refused(broker):
    assert not await connects(MqttSettings.from_url(broker.url))
    assert not await connects(MqttSettings.from_url(broker.url, username=PRODUCER, password="guess"))
    assert not await connects(MqttSettings.from_url(broker.url, username="intruder", password="guess"))
    assert await connects(producer(broker.url))


# TLS


async def test_the_recorder_records_an_event_published_over_tls(tmp_path, broker, certs):
    agent = producer(broker.tls_url, ca_file=str(certs.ca))
    assert agent.tls and agent.port == broker.tls_port
    store = await EventStore.open(tmp_path / "central.db")
    recorder = Recorder(recorder_account(broker.tls_url, ca_file=str(certs.ca)), store, "recorder-tls")
    stop = asyncio.Event()
    task = asyncio.create_task(recorder.run(stop))
    ready = asyncio.create_task(recorder.subscribed.wait())
    try:
        await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        assert recorder.subscribed.is_set(), task.exception() if task.done() else "the recorder did not subscribe"
        event = CallOpened(call_id="call-over-tls", facts=FACTS, policy_version="test")
        async with agent.client("agent-tls") as client:
            await client.publish(agent.topic(event.type, event.call_id), event.model_dump_json(), qos=1)
        async with asyncio.timeout(5):
            while await store.event_ids() != [event.event_id]:
                await asyncio.sleep(0.02)
    finally:
        ready.cancel()
        stop.set()
        await asyncio.wait_for(task, 10)
        await store.close()


async def test_a_client_without_the_ca_cannot_connect(broker, certs):
    untrusting = producer(broker.tls_url)  # the system's CAs only
    with pytest.raises(aiomqtt.MqttError, match="CERTIFICATE_VERIFY_FAILED"):
        async with untrusting.client("untrusting"):
            pass
    assert await connects(producer(broker.tls_url, ca_file=str(certs.ca)))
    assert not await connects(MqttSettings.from_url(broker.tls_url, ca_file=str(certs.ca)))  # anonymous
