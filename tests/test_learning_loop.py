"""The whole loop on this machine: simulated calls through the runtime -> outbox -> Mosquitto -> recorder ->
PostgreSQL -> replay -> promote (refused for a worse candidate, accepted for a better one) -> the next call uses the
promoted version; and a cease request in one call blocks the next dispatch to that number."""

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry

from agent_runtime.campaign import ContactHistory
from agent_runtime.contracts.events import CallClosed, TurnEvent
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.dispatch import plan
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.events.mqtt import MqttSettings
from agent_runtime.events.postgres import PostgresEventStore
from agent_runtime.events.store import read_events
from agent_runtime.policy_source import current_policy, load_policy
from agent_runtime.recorder import Recorder
from agent_runtime.registry import Registry
from agent_runtime.services import CallServices, event_outbox
from agent_runtime.settings import load_settings
from simulator.calls import simulated_debtor, talk
from telemetry.metrics import RuntimeMetrics
from tests.services import Mosquitto
from tests.test_events import wait_until
from tests.test_postgres_store import database  # noqa: F401  (the fixture)
from training.promote import Args as PromoteArgs
from training.promote import main as promote
from training.replay import Args as ReplayArgs
from training.replay import run as replay

SIGNING_KEY, IDENTITY_KEY = "loop-signing-key-0123456789", "loop-identity-key-0123456789"
BEST = Path("checkpoints/debtor_policy.safetensors")
WEAKER = Path("checkpoints/debtor_policy_20k.pt")
NOON_IN_NEW_YORK = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
CEASING = CallFacts(
    debtor_name="Dana Whitfield", balance=840.0, days_overdue=75, due_date=date(2025, 12, 1),
    creditor="Northwind Bank", account_id="acct-77", phone_number="+15550107777",
)  # fmt: skip


async def calls_through_the_runtime(services: CallServices, seeds: range) -> None:
    for seed in seeds:
        who = simulated_debtor(seed)
        await talk(who.controller(services, f"loop-{seed}"), who)


async def test_calls_to_store_to_replay_to_promotion_to_the_next_call(database, tmp_path):  # noqa: F811
    settings = load_settings(events_signing_key=SIGNING_KEY, events_identity_key=IDENTITY_KEY)
    broker = Mosquitto(tmp_path / "broker").start()
    central = await PostgresEventStore.open(database)
    mqtt = MqttSettings.from_url(broker.url, username="agent")
    recorder = Recorder(mqtt, central, signing_key=SIGNING_KEY.encode())
    stop = asyncio.Event()
    recording = asyncio.create_task(recorder.run(stop))
    models = tmp_path / "models"
    Registry.open(models).promote(WEAKER.with_suffix(".safetensors"), source=str(WEAKER), data={}, figures={})
    live = load_policy(f"registry:{models}")
    metrics = RuntimeMetrics(CollectorRegistry())
    try:
        await asyncio.wait_for(recorder.subscribed.wait(), 10)
        async with event_outbox(tmp_path / "outbox.db", mqtt, settings=settings) as outbox:
            explore = settings.exploration()
            services = CallServices(live, DialogueStateTracker(), metrics, (outbox,), exploration=explore)
            await calls_through_the_runtime(services, range(120))
            cease = services.new_call(CEASING, today=date(2026, 3, 3), channel="voice", clock=lambda: NOON_IN_NEW_YORK)
            await cease.open()
            for line in ("yes speaking", "stop calling me"):
                await cease.respond(line)
            produced = await outbox.store.count()

        async def all_recorded():
            return recorder.stats.stored >= produced

        await wait_until(all_recorded, timeout=60)
        assert sum(recorder.stats.quarantined.values()) == 0

        # replay from PostgreSQL, then the gate
        replayed = tmp_path / "replayed"
        options = {"algo": "dqn", "init": WEAKER, "updates": 300, "eval_every": 0, "eval_episodes": 20}
        await asyncio.to_thread(replay, ReplayArgs(events=database, out=replayed, progress=False, **options))
        gate = {"registry": models, "events": database, "episodes": 300, "compliance_calls": 20}
        verdict = await asyncio.to_thread(promote, PromoteArgs(candidate=replayed / "checkpoint.pt", **gate))
        assert verdict in (0, 1)  # replay may or may not beat its start: the registry must follow the gate's word
        assert Registry.open(models).current == ("v2" if verdict == 0 else "v1")
        assert (
            await asyncio.to_thread(promote, PromoteArgs(candidate=BEST, **gate)) == 0
        )  # better than the 20k-episode policy
        promoted = Registry.open(models).current
        assert await asyncio.to_thread(promote, PromoteArgs(candidate=WEAKER, **gate)) == 1  # worse than what now runs
        assert Registry.open(models).current == promoted

        # the next call picks up the promoted version, through the same pipe
        live = current_policy(live)
        assert live.version == f"registry:{promoted}"
        async with event_outbox(tmp_path / "outbox.db", mqtt, settings=settings) as outbox:
            explore = settings.exploration()
            services = CallServices(live, DialogueStateTracker(), metrics, (outbox,), exploration=explore)
            await calls_through_the_runtime(services, range(500, 501))

        def stored(call_id: str) -> list:  # read in a thread: the recorder shares this test's event loop
            return [e for e in read_events(database) if e.call_id == call_id]

        async def next_call_recorded():
            return any(isinstance(e, CallClosed) for e in await asyncio.to_thread(stored, "loop-500"))

        await wait_until(next_call_recorded, timeout=30)
        next_call = await asyncio.to_thread(stored, "loop-500")
        assert {e.policy_version for e in next_call if not isinstance(e, CallClosed)} == {f"registry:{promoted}"}
        turns = [e for e in next_call if isinstance(e, TurnEvent) and e.proposed_action is not None]
        assert turns and all(e.propensity is not None for e in turns)  # every decision logged its propensity
    finally:
        stop.set()
        await recording
        await central.close()
        broker.stop()

    # a cease request in one call blocks the next dispatch to that number
    allowed, refused = plan([CEASING], ContactHistory.read(database), NOON_IN_NEW_YORK.replace(day=20),
                            IDENTITY_KEY.encode(), "ST_trunk")  # fmt: skip
    assert allowed == [] and refused == [(CEASING, "do not contact: the debtor asked not to be contacted")]
