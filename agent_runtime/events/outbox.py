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
import contextlib
import logging
from collections.abc import Sequence

import aiomqtt

from agent_runtime.events.mqtt import MAX_IN_FLIGHT, QOS, MqttSettings, with_reconnects
from agent_runtime.events.privacy import EventProtector
from agent_runtime.events.signing import sign
from agent_runtime.events.store import Event, EventStore, event_row

log = logging.getLogger(__name__)
MAX_BATCH = 1000
DRAIN_SECONDS = 3.0  # a stopped process whose broker is down still ends inside the 5 s a supervisor gives it


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
        await self.add_many([event])

    async def add_many(self, events: Sequence[Event]) -> None:
        """Return once all the events are committed to the outbox."""
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name="outbox-writer")
        loop = asyncio.get_running_loop()
        futures = []
        for event in events:
            future = loop.create_future()
            self._queue.put_nowait((event_row(self.protector.protect(event)), future))
            futures.append(future)
        await asyncio.gather(*futures)

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
            async with self.settings.client(self.identifier) as client:
                self.connected.set()
                client.pending_calls_threshold = MAX_IN_FLIGHT * 2
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
        while not give_up.is_set():
            pending = await self.store.pending(MAX_IN_FLIGHT)
            if self.on_backlog is not None:
                self.on_backlog(await self.store.backlog())
            if not pending:
                if stop.is_set():
                    return
                self.written.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.written.wait(), timeout=0.2)
                continue
            await asyncio.gather(
                *(
                    client.publish(self.settings.topic(kind, call), self._signed(payload), qos=QOS, timeout=5)
                    for _, kind, call, payload in pending
                )
            )
            await self.store.mark_delivered([event_id for event_id, *_ in pending])
            self.published += len(pending)

    def _signed(self, payload: str) -> bytes:
        body = payload.encode()
        return sign(body, self.signing_key) if self.signing_key is not None else body
