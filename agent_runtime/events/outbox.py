"""The producer side: every event is committed to the local SQLite outbox first, then published from it.

`Outbox.add` protects the event (agent_runtime.events.privacy: identity as a keyed reference, personal data masked in
its texts) and returns once it is committed (concurrent adds share one transaction: group commit), so a
completed turn survives a crash of the agent. `MqttPublisher` drains the outbox to the broker at QoS 1 and marks
each event delivered on its PUBACK; after a broker outage it reconnects with backoff and delivers the backlog. Once
stopped it keeps delivering for at most `drain_seconds`, so a process whose broker is down still ends: what is left
stays in the outbox, undelivered, for the next run to send. With no broker configured the outbox file simply is the
events database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence

import aiomqtt
import paho.mqtt.client as mqtt
from aiomqtt.exceptions import MqttCodeError

from agent_runtime.events.mqtt import (
    MAX_IN_FLIGHT,
    PUBACK_TIMEOUT_SECONDS,
    QOS,
    MqttSettings,
    until_disconnected,
    with_reconnects,
)
from agent_runtime.events.privacy import EventProtector
from agent_runtime.events.signing import sign
from agent_runtime.events.store import Event, EventStore, event_row

log = logging.getLogger(__name__)
MAX_BATCH = 1000
DRAIN_SECONDS = 3.0  # a stopped process whose broker is down still ends inside the 5 s a supervisor gives it
READ_BATCH = 250  # events read from the outbox at a time
POLL_SECONDS = 0.2  # an idle publisher looks at the outbox this often (events another connection added)
BACKLOG_EVERY_SECONDS = 0.5  # how often a busy publisher reports its backlog (on_backlog)


class Outbox:
    def __init__(self, store: EventStore, protector: EventProtector | None = None, max_batch: int = MAX_BATCH):
        """`protector`: how events are protected before they are stored (by default: with a per-process key)."""
        self.store = store
        self.protector = protector or EventProtector()
        self.max_batch = max_batch
        self.written = asyncio.Event()  # set after each commit; the publisher waits on it
        self._queue: asyncio.Queue[tuple[tuple, asyncio.Future]] = asyncio.Queue()
        self._writer: asyncio.Task | None = None

    async def add(self, event: Event) -> None:
        """Return once the event is committed to the outbox."""
        await self._enqueue(event)

    async def add_many(self, events: Sequence[Event]) -> None:
        """Return once all the events are committed to the outbox."""
        await asyncio.gather(*[self._enqueue(event) for event in events])

    def _enqueue(self, event: Event) -> asyncio.Future:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="outbox-writer")
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((event_row(self.protector.protect(event)), future))
        return future

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self.store.append_rows([row for row, _ in batch])
            except Exception as exc:  # the callers see the failure; the loop keeps serving
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
            self.written.set()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None


class MqttPublisher:
    def __init__(
        self,
        store: EventStore,
        settings: MqttSettings,
        identifier: str = "agent-publisher",
        written: asyncio.Event | None = None,
        on_backlog=None,
        drain_seconds: float = DRAIN_SECONDS,
        signing_key: bytes | None = None,
    ):
        """`signing_key`: sign every event (agent_runtime.events.signing) for a recorder that checks signatures."""
        self.store, self.settings, self.identifier = store, settings, identifier
        self.signing_key = signing_key
        self.written = written or asyncio.Event()
        self.on_backlog = on_backlog  # e.g. RuntimeMetrics.outbox_backlog.set
        self.drain_seconds = drain_seconds
        self.published = 0
        self.connected = asyncio.Event()  # set once the broker has accepted the connection

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set and the outbox is empty, or until `drain_seconds` after `stop`; reconnect with
        backoff on any broker failure. A broker that refuses the credentials raises BrokerRefusedError."""
        give_up = asyncio.Event()

        async def session() -> None:
            # paho's own in-flight limit off: _drain keeps at most MAX_IN_FLIGHT events awaiting a PUBACK
            async with self.settings.client(self.identifier, max_inflight=0) as client:
                self.connected.set()
                await self._drain(client, stop, give_up)

        deadline = asyncio.create_task(self._give_up_after_drain(stop, give_up))
        try:
            await with_reconnects(session, give_up, log)
        finally:
            deadline.cancel()
        queued = await self.store.backlog()
        if queued:
            log.warning(
                "%d event(s) still queued in %s: the broker did not take them within %g s of stopping; "
                "a later run delivers them",
                queued,
                self.store.path,
                self.drain_seconds,
            )

    async def _give_up_after_drain(self, stop: asyncio.Event, give_up: asyncio.Event) -> None:
        await stop.wait()
        await asyncio.sleep(self.drain_seconds)
        give_up.set()

    async def _drain(self, client: aiomqtt.Client, stop: asyncio.Event, give_up: asyncio.Event) -> None:
        """Stream the outbox to the broker until `stop` is set and every event is delivered, or until `give_up`.

        A window of up to MAX_IN_FLIGHT events awaits its PUBACKs while the next are read (a cursor on rowid, so an
        event is read once per session) and published, and a task of its own marks the acknowledged ones delivered,
        a batch per transaction, while the window moves on: the pipe never stops to wait for the slowest PUBACK of a
        batch, nor for the database. Publishes go through paho (aiomqtt's client underneath) with one callback for
        all PUBACKs: aiomqtt's `publish` spends two tasks, a timer and a scan of every pending call on each message.
        An event is marked delivered only after its PUBACK; one sent but unacknowledged when the session ends stays
        undelivered and goes out again in the next (the recorder's store is idempotent on event_id)."""
        paho = client._client
        in_flight: dict[int, int] = {}  # paho's message id -> the event's rowid in the outbox
        acked: list[int] = []  # the rowids of acknowledged events, not yet marked delivered
        acked_some, room, finished = asyncio.Event(), asyncio.Event(), False
        last_progress = time.monotonic()
        window_full = False

        def on_publish(_client, _userdata, mid: int, _reason, _properties) -> None:
            nonlocal last_progress, window_full
            rowid = in_flight.pop(mid, None)
            if rowid is None:
                return
            acked.append(rowid)
            acked_some.set()
            last_progress = time.monotonic()
            if not in_flight or (window_full and len(in_flight) <= MAX_IN_FLIGHT // 2):
                window_full = False
                room.set()

        async def mark_delivered() -> None:
            while True:
                await acked_some.wait()
                acked_some.clear()
                while acked:
                    batch = acked[:]
                    del acked[: len(batch)]
                    await self.store.mark_delivered_rows(batch)
                    self.published += len(batch)
                if finished:
                    return

        paho.on_publish = on_publish  # this client publishes nothing else: aiomqtt's own handler is not needed
        marking = asyncio.create_task(mark_delivered(), name="outbox-mark-delivered")
        lost = asyncio.create_task(until_disconnected(client), name="outbox-connection")
        cursor, read = 0, True  # read: whether new events may be waiting in the outbox
        reported, backlog = 0.0, -1
        try:
            while not give_up.is_set():
                if lost.done() or marking.done():
                    (lost if lost.done() else marking).result()  # raises: the broker or the database failed
                space = min(MAX_IN_FLIGHT - len(in_flight), READ_BATCH)  # small reads: the first leave at once
                if read and space > 0:
                    self.written.clear()  # a commit from now on sets it again
                    rows = await self.store.pending_after(cursor, space)
                    read = len(rows) == space  # a full read: more may be waiting
                    if rows and not in_flight:
                        last_progress = time.monotonic()
                    for rowid, kind, call, payload in rows:
                        info = paho.publish(self.settings.topic(kind, call), self._signed(payload), qos=QOS)
                        if info.rc != mqtt.MQTT_ERR_SUCCESS:
                            raise MqttCodeError(info.rc, "Could not publish message")
                        in_flight[info.mid] = rowid
                    if rows:
                        cursor = rows[-1][0]
                    window_full = len(in_flight) >= MAX_IN_FLIGHT
                now = time.monotonic()
                idle = not read and not in_flight and not self.written.is_set()
                if self.on_backlog is not None and (now - reported >= BACKLOG_EVERY_SECONDS or (idle and backlog)):
                    backlog, reported = await self.store.backlog(), now
                    self.on_backlog(backlog)
                if idle and stop.is_set():
                    return  # everything is out and acknowledged; `finally` marks the last of it delivered
                if in_flight and now - last_progress > PUBACK_TIMEOUT_SECONDS:
                    raise aiomqtt.MqttError(f"no PUBACK from the broker for {PUBACK_TIMEOUT_SECONDS:g} s")
                if read and len(in_flight) < MAX_IN_FLIGHT:
                    continue  # more events wait and the window has room: read on
                room.clear()
                waits = [room.wait()] if in_flight else []  # room in a full window, or all acknowledged
                if not read:
                    waits.append(self.written.wait())  # new events committed
                if not stop.is_set():
                    waits.append(stop.wait())
                woke = await _first(waits, lost, marking, timeout=POLL_SECONDS)
                # the poll also reads what another connection may have added to the file
                read = read or self.written.is_set() or not woke or stop.is_set()
        finally:
            finished = True  # the marking task marks what is acknowledged, then ends
            acked_some.set()
            lost.cancel()
            try:
                await asyncio.gather(marking, lost, return_exceptions=True)
            finally:
                marking.cancel()  # a session cancelled meanwhile leaves no task behind (its events go out again)
                paho.on_publish = None

    def _signed(self, payload: str) -> bytes:
        body = payload.encode()
        return sign(body, self.signing_key) if self.signing_key is not None else body


async def _first(waits: list[Awaitable], *tasks: asyncio.Task, timeout: float) -> bool:
    """Wait until one of `waits` ends or one of `tasks` ends (a failure, which the caller raises), or `timeout`;
    whether anything ended before the timeout."""
    waiters = [asyncio.ensure_future(wait) for wait in waits]
    try:
        done, _ = await asyncio.wait([*waiters, *tasks], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return bool(done)
