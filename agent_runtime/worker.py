"""The LiveKit worker: `python -m agent_runtime dev|start|console` (livekit-agents 1.8, AgentServer + rtc_session).

Settings come from the environment:
- LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET: the LiveKit server (dev/start).
- POLICY_CHECKPOINT (default checkpoints/debtor_policy.pt; `PATH@tree:2` plans each decision over the checkpoint's
  world model, see policy.planning), EVENTS_DB (the outbox, default data/outbox.db), EVENTS_MQTT_URL (optional
  broker).
- Call facts: each job's metadata is the call's facts as JSON; CALL_FACTS (the same JSON) stands in where a job has
  none, as in `console`, which needs it.
- STT_BACKEND: whisper (default; faster-whisper tiny.en, local) or openai (OPENAI_STT_MODEL, default
  gpt-4o-mini-transcribe).
- TTS_BACKEND: espeak (default; espeak-ng voice AGENT_VOICE, default en-us), piper (the local en_US-joe-medium
  voice) or openai (OPENAI_TTS_MODEL, default gpt-4o-mini-tts; OPENAI_TTS_VOICE, default ash). espeak-ng stands
  behind every voice: a failing synthesis falls back to it.
- NLG_LLM_MODEL turns on LLM phrasing of the template's wording by an OpenAI-compatible chat model at
  NLG_LLM_BASE_URL (default: the OpenAI API) within NLG_LLM_BUDGET_MS (default 300) milliseconds, after which, or
  if the rewrite fails the compliance check, the template's text is spoken (agent_runtime.phrasing).
- OPENAI_BASE_URL points the OpenAI STT/TTS at any OpenAI-compatible server. OPENAI_API_KEY is read by the OpenAI
  client from the environment only (never passed around or logged); it must be set when any OpenAI option is on.
Bad settings fail at start (`python -m agent_runtime ...` checks them before the worker runs), never mid-call.

Calls map to processes the framework's default way: one process per call (job), a few idle ones prewarmed. Each
process loads its own silero VAD, tiny.en model (about 250 MB resident; not loaded with STT_BACKEND=openai), Piper
voice where chosen (about 165 MB) and policy, so N concurrent calls cost about N x 300 MB; metrics from several
processes are summed through PROMETHEUS_MULTIPROC_DIR (telemetry.exporter).
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
from agent_runtime.phrasing import LLMPhrasing, budget_ms_from_env
from agent_runtime.policy_llm import PolicyLLM
from agent_runtime.simulate import DEFAULT_POLICY, load_policy
from agent_runtime.speech.backends import SpeechSettings
from agent_runtime.voice_sim import TURN_HANDLING

log = logging.getLogger("agent_runtime.worker")


def policy_spec() -> str:
    return os.environ.get("POLICY_CHECKPOINT", DEFAULT_POLICY)


def default_call_facts() -> CallFacts | None:
    """The facts of a call whose job carries none (CALL_FACTS), or None."""
    facts = os.environ.get("CALL_FACTS")
    return CallFacts.model_validate_json(facts) if facts else None


def check_settings(command: str) -> None:
    """Raise ValueError naming the first bad setting, so that the worker fails at start rather than mid-call."""
    speech = SpeechSettings.from_env()
    if (speech.uses_openai or os.environ.get("NLG_LLM_MODEL")) and not os.environ.get("OPENAI_API_KEY"):
        raise ValueError("an OpenAI option is on (STT_BACKEND, TTS_BACKEND or NLG_LLM_MODEL): set OPENAI_API_KEY")
    budget_ms_from_env()
    try:
        facts = default_call_facts()
    except ValueError as exc:
        raise ValueError(f"CALL_FACTS is not valid call facts: {exc}") from None
    if command == "console" and facts is None:
        raise ValueError("`console` has no job metadata: set CALL_FACTS to the call's facts as JSON")
    try:
        load_policy(policy_spec(), seed=0)
    except Exception as exc:
        raise ValueError(f"cannot load the policy {policy_spec()!r}: {exc}") from exc


def prewarm(process: JobProcess) -> None:
    speech = SpeechSettings.from_env()
    process.userdata["vad"] = silero.VAD.load(min_silence_duration=0.2)
    process.userdata["whisper"] = speech.load_local_models()
    process.userdata["speech"] = speech
    process.userdata["policy"] = load_policy(policy_spec(), seed=0)


server = AgentServer(setup_fnc=prewarm)


@server.rtc_session(agent_name="collector")
async def entrypoint(ctx: JobContext) -> None:
    facts = CallFacts.model_validate_json(ctx.job.metadata) if ctx.job.metadata else default_call_facts()
    if facts is None:
        raise ValueError("the job carries no call facts in its metadata and CALL_FACTS is not set")
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
    phrasing = LLMPhrasing.from_env()
    if phrasing is not None:
        ctx.add_shutdown_callback(phrasing.aclose)
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
        phrasing=phrasing,
    )
    speech = ctx.proc.userdata["speech"]
    session = AgentSession(
        vad=ctx.proc.userdata["vad"],
        stt=speech.speech_to_text(ctx.proc.userdata["whisper"]),
        llm=PolicyLLM(call),
        tts=speech.text_to_speech(),
        turn_handling=TURN_HANDLING,
    )
    await session.start(Agent(instructions="The reinforcement-learning policy chooses every reply."), room=ctx.room)
    await session.say(await call.open())
