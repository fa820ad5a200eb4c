"""The event pipe's throughput mechanics keep its guarantees: multi-row inserts count and ignore duplicates as the
row-by-row ones did, the publisher's cursor reads each undelivered event once, and a broker that stops acknowledging
is left after PUBACK_TIMEOUT_SECONDS, its unacknowledged events sent again, each stored once."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from agent_runtime.events import outbox as outbox_module
from agent_runtime.events import store as store_module
from agent_runtime.events.mqtt import MqttSettings
from agent_runtime.events.store import EventStore, event_row, quarantine_row, read_events
from tests.services import Mosquitto, make_certificates
from tests.test_events import assert_stored_exactly_once, event_pipe, turn_event, wait_until


async def test_multi_row_inserts_count_new_rows_and_ignore_duplicates(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "ROWS_PER_STATEMENT", 7)  # several statements per batch
    store = await EventStore.open(tmp_path / "events.db")
    events = [turn_event(f"c{i // 10}", i % 10) for i in range(30)]
    rows = [event_row(e) for e in events]
    refused = [quarantine_row("t/x", f"bad {i}".encode(), "malformed", "not json") for i in range(9)]
    assert await store.append_rows([*rows[:20], rows[3], rows[3]], refused) == 20  # duplicates within one batch
    assert await store.append_rows(rows) == 10
    assert await store.count() == 30
    assert len(await store.quarantined()) == 9
    assert await store.append_rows([], refused) == 0
    assert len(await store.quarantined()) == 9
    await store.close()
    assert [e.event_id for e in read_events(tmp_path / "events.db")] == [e.event_id for e in events]


async def test_the_publisher_cursor_reads_each_undelivered_event_once(tmp_path):
    store = await EventStore.open(tmp_path / "outbox.db")
    events = [turn_event("c", i) for i in range(10)]
    await store.append(events)
    first = await store.pending_after(0, 4)
    assert [row[3] for row in first] == [e.model_dump_json() for e in events[:4]]
    rest = await store.pending_after(first[-1][0], 100)
    assert len(rest) == 6 and rest[0][0] > first[-1][0]
    await store.mark_delivered_rows([row[0] for row in first[:2]] + [rest[-1][0]])
    assert await store.backlog() == 7
    assert [row[0] for row in await store.pending_after(0, 100)] == [row[0] for row in first[2:] + rest[:-1]]
    await store.mark_delivered_rows([])
    assert await store.backlog() == 7
    await store.close()


async def test_a_broker_that_stops_acknowledging_is_left_and_its_events_go_out_again(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(outbox_module, "PUBACK_TIMEOUT_SECONDS", 0.5)
    caplog.set_level(logging.WARNING, logger="agent_runtime.events.outbox")
    broker = Mosquitto(tmp_path / "broker").start()
    try:
        async with event_pipe(broker.url, tmp_path) as pipe:
            produced = [turn_event(f"call-{i // 10}", i % 10) for i in range(400)]
            for event in produced[:200]:
                await pipe.outbox.add(event)

            async def some_stored() -> bool:
                return await pipe.central.count() >= 100

            await wait_until(some_stored)
            os.kill(broker.process.pid, signal.SIGSTOP)  # alive, connected, silent: no PUBACK comes
            try:
                for event in produced[200:]:
                    await pipe.outbox.add(event)
                await asyncio.sleep(1.5)  # past the PUBACK timeout: the publisher leaves the session
                assert await pipe.outbox_store.backlog() > 0
            finally:
                os.kill(broker.process.pid, signal.SIGCONT)
            ids = [e.event_id for e in produced]
            await assert_stored_exactly_once(pipe.central, pipe.outbox_store, ids, timeout=40)
        assert "no PUBACK from the broker for 0.5 s" in caplog.text
    finally:
        broker.stop()


async def test_a_burst_over_tls_is_read_whole_and_stored_once(tmp_path):
    """The readers that take many packets per wake-up (mqtt._Client) over TLS, where decrypted bytes may wait in the
    TLS layer rather than in the socket: a burst's tail is not left unread."""
    certs = make_certificates(tmp_path / "certs")
    broker = Mosquitto(tmp_path / "broker").listen_tls(certs.cert, certs.key).start()
    settings = MqttSettings.from_url(broker.tls_url, ca_file=str(certs.ca))
    try:
        async with event_pipe(settings, tmp_path) as pipe:
            produced = [turn_event(f"call-{i // 10}", i % 10) for i in range(1500)]
            await pipe.outbox.add_many(produced)
            ids = [e.event_id for e in produced]
            await assert_stored_exactly_once(pipe.central, pipe.outbox_store, ids, timeout=30)
    finally:
        broker.stop()
