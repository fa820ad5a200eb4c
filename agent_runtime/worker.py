"""The LiveKit worker: `python -m agent_runtime dev|start|console` (livekit-agents 1.8, AgentServer + rtc_session).

Settings come from the environment: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET (dev/start), POLICY_CHECKPOINT
(default checkpoints/debtor_policy.pt), EVENTS_DB (the outbox, default data/outbox.db), EVENTS_MQTT_URL (optional
broker), AGENT_VOICE (espeak-ng voice, default en-us). Each job's metadata is the call's facts as JSON.

Calls map to processes the framework's default way: one process per call (job), a few idle ones prewarmed. Each
process loads its own silero VAD, tiny.en model (about 250 MB resident) and policy, so N concurrent calls cost about
N x 300 MB; metrics from several processes are summed through PROMETHEUS_MULTIPROC_DIR (telemetry.exporter).
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, JobProcess
from livekit.plugins import silero

from agent_runtime.call import CallController
from agent_runtime.compliance import require_permitted_hours
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.events.mqtt import MqttSettings
from agent_runtime.events.outbox import MqttPublisher, Outbox
from agent_runtime.events.store import EventStore
from agent_runtime.nlg import TemplateNLG
from agent_runtime.policy_llm import PolicyLLM
from agent_runtime.simulate import DEFAULT_POLICY, load_policy
from agent_runtime.speech.plugins import WhisperSTT, resilient_tts
from agent_runtime.speech.whisper import default_model
from agent_runtime.voice_sim import TURN_HANDLING

log = logging.getLogger("agent_runtime.worker")


def policy_spec() -> str:
    return os.environ.get("POLICY_CHECKPOINT", DEFAULT_POLICY)


def prewarm(process: JobProcess) -> None:
    process.userdata["vad"] = silero.VAD.load(min_silence_duration=0.2)
    process.userdata["whisper"] = default_model()
    process.userdata["policy"] = load_policy(policy_spec(), seed=0)


server = AgentServer(setup_fnc=prewarm)


@server.rtc_session(agent_name="collector")
async def entrypoint(ctx: JobContext) -> None:
    facts = CallFacts.model_validate_json(ctx.job.metadata or "{}")
    require_permitted_hours(facts, datetime.now(UTC))
    store = await EventStore.open(Path(os.environ.get("EVENTS_DB", "data/outbox.db")))
    outbox, stop = Outbox(store), asyncio.Event()
    url = os.environ.get("EVENTS_MQTT_URL")
    publisher = (
        asyncio.create_task(MqttPublisher(store, MqttSettings.from_url(url), written=outbox.written).run(stop))
        if url
        else None
    )

    async def drain_events() -> None:
        """At the end of the call: deliver what is pending (the outbox keeps it if the broker is down), close."""
        stop.set()
        if publisher is not None:
            await publisher
        await outbox.close()
        await store.close()

    ctx.add_shutdown_callback(drain_events)
    policy, version = ctx.proc.userdata["policy"]
    call = CallController(
        facts,
        policy,
        version,
        DialogueStateTracker(),
        TemplateNLG(),
        date.today(),
        outbox=outbox,
        channel="voice",
        call_id=ctx.room.name,
    )
    session = AgentSession(
        vad=ctx.proc.userdata["vad"],
        stt=WhisperSTT(ctx.proc.userdata["whisper"]),
        llm=PolicyLLM(call),
        tts=resilient_tts(os.environ.get("AGENT_VOICE", "en-us")),
        turn_handling=TURN_HANDLING,
    )
    await session.start(Agent(instructions="The reinforcement-learning policy chooses every reply."), room=ctx.room)
    await session.say(await call.open())
