"""Event-bus throughput: `python -m benchmarks.events_throughput [--events 20000]`.

1. Outbox: realistic TurnEvents (about 1.5 KB of JSON) committed through `Outbox.add` by 200 concurrent
   producers (group commit), events/s sustained.
2. End to end: outbox -> MqttPublisher -> Debian's mosquitto (started here on a free port) -> recorder ->
   central database; events/s until the last event is stored, and the p50/p99 delivery latency seen by a second
   subscriber (receive time minus the event's own timestamp).
Prints JSON; writes results/events_throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from agent_runtime.contracts.events import new_event_id, parse_event
from agent_runtime.contracts.stages import LATENCY_STAGES
from agent_runtime.events.mqtt import MqttSettings
from agent_runtime.events.outbox import MqttPublisher, Outbox
from agent_runtime.events.store import EventStore
from agent_runtime.recorder import Recorder
from simulator.env import DebtorEnv
from tests.services import Mosquitto
from tests.test_events import turn_event

PRODUCERS = 200


async def produce(outbox: Outbox, events: list) -> float:
    start = time.perf_counter()
    chunks = [events[i::PRODUCERS] for i in range(PRODUCERS)]

    async def producer(chunk):
        for event in chunk:
            await outbox.add(event)

    await asyncio.gather(*(producer(c) for c in chunks))
    return time.perf_counter() - start


def fresh_events(n: int) -> list:
    """TurnEvents as the agent writes them: a real simulator state, Q-values, offer terms and stage latencies."""
    env, rng = DebtorEnv(), np.random.default_rng(0)
    state, _ = env.reset(seed=0)
    _, _, _, _, info = env.step(3)
    text = "well i lost my job in march so i could maybe do seventy five dollars a month starting next friday"
    template = turn_event("call", 0, text).model_copy(
        update={
            "state": state.tolist(),
            "q_values": rng.normal(2.0, 1.0, 9).astype(np.float32).tolist(),
            "offer": info["terms"],
            "latencies_ms": {stage: float(rng.uniform(5, 400)) for stage in LATENCY_STAGES},
            "agent_text": "I hear you. We could set that up as $75 a month, with the first payment on the 12th.",
        }
    )
    return [
        template.model_copy(update={"event_id": new_event_id(), "call_id": f"call-{i // 12}", "turn": i % 12})
        for i in range(n)
    ]


async def outbox_rate(n: int, folder: Path) -> dict:
    events = fresh_events(n)
    size = np.mean([len(e.model_dump_json()) for e in events[:100]])
    store = await EventStore.open(folder / "outbox.db")
    outbox = Outbox(store)
    seconds = await produce(outbox, events)
    await outbox.close()
    await store.close()
    return {
        "events": n,
        "mean_event_bytes": round(float(size)),
        "seconds": round(seconds, 3),
        "events_per_second": round(n / seconds),
    }


async def end_to_end(n: int, folder: Path) -> dict:
    broker = Mosquitto(folder / "broker").start()
    try:
        settings = MqttSettings.from_url(broker.url)
        central = await EventStore.open(folder / "central.db")
        recorder = Recorder(settings, central)
        stop = asyncio.Event()
        recorder_task = asyncio.create_task(recorder.run(stop))
        await recorder.subscribed.wait()
        latencies: list[float] = []

        async def watch():
            async with settings.client("latency-probe") as client:
                await client.subscribe(settings.subscription, qos=1)
                async for message in client.messages:
                    event = parse_event(message.payload)
                    latencies.append((datetime.now(UTC) - event.at).total_seconds())
                    if len(latencies) >= n:
                        return

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.2)
        store = await EventStore.open(folder / "agent.db")
        outbox = Outbox(store)
        publisher_stop = asyncio.Event()
        publisher = asyncio.create_task(MqttPublisher(store, settings, written=outbox.written).run(publisher_stop))
        start = time.perf_counter()
        await produce(outbox, fresh_events(n))
        while recorder.stats.stored < n:
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - start
        await asyncio.wait_for(watcher, timeout=30)
        publisher_stop.set()
        stop.set()
        await asyncio.gather(publisher, recorder_task)
        await outbox.close()
        await store.close()
        await central.close()
        ms = np.array(latencies) * 1000
        return {
            "events": n,
            "seconds": round(seconds, 3),
            "events_per_second": round(n / seconds),
            "delivery_latency_ms_p50": round(float(np.percentile(ms, 50)), 1),
            "delivery_latency_ms_p99": round(float(np.percentile(ms, 99)), 1),
            "stored_by_recorder": recorder.stats.stored,
            "duplicates": recorder.stats.duplicates,
        }
    finally:
        broker.stop()


async def main_async(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report = {
            "outbox": await outbox_rate(args.events, folder),
            "end_to_end": await end_to_end(args.e2e_events, folder),
        }
    report["command"] = f"python -m benchmarks.events_throughput --events {args.events} --e2e-events {args.e2e_events}"
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--e2e-events", type=int, default=5_000)
    parser.add_argument("--out", type=Path, default=Path("results/events_throughput.json"))
    args = parser.parse_args()
    report = asyncio.run(main_async(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
