"""Calls between the agent and simulated debtors, through the full audio path (agent_runtime.voice_sim) or as text.

    python -m agent_runtime simulate [--text] --calls N [--seed S] [--concurrency C] [--out DIR] [--events PATH.db]
        [--mqtt URL] [--policy CHECKPOINT|scripted:best_practice]

Each call runs the agent's own CallController (engine, policy, guard, NLG, events) against a simulated debtor
(simulator). Writes DIR/transcripts/*.txt, DIR/latency.json (count, p50, p95, max in ms per stage) and the
events (DIR/events.db unless --events; published to the broker too with --mqtt).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent_runtime.call import CallController, PolicyFn
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.engine import Decision
from agent_runtime.events.mqtt import MqttSettings
from agent_runtime.events.outbox import MqttPublisher, Outbox
from agent_runtime.events.store import EventStore
from agent_runtime.nlg import TemplateNLG

DEFAULT_POLICY = "checkpoints/debtor_policy.pt"


def load_policy(spec: str, seed: int):
    """(policy function returning (action, values), version) for a checkpoint path, `PATH@PLANNER` or a baseline.

    A planner over a history-reading world model (recurrent, transformer) keeps one call's history, so it serves one
    call at a time: the worker's one process per call, or simulate with --concurrency 1.
    """
    from simulator.env import DebtorEnv
    from training.baselines import is_checkpoint_spec, policy_with_q_values

    path, at, planner = spec.partition("@")
    version = Path(path).name + at + planner if is_checkpoint_spec(spec) else spec
    return policy_with_q_values(spec, DebtorEnv(), seed), version


@dataclass(frozen=True)
class Batch:
    """What every call of one simulation run shares."""

    policy: PolicyFn
    version: str
    tracker: DialogueStateTracker
    outbox: Outbox
    seed: int
    one_per_persona: bool = False


def new_call(batch: Batch, index: int, prefix: str):
    """Call `index` of a seeded batch: a sampled debtor (hidden traits) and the agent's controller for the call."""
    from simulator.debtor import SimulatedDebtor
    from simulator.personas import PERSONAS, SIMULATION_EPOCH, sample_debtor

    persona = PERSONAS[index % len(PERSONAS)] if batch.one_per_persona else None
    rng = np.random.default_rng(batch.seed + index)
    traits, facts = sample_debtor(rng, persona)
    call = CallController(
        facts,
        batch.policy,
        batch.version,
        batch.tracker,
        TemplateNLG(seed=batch.seed + index),
        SIMULATION_EPOCH,
        outbox=batch.outbox,
        channel="simulated",
        call_id=f"{prefix}-{batch.seed}-{index}",
    )
    return call, SimulatedDebtor(traits, facts.balance, rng), traits


async def simulate_call(batch: Batch, index: int) -> tuple[list[str], list[float], str]:
    call, debtor, traits = new_call(batch, index, "sim")
    lines = [f"agent : {await call.open()}"]
    heard, engine_ms = debtor.opening(), []
    while True:
        lines.append(f"debtor: {heard.text}" + (" [hangs up]" if heard.hang_up else ""))
        reply = await call.respond(heard.text, hang_up=heard.hang_up)
        engine_ms.append(reply.event.latencies_ms[LatencyStage.ENGINE])
        strategy = reply.event.executed_action.label if reply.event.executed_action is not None else "close"
        guard = f", guard {reply.event.guard_rule.value}" if reply.event.guard_rule else ""
        if reply.text:
            lines.append(f"agent : [{strategy}{guard}] {reply.text}")  # no timings: same seed, same transcript
        if reply.ends_call:
            break
        event = reply.event
        heard = debtor.respond(Decision(event.proposed_action, event.executed_action, event.guard_rule, event.offer))
    outcome = call.engine.outcome
    lines.append(
        f"outcome: {outcome.kind.value}, recovery {outcome.recovery(call.facts):.0%} "
        f"[hidden persona: {traits.persona.value}]"
    )
    return lines, engine_ms, outcome.kind.value


def voice_resources() -> dict:
    """What every voice call shares: the VAD, the Whisper model (loaded and warmed once) and the turn handling."""
    from livekit.plugins import silero

    from agent_runtime.speech.whisper import default_model
    from agent_runtime.voice_sim import TURN_HANDLING

    vad = silero.VAD.load(min_silence_duration=0.2)
    return {"vad": vad, "whisper": default_model(), "turn_handling": TURN_HANDLING}


async def simulate_voice_call(batch: Batch, index: int, voice: dict):
    from agent_runtime.voice_sim import voice_call

    call, debtor, traits = new_call(batch, index, "voice")
    result = await voice_call(call, debtor, **voice)
    result.transcript.append(f"outcome: {result.outcome} [hidden persona: {traits.persona.value}]")
    return result.transcript, result.latencies_ms, result.outcome, result.recording


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


async def run(args: argparse.Namespace) -> dict:
    out: Path = args.out
    (out / "transcripts").mkdir(parents=True, exist_ok=True)
    policy, version = load_policy(args.policy, args.seed)
    store = await EventStore.open(args.events or out / "events.db")
    outbox, stop = Outbox(store), asyncio.Event()
    publisher = None
    if args.mqtt:
        publisher = asyncio.create_task(
            MqttPublisher(store, MqttSettings.from_url(args.mqtt), written=outbox.written).run(stop)
        )
    tracker, latencies, outcomes = DialogueStateTracker(), {}, {}
    voice = None if args.text else voice_resources()
    slots = asyncio.Semaphore(max(1, args.concurrency))
    batch = Batch(policy, version, tracker, outbox, args.seed, args.one_per_persona)

    async def one_call(index: int) -> None:
        async with slots:
            if voice is None:
                lines, times, outcome = await simulate_call(batch, index)
                # Text mode has no audio: the end-to-end time is the engine's (DST, policy, guard and NLG).
                measured = {LatencyStage.ENGINE.value: times, LatencyStage.E2E.value: times}
            else:
                lines, measured, outcome, recording = await simulate_voice_call(batch, index, voice)
                (out / "recordings").mkdir(exist_ok=True)
                write_wav(out / "recordings" / f"call-{index:03d}.wav", recording)
        (out / "transcripts" / f"call-{index:03d}.txt").write_text("\n".join(lines) + "\n")
        for stage, values in measured.items():
            latencies.setdefault(stage, []).extend(values)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if args.print:
            print("\n".join(lines) + "\n")

    try:
        await asyncio.gather(*(one_call(index) for index in range(args.calls)))
    finally:
        stop.set()
        if publisher is not None:
            await publisher
        await outbox.close()
        await store.close()
    latency = {stage: latency_summary(values) for stage, values in latencies.items() if values}
    (out / "latency.json").write_text(json.dumps(latency, indent=2) + "\n")
    return {"calls": args.calls, "outcomes": outcomes, "latency_ms": latency}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=1, help="calls in progress at once")
    parser.add_argument(
        "--one-per-persona",
        action="store_true",
        help="cycle the hidden persona: cooperative, sad, avoidant, angry, ...",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/simulate"))
    parser.add_argument("--text", action="store_true", help="text only: skip speech synthesis and recognition")
    parser.add_argument("--events", type=Path, help="events database (default: OUT/events.db)")
    parser.add_argument("--mqtt", help="also publish the events to this broker (mqtt:// or mqtts://)")
    parser.add_argument(
        "--policy", default=DEFAULT_POLICY, help="a checkpoint, CHECKPOINT@PLANNER (e.g. @tree:2) or a baseline name"
    )
    parser.add_argument("--print", action="store_true", help="print each call's transcript")


def main(args: argparse.Namespace) -> None:
    print(json.dumps(asyncio.run(run(args)), indent=2))
