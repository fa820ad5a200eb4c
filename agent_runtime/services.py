"""What the calls of one process share, and the one way to start a call.

A process (a worker job, a `simulate` run, the console, `training.call_log`) loads its policy, DST and phrasing once
into `CallServices` and opens its events outbox with `event_outbox`; `CallServices.new_call` then builds each call's
`CallController` with the same sinks and metrics, so every driver records calls the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agent_runtime.call import CallController, CallMetrics, EventSink
from agent_runtime.contracts.events import new_event_id, utc_now
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.exploration import NO_EXPLORATION, Exploration
from agent_runtime.nlg import TemplateNLG
from agent_runtime.policy_source import PolicySource

if TYPE_CHECKING:
    from agent_runtime.events.mqtt import MqttSettings
    from agent_runtime.events.outbox import Outbox
    from agent_runtime.phrasing import LLMPhrasing
    from agent_runtime.settings import Settings


@dataclass(frozen=True)
class CallServices:
    policy: PolicySource
    tracker: DialogueStateTracker
    metrics: CallMetrics  # required: no driver can run calls that monitoring does not see
    sinks: Sequence[EventSink] = ()
    phrasing: LLMPhrasing | None = None
    exploration: Exploration = NO_EXPLORATION

    def new_call(
        self,
        facts: CallFacts,
        *,
        today: date,
        channel: Literal["voice", "text", "simulated"],
        call_id: str | None = None,
        seed: int = 0,
        clock: Callable[[], datetime] = utc_now,
        persona: str | None = None,
        sinks: Sequence[EventSink] = (),
    ) -> CallController:
        """A call with this process's policy, DST, phrasing, sinks (plus the call's own `sinks`) and metrics; `seed`
        seeds the policy and the wording's paraphrase choice."""
        return CallController(
            facts,
            self.policy,
            self.tracker,
            TemplateNLG(seed=seed),
            today,
            sinks=(*self.sinks, *sinks),
            metrics=self.metrics,
            channel=channel,
            call_id=call_id or new_event_id(),
            clock=clock,
            phrasing=self.phrasing,
            seed=seed,
            persona=persona,
            exploration=self.exploration,
        )


BROKER_FIRST_ANSWER_SECONDS = 1.0


@contextlib.asynccontextmanager
async def event_outbox(
    path: Path,
    mqtt: MqttSettings | None = None,
    *,
    settings: Settings | None = None,
    on_backlog: Callable[[int], None] | None = None,
) -> AsyncIterator[Outbox]:
    """The SQLite outbox at `path`, drained to the broker while open when `mqtt` is given. Events are protected before
    they are stored and signed when published, as `settings` (by default the environment's) say. On leaving, pending
    events are delivered if the broker is reachable (they stay in the outbox otherwise) and the file is closed."""
    from agent_runtime.events.outbox import MqttPublisher, Outbox
    from agent_runtime.events.store import EventStore
    from agent_runtime.settings import load_settings

    settings = settings or load_settings()
    store = await EventStore.open(path)
    outbox, stop = Outbox(store, settings.event_protector()), asyncio.Event()
    publisher = None
    try:
        if mqtt is not None:
            sender = MqttPublisher(
                store, mqtt, written=outbox.written, on_backlog=on_backlog, signing_key=settings.signing_key()
            )
            publisher = asyncio.create_task(sender.run(stop))
            # A broker that refuses the credentials stops the process before its first call, not after its last; a
            # broker that is down only delays delivery, so after a moment the calls go on and the outbox keeps them.
            connected = asyncio.create_task(sender.connected.wait())
            await asyncio.wait({publisher, connected}, timeout=BROKER_FIRST_ANSWER_SECONDS)
            connected.cancel()
            if publisher.done():
                publisher.result()
        yield outbox
    finally:
        stop.set()
        try:
            if publisher is not None:
                await publisher  # may raise: a broker that refuses the credentials
        finally:
            await outbox.close()
            await store.close()
