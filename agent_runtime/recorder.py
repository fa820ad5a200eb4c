"""The recorder: subscribes to the event topics and writes the central events database.

    python -m agent_runtime.recorder --mqtt mqtt://127.0.0.1:1883 [--db data/events.db] [--identifier recorder]
        [--metrics-port 9465]

The central store is the SQLite file of --db (default data/events.db), or PostgreSQL when DATABASE_URL is set or
--db is a postgresql:// URL (agent_runtime.events.postgres; a URL with a password belongs in DATABASE_URL, not on a
command line every user of the machine can read). An explicit --db wins over DATABASE_URL. The URL is never logged.

A persistent session (clean_session=False, a fixed identifier) keeps the broker queueing while the recorder is
away. Messages are acknowledged only after their batch is committed (a group commit: what arrived during one commit
goes into the next), so a crash redelivers instead of losing;
the store is idempotent on event_id, so redeliveries are absorbed. Every message passes the checks of
`agent_runtime.events.ingest` (size, signature, contract, topic, bounds); what fails lands in the store's quarantine
table with its reason, counted and logged, never among the events.

Events must be signed with EVENTS_SIGNING_KEY (agent_runtime.events.signing): without the key the recorder refuses
to start, unless --allow-unsigned says that this broker's clients are all trusted (a development machine).

SIGTERM or SIGINT stops it cleanly whatever the broker's state (exit 0): the batch in hand is committed, and acked
if the broker is still there. A bad URL or a broker that refuses the credentials exits at once with one line (2), as
does a database that cannot be reached at start; one lost for longer than the store waits for it, with one line (1).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import aiomqtt

from agent_runtime.events.ingest import Refused, admit
from agent_runtime.events.mqtt import QOS, BrokerRefusedError, MqttSettings, until_disconnected, with_reconnects
from agent_runtime.events.store import EventStore, event_row, open_store, quarantine_row
from agent_runtime.logs import configure_logging
from agent_runtime.settings import SettingsError, load_settings

if TYPE_CHECKING:
    from agent_runtime.events.postgres import PostgresEventStore
    from telemetry.metrics import RecorderMetrics

log = logging.getLogger("agent_runtime.recorder")
DEFAULT_DB = Path("data/events.db")
COMMIT_EVERY = 2000  # messages per transaction at most


class StoreUnavailableError(Exception):
    """The central store could not be reached: at start (a configuration to fix) or later (for too long)."""

    def __init__(self, message: str, *, at_start: bool):
        super().__init__(message)
        self.at_start = at_start


@dataclass
class RecorderStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)  # by reason (agent_runtime.events.ingest.Refusal)


class Recorder:
    def __init__(
        self,
        settings: MqttSettings,
        store: EventStore | PostgresEventStore,
        identifier: str = "recorder",
        *,
        signing_key: bytes | None = None,
        metrics: RecorderMetrics | None = None,
    ):
        """`signing_key`: events must carry its HMAC; None takes unsigned events (a trusted, closed broker).
        `metrics`: what --metrics-port serves (telemetry.metrics.RecorderMetrics), or None."""
        self.settings, self.store, self.identifier = settings, store, identifier
        self.signing_key = signing_key
        self.metrics = metrics
        self.stats = RecorderStats()
        self.subscribed = asyncio.Event()  # set once the subscription is live (readiness)

    async def run(self, stop: asyncio.Event) -> None:
        """Record until `stop` is set; reconnect with backoff on any broker failure but a refusal of the client
        (BrokerRefusedError)."""

        async def session() -> None:
            client = self.settings.client(self.identifier, clean_session=False)
            # aiomqtt has no public manual-ack API; paho's acks only after our commit (see the notes).
            client._client.manual_ack_set(True)
            pending: list[tuple[int, int, tuple, bool]] = []  # (mid, qos, row, whether the row is quarantine)
            arrived = asyncio.Event()
            broken = asyncio.get_running_loop().create_future()  # a bug in admitting a message: raised, not retried

            def on_message(_client, _userdata, message) -> None:
                # paho's callback, set before connecting: a persistent session's queue may come before the SUBACK
                self.stats.received += 1
                try:
                    pending.append((message.mid, message.qos, *self._row(message)))
                except Exception as exc:
                    if not broken.done():
                        broken.set_exception(exc)
                    return
                arrived.set()

            client._client.on_message = on_message
            async with client:
                await client.subscribe(self.settings.subscription, qos=QOS)
                self.subscribed.set()
                await self._consume(client, stop, pending, arrived, broken)

        await with_reconnects(session, stop, log)

    async def _consume(
        self, client: aiomqtt.Client, stop: asyncio.Event, pending: list, arrived: asyncio.Event, broken: asyncio.Future
    ) -> None:
        """Messages are admitted as they arrive, in paho's callback (aiomqtt's message iterator costs a task, a wait
        and a copy per message); a flusher commits what has arrived, then acks it, and starts again at once with what
        arrived meanwhile (a group commit: batches grow with the load, up to COMMIT_EVERY, and nothing waits for a
        timer when the load is light)."""

        async def flush_forever() -> None:
            while True:
                await arrived.wait()
                arrived.clear()
                while pending:
                    await self._commit(client, pending)

        tasks = [asyncio.create_task(flush_forever()), asyncio.create_task(until_disconnected(client))]
        stopped = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopped, broken], return_when=asyncio.FIRST_COMPLETED)
            for task in done - {stopped}:
                task.result()  # a broker failure surfaces here and reaches run()'s reconnect loop
        finally:
            client._client.on_message = None  # what comes from now on is not acknowledged: the broker sends it again
            for task in (*tasks, stopped):
                task.cancel()
            await asyncio.gather(*tasks, stopped, return_exceptions=True)
            # Keep what arrived even when the broker is gone: storing is idempotent, acking waits for a connection.
            while pending:
                await self._commit(client, pending, ack=client._client.is_connected())

    async def _commit(self, client: aiomqtt.Client, pending: list, ack: bool = True) -> None:
        """Commit up to COMMIT_EVERY of the pending messages (oldest first) in one transaction, then ack them."""
        batch = pending[:COMMIT_EVERY]
        del pending[: len(batch)]
        rows = [row for _, _, row, refused in batch if not refused]
        quarantined = [row for _, _, row, refused in batch if refused]
        new = await self.store.append_rows(rows, quarantined)
        self.stats.stored += new
        self.stats.duplicates += len(rows) - new
        if self.metrics is not None:
            self.metrics.observe_commit(new, [row[5] for row in rows])  # row[5]: the event's `at` (store.event_row)
        if ack:
            paho = client._client
            for mid, qos, _, _ in batch:
                paho.ack(mid, qos)

    def _row(self, message) -> tuple[tuple, bool]:
        """(row, quarantined): the event's row, or the quarantine row of a refused message (a paho message)."""
        payload = message.payload
        try:
            topic = message.topic
        except UnicodeDecodeError:  # a broker passes no such topic on; refused all the same
            topic = message._topic.decode(errors="replace")
        try:
            admitted = admit(topic, payload, prefix=self.settings.prefix, signing_key=self.signing_key)
        except Refused as exc:
            self.stats.quarantined[exc.reason] += 1
            if self.metrics is not None:
                self.metrics.count_quarantined(exc.reason)
            log.warning("quarantined a message on %s: %s", topic[:200], exc)
            return quarantine_row(topic, payload, exc.reason, exc.detail), True
        # an older version's event is stored as the current version's JSON, so the central store is uniform
        return event_row(admitted.event, delivered=True, payload=admitted.payload), False


async def serve(
    mqtt: MqttSettings,
    db: Path | str,
    identifier: str,
    signing_key: bytes | None,
    metrics: RecorderMetrics | None = None,
) -> RecorderStats:
    """Record into `db`, a SQLite file or a PostgreSQL URL, until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        store = await open_store(db)
    except ConnectionError as exc:
        raise StoreUnavailableError(str(exc), at_start=True) from None
    recorder = Recorder(mqtt, store, identifier, signing_key=signing_key, metrics=metrics)
    log.info("recording %s into %s", recorder.settings.subscription, store.path)  # a URL without its password
    try:
        await recorder.run(stop)
    except ConnectionError as exc:  # the PostgreSQL store stayed away longer than it waits (RETRY_FOR_SECONDS)
        raise StoreUnavailableError(str(exc), at_start=False) from None
    finally:
        await store.close()
        log.info("stopped: %s", recorder.stats)
    return recorder.stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", help="broker URL (mqtt:// or mqtts://)")
    parser.add_argument(
        "--db",
        metavar="PATH|URL",
        help=f"the central store: a SQLite file or a postgresql:// URL (default: DATABASE_URL, else {DEFAULT_DB})",
    )
    parser.add_argument("--identifier", default="recorder", help="MQTT client id of the persistent session")
    parser.add_argument("--metrics-port", type=int, metavar="PORT", help="serve /metrics on 0.0.0.0:PORT")
    parser.add_argument(
        "--allow-unsigned",
        action="store_true",
        help="store unsigned events (only where every broker client is trusted)",
    )
    args = parser.parse_args()
    if args.metrics_port is not None and not 1 <= args.metrics_port <= 65535:
        parser.error(f"--metrics-port: {args.metrics_port} is not a port (1-65535)")
    configure_logging()
    try:
        settings = load_settings()
        mqtt = settings.mqtt(args.mqtt)
    except SettingsError as exc:
        parser.exit(2, f"error: {exc}\n")
    except ValueError as exc:  # its message never repeats the URL, which may hold a password
        parser.exit(2, f"error: --mqtt: {exc}\n")
    signing_key = settings.signing_key()
    if signing_key is None and not args.allow_unsigned:
        parser.exit(2, "error: set EVENTS_SIGNING_KEY (the producers' key), or pass --allow-unsigned\n")
    if signing_key is None:
        log.warning("--allow-unsigned: events are not authenticated; anyone who may publish can plant them")
    db = args.db or (settings.database_url.get_secret_value() if settings.database_url else DEFAULT_DB)
    metrics = None
    if args.metrics_port:
        from telemetry.exporter import serve_metrics
        from telemetry.metrics import RecorderMetrics

        metrics = RecorderMetrics()
        serve_metrics(args.metrics_port, addr="0.0.0.0")  # as the worker's METRICS_PORT: Prometheus is elsewhere
    try:
        asyncio.run(serve(mqtt, db, args.identifier, signing_key, metrics))
    except BrokerRefusedError as exc:
        parser.exit(2, f"error: {args.mqtt}: {exc}\n")  # a URL with a password was refused above
    except StoreUnavailableError as exc:  # its message names a PostgreSQL database without the password
        parser.exit(2 if exc.at_start else 1, f"error: {exc}\n")


if __name__ == "__main__":
    main()
