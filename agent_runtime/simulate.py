"""Calls between the agent and simulated debtors, through the full audio path (agent_runtime.voice_sim) or as text.

    python -m agent_runtime simulate [--text] --calls N [--seed S] [--concurrency C] [--out DIR] [--events PATH.db]
        [--mqtt URL] [--policy SPEC] [--one-per-persona] [--print] [--explain] [--metrics-port P] [--pace S]

Part of the runtime's simulation harness: each call is the agent's own CallController, built the way the worker
builds one (agent_runtime.services: the same events outbox and runtime metrics), talking to a seeded simulated
debtor (simulator.calls). Writes DIR/transcripts/*.txt, DIR/latency.json (count, p50, p95, max in ms per stage),
DIR/metrics.prom (the run's runtime metrics in Prometheus' text format) and the events (DIR/events.db unless
--events; published to the broker too with --mqtt). `--calls 0` runs calls until stopped (Ctrl-C or SIGTERM; the
call in progress is closed as interrupted), for example to feed dashboards through `--metrics-port`. A run into an
events database that already holds calls of its seed (text and voice calls apart) is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from agent_runtime.contracts.events import Event, TurnEvent
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.events.store import stored_call_ids
from agent_runtime.policy_source import DEFAULT_POLICY, load_policy
from agent_runtime.services import CallServices, event_outbox
from agent_runtime.settings import load_settings
from simulator.calls import simulated_debtor, talk
from simulator.personas import PERSONAS


def write_wav(path: Path, pcm: np.ndarray) -> None:
    import wave

    from agent_runtime.speech.whisper import SAMPLE_RATE

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.astype(np.int16).tobytes())


def latency_summary(samples: list[float]) -> dict:
    x = np.asarray(samples)
    return {
        "count": int(x.size),
        "p50": round(float(np.percentile(x, 50)), 3),
        "p95": round(float(np.percentile(x, 95)), 3),
        "max": round(float(x.max()), 3),
    }


def voice_resources() -> dict:
    """What every voice call shares: the VAD, the Whisper model (loaded and warmed once) and the turn handling."""
    from livekit.plugins import silero

    from agent_runtime.speech.whisper import default_model
    from agent_runtime.voice import TURN_HANDLING

    vad = silero.VAD.load(min_silence_duration=0.2)
    return {"vad": vad, "whisper": default_model(), "turn_handling": TURN_HANDLING}


class TurnRecord(list):
    """A call's own sink: keeps its turn events, for the latency summary."""

    async def add(self, event: Event) -> None:
        if isinstance(event, TurnEvent):
            self.append(event)


def require_new_calls(events: Path, of_this_run: Callable[[str], bool], options: str) -> None:
    """Refuse a simulated run into an events database that holds calls of this run already. Seeded runs repeat
    their call ids but not their event ids, so the insert, idempotent on event ids, would keep both: two call_opened
    and two call_closed per call, which replay cannot use. Refused rather than made idempotent: a second run with
    the same seeds but another policy makes other calls under the same ids, and keeping the first run's instead
    would lose them without a word."""
    logged = sorted(call_id for call_id in stored_call_ids(events) if of_this_run(call_id))
    if logged:
        raise SystemExit(
            f"{events} already holds {len(logged)} call(s) of this run, e.g. {logged[0]}: logged twice, replay "
            f"could use none of them; choose another {options}"
        )


async def run(args: argparse.Namespace) -> dict:
    from prometheus_client import CollectorRegistry, generate_latest

    from telemetry.metrics import RuntimeMetrics

    if args.calls < 0:
        raise SystemExit("--calls must be >= 0 (0: until stopped)")
    try:
        policy = load_policy(args.policy)  # a bad spec or checkpoint: refused before anything is written
    except ValueError as exc:
        raise SystemExit(f"error: --policy: {exc}") from None
    events = args.events or args.out / "events.db"
    call_prefix = f"{'sim' if args.text else 'voice'}-{args.seed}-"  # then the call's index
    require_new_calls(events, lambda call_id: call_id.startswith(call_prefix), "--seed, --out or --events")
    settings = load_settings()
    out: Path = args.out
    (out / "transcripts").mkdir(parents=True, exist_ok=True)
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry)
    if args.metrics_port:
        from telemetry.exporter import serve_metrics

        serve_metrics(args.metrics_port, registry=registry)
    latencies: dict[str, list[float]] = {}
    outcomes: dict[str, int] = {}
    voice = None if args.text else voice_resources()
    slots = asyncio.Semaphore(max(1, args.concurrency))
    mqtt = settings.mqtt(args.mqtt) if args.mqtt else None
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)

    async with event_outbox(events, mqtt, settings=settings, on_backlog=metrics.outbox_backlog.set) as outbox:
        services = CallServices(policy, DialogueStateTracker(warm=True), metrics, sinks=(outbox,))

        async def one_call(index: int) -> None:
            persona = PERSONAS[index % len(PERSONAS)] if args.one_per_persona else None
            who = simulated_debtor(args.seed + index, persona)
            turns = TurnRecord()
            call = who.controller(services, f"{call_prefix}{index}", sinks=(turns,))
            try:
                if voice is None:
                    pace = (lambda: asyncio.sleep(args.pace)) if args.pace else None  # traffic for dashboards
                    lines = await talk(call, who, explain=args.explain, between_turns=pace)
                    times = [event.latencies_ms[LatencyStage.ENGINE] for event in turns]
                    measured = {LatencyStage.ENGINE.value: times, LatencyStage.E2E.value: times}
                else:
                    from agent_runtime.voice_sim import voice_call

                    result = await voice_call(call, who, **voice)
                    lines, measured = result.transcript, result.latencies_ms
                    (out / "recordings").mkdir(exist_ok=True)
                    write_wav(out / "recordings" / f"call-{index:03d}.wav", result.recording)
            finally:
                await call.close(OutcomeKind.INTERRUPTED, reason="simulation stopped")  # no-op if the call ended
            outcome = call.engine.outcome
            lines.append(
                f"outcome: {outcome.kind.value}, recovery {outcome.recovery(call.facts):.0%} "
                f"[hidden persona: {who.traits.persona.value}]"
            )
            (out / "transcripts" / f"call-{index:03d}.txt").write_text("\n".join(lines) + "\n")
            for stage, values in measured.items():
                latencies.setdefault(stage, []).extend(values)
            outcomes[outcome.kind.value] = outcomes.get(outcome.kind.value, 0) + 1
            if args.print:
                print("\n".join(lines) + "\n", flush=True)

        async def limited(index: int) -> None:
            async with slots:
                await one_call(index)

        async def every_call() -> None:
            if args.calls:
                await asyncio.gather(*(limited(index) for index in range(args.calls)))
            else:
                for index in itertools.count():
                    await one_call(index)

        work, stopper = asyncio.create_task(every_call()), asyncio.create_task(stopping.wait())
        await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
        work.cancel()  # a stop signal: the calls in progress close as interrupted
        stopper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
    latency = {stage: latency_summary(values) for stage, values in latencies.items() if values}
    (out / "latency.json").write_text(json.dumps(latency, indent=2) + "\n")
    (out / "metrics.prom").write_bytes(generate_latest(registry))
    return {"calls": sum(outcomes.values()), "outcomes": outcomes, "latency_ms": latency}


Number = TypeVar("Number", int, float)


def number_within(kind: type[Number], low: Number, high: Number | None = None) -> Callable[[str], Number]:
    """An argparse type: a `kind` number from `low` to `high`, so that a bad value is a usage error naming the
    option before anything is written, not a traceback or a run that does nothing."""

    def parse(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if kind is int else 'a number'}: {text!r}") from None
        if not (low <= value and (high is None or value <= high)):  # written so that nan fails too
            allowed = f">= {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"{text} is not {allowed}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calls", type=number_within(int, 0), default=4, help="calls to run (0: until stopped)")
    parser.add_argument(
        "--seed", type=number_within(int, 0), default=0, help="call i talks to the simulated debtor of seed SEED + i"
    )
    parser.add_argument("--concurrency", type=number_within(int, 1), default=1, help="calls in progress at once")
    parser.add_argument(
        "--one-per-persona",
        action="store_true",
        help="cycle the hidden persona: cooperative, sad, avoidant, angry, ...",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/simulate"), help="transcripts, latency and metrics")
    parser.add_argument("--text", action="store_true", help="text only: skip speech synthesis and recognition")
    parser.add_argument("--events", type=Path, help="events database, OUT/events.db when not given")
    parser.add_argument("--mqtt", help="also publish the events to this broker (mqtt:// or mqtts://)")
    parser.add_argument(
        "--policy", default=DEFAULT_POLICY, help="a checkpoint, CHECKPOINT@PLANNER (e.g. @tree:2) or a baseline name"
    )
    parser.add_argument("--print", action="store_true", help="print each call's transcript")
    parser.add_argument(
        "--explain", action="store_true", help="text mode: show the DST's reading of each debtor line and the offers"
    )
    parser.add_argument(
        "--metrics-port", type=number_within(int, 1, 65535), help="serve the run's metrics on 127.0.0.1:PORT/metrics"
    )
    parser.add_argument(
        "--pace", type=number_within(float, 0), default=0.0, help="seconds to wait after each turn (traffic for demos)"
    )


def options(**values) -> argparse.Namespace:
    """The command's options with its defaults, `values` (by option name, e.g. calls=12) replacing some; for
    benchmarks that run simulations in-process."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    unknown = set(values) - set(vars(parser.parse_args([])))
    if unknown:
        raise TypeError(f"simulate has no options {sorted(unknown)}")
    return argparse.Namespace(**{**vars(parser.parse_args([])), **values})


def main(args: argparse.Namespace) -> None:
    print(json.dumps(asyncio.run(run(args)), indent=2))
