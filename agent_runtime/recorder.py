"""The recorder: subscribes to the event topics and writes the central events database.

    python -m agent_runtime.recorder --mqtt mqtt://127.0.0.1:1883 --db data/events.db [--identifier recorder]

A persistent session (clean_session=False, a fixed identifier) keeps the broker queueing while the recorder is
away. Messages are acknowledged only after their batch is committed, so a crash redelivers instead of losing;
the store is idempotent on event_id, so redeliveries are absorbed. Malformed messages and unknown schema
versions are counted, logged and skipped.

SIGTERM or SIGINT stops it cleanly whatever the broker's state (exit 0): the batch in hand is committed, and acked
if the broker is still there. A bad URL or a broker that refuses the credentials exits at once with one line (2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

import aiomqtt

from agent_runtime.contracts.events import MalformedEventError, UnknownSchemaVersionError, read_event
from agent_runtime.events.mqtt import QOS, BrokerRefusedError, MqttSettings, with_reconnects
from agent_runtime.events.store import EventStore, event_row
from agent_runtime.settings import SettingsError, load_settings

log = logging.getLogger("agent_runtime.recorder")
COMMIT_EVERY = 200
COMMIT_AFTER_SECONDS = 0.05


@dataclass
class RecorderStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    malformed: int = 0
    unknown_schema: int = 0


class Recorder:
    def __init__(self, settings: MqttSettings, store: EventStore, identifier: str = "recorder"):
        self.settings, self.store, self.identifier = settings, store, identifier
        self.stats = RecorderStats()
        self.subscribed = asyncio.Event()  # set once the subscription is live (readiness)

    async def run(self, stop: asyncio.Event) -> None:
        """Record until `stop` is set; reconnect with backoff on any broker failure but a refusal of the client
        (BrokerRefusedError)."""

        async def session() -> None:
            client = self.settings.client(self.identifier, clean_session=False)
            # aiomqtt has no public manual-ack API; paho's acks only after our commit (see the notes).
            client._client.manual_ack_set(True)
            async with client:
                await client.subscribe(self.settings.subscription, qos=QOS)
                self.subscribed.set()
                await self._consume(client, stop)

        await with_reconnects(session, stop, log)

    async def _consume(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        """Buffer messages; a flusher commits every COMMIT_EVERY messages or COMMIT_AFTER_SECONDS, then acks."""
        pending: list[tuple[aiomqtt.Message, tuple | None]] = []
        full = asyncio.Event()

        async def flush_forever() -> None:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(full.wait(), COMMIT_AFTER_SECONDS)
                full.clear()
                await self._commit(client, pending)

        async def receive() -> None:
            async for message in client.messages:
                self.stats.received += 1
                pending.append((message, self._row(message)))
                if len(pending) >= COMMIT_EVERY:
                    full.set()

        tasks = [asyncio.create_task(flush_forever()), asyncio.create_task(receive())]
        stopped = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
            for task in done - {stopped}:
                task.result()  # a broker failure surfaces here and reaches run()'s reconnect loop
        finally:
            for task in (*tasks, stopped):
                task.cancel()
            await asyncio.gather(*tasks, stopped, return_exceptions=True)
            # Keep what arrived even when the broker is gone: storing is idempotent, acking waits for a connection.
            await self._commit(client, pending, ack=client._client.is_connected())

    async def _commit(self, client: aiomqtt.Client, pending: list, ack: bool = True) -> None:
        if not pending:
            return
        batch = pending[:]
        del pending[: len(batch)]
        rows = [row for _, row in batch if row is not None]
        new = await self.store.append_rows(rows) if rows else 0
        self.stats.stored += new
        self.stats.duplicates += len(rows) - new
        if ack:
            for message, _ in batch:
                client._client.ack(message.mid, message.qos)

    def _row(self, message: aiomqtt.Message) -> tuple | None:
        try:
            event, upgraded = read_event(message.payload)
            # an older version's event is stored as the current version's JSON, so the central store is uniform
            return event_row(event, delivered=True, payload=None if upgraded else message.payload.decode())
        except UnknownSchemaVersionError as exc:
            self.stats.unknown_schema += 1
            log.warning("skipped a message on %s: %s", message.topic, exc)
        except MalformedEventError as exc:
            self.stats.malformed += 1
            log.warning("skipped a malformed message on %s: %s", message.topic, exc)
        return None


async def serve(mqtt: MqttSettings, db: Path, identifier: str) -> RecorderStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    store = await EventStore.open(db)
    recorder = Recorder(mqtt, store, identifier)
    log.info("recording %s into %s", recorder.settings.subscription, db)
    try:
        await recorder.run(stop)
    finally:
        await store.close()
        log.info("stopped: %s", recorder.stats)
    return recorder.stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", help="broker URL (mqtt:// or mqtts://)")
    parser.add_argument("--db", type=Path, default=Path("data/events.db"))
    parser.add_argument("--identifier", default="recorder", help="MQTT client id of the persistent session")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        mqtt = load_settings().mqtt(args.mqtt)
    except SettingsError as exc:
        parser.exit(2, f"error: {exc}\n")
    except ValueError as exc:  # its message never repeats the URL, which may hold a password
        parser.exit(2, f"error: --mqtt: {exc}\n")
    try:
        asyncio.run(serve(mqtt, args.db, args.identifier))
    except BrokerRefusedError as exc:
        parser.exit(2, f"error: {args.mqtt}: {exc}\n")  # a URL with a password was refused above


if __name__ == "__main__":
    main()
