"""The LiveKit worker: `python -m agent_runtime dev|start|console` (livekit-agents 1.8, AgentServer + rtc_session).

Its settings (agent_runtime.settings) are checked by `python -m agent_runtime` before the worker runs, never
mid-call: the policy (POLICY_CHECKPOINT, default the committed checkpoint, loaded without torch), the speech
engines, the events outbox and broker, LLM phrasing and /metrics (METRICS_PORT). Each job's metadata is the call's
facts as JSON; CALL_FACTS stands in where a job has none, as in `console`, which needs it.

Calls map to processes the framework's default way: one process per call (job), a few idle ones prewarmed. Each
process loads its own silero VAD, tiny.en model (about 250 MB resident; not loaded with STT_BACKEND=openai), Piper
voice where chosen (about 165 MB) and policy, so N concurrent calls cost about N x 300 MB. Their metrics are summed
through PROMETHEUS_MULTIPROC_DIR and served by the main process. A call ends its session (and deletes its room)
after the closing line; however it ends, its events are delivered (or kept in the outbox) before the job exits.
Logs are at INFO unless --log-level says otherwise, and carry no personal data at any level (agent_runtime.logs).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from datetime import UTC, date, datetime

from livekit.agents import AgentServer, JobContext, JobProcess
from livekit.agents.voice.room_io import RoomOptions
from livekit.plugins import silero

from agent_runtime.campaign import do_not_contact
from agent_runtime.cards import CardSink, room_publisher
from agent_runtime.compliance import require_permitted_hours
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.logs import protect_logs
from agent_runtime.phrasing import LLMPhrasing
from agent_runtime.policy_source import current_policy, load_policy
from agent_runtime.services import CallServices, event_outbox
from agent_runtime.settings import Settings, SettingsError, load_settings
from agent_runtime.speech.backends import SpeechSettings
from agent_runtime.voice import VoiceCall

log = logging.getLogger("agent_runtime.worker")
protect_logs()  # on import: in the worker and in every job process, before the first call logs anything


def check_settings(command: str) -> Settings:
    """The worker's settings, checked (policy included) so that it fails at start rather than mid-call."""
    settings = load_settings()
    if command == "console" and settings.call_facts is None:
        raise ValueError("`console` has no job metadata: set CALL_FACTS to the call's facts as JSON")
    try:
        load_policy(settings.policy_checkpoint)
    except Exception as exc:
        raise ValueError(f"cannot load the policy {settings.policy_checkpoint!r}: {exc}") from exc
    return settings


def number_blocked(settings: Settings, facts: CallFacts) -> str | None:
    """Why the number this job would talk to is on the do-not-contact list of the central store, or None."""
    key = settings.identity_key()
    if facts.phone_number is None or key is None:
        return None
    return do_not_contact(settings.central_store(), facts.phone_number, key)


def prewarm(process: JobProcess) -> None:
    from telemetry.metrics import RuntimeMetrics

    protect_logs()  # the job process's handlers exist by now
    settings = load_settings()
    speech = SpeechSettings.of(settings)
    process.userdata["settings"] = settings
    process.userdata["vad"] = silero.VAD.load(min_silence_duration=0.2)
    process.userdata["whisper"] = speech.load_local_models()
    process.userdata["speech"] = speech
    process.userdata["policy"] = load_policy(settings.policy_checkpoint)
    process.userdata["tracker"] = DialogueStateTracker(warm=True)
    process.userdata["metrics"] = RuntimeMetrics()  # multiprocess files under PROMETHEUS_MULTIPROC_DIR


def _drain_seconds() -> int:
    try:
        return load_settings().drain_seconds
    except SettingsError:  # `python -m agent_runtime` reports it before the worker runs; --help needs no settings
        return Settings.model_fields["drain_seconds"].default


# On SIGTERM the worker takes no new job and lets calls in progress run DRAIN_SECONDS; what is left is shut down,
# and each job's shutdown callback closes its call (`interrupted`) and delivers its events.
server = AgentServer(setup_fnc=prewarm, log_level="INFO", drain_timeout=_drain_seconds())


@server.rtc_session(agent_name="collector")
async def entrypoint(ctx: JobContext) -> None:
    settings: Settings = ctx.proc.userdata["settings"]
    facts = CallFacts.model_validate_json(ctx.job.metadata) if ctx.job.metadata else settings.call_facts
    if facts is None:
        raise ValueError("the job carries no call facts in its metadata and CALL_FACTS is not set")
    require_permitted_hours(facts, datetime.now(UTC))
    metrics = ctx.proc.userdata["metrics"]
    if reason := number_blocked(settings, facts):  # the dispatcher checked; the list may have grown since
        metrics.count_do_not_contact_violation()
        log.warning("call to account %s not started: %s", facts.account_id, reason)
        await ctx.delete_room()  # hangs up the outbound SIP leg the dispatcher started
        ctx.shutdown(reason="do not contact")
        return
    mqtt = settings.mqtt(settings.events_mqtt_url) if settings.events_mqtt_url else None
    resources = contextlib.AsyncExitStack()
    outbox = await resources.enter_async_context(
        event_outbox(settings.events_db, mqtt, settings=settings, on_backlog=metrics.outbox_backlog.set)
    )
    phrasing = LLMPhrasing.from_settings(settings)
    if phrasing is not None:
        resources.push_async_callback(phrasing.aclose)
    # between calls: a newly promoted (or rolled back) registry version reaches this call, never one in progress
    policy = ctx.proc.userdata["policy"] = current_policy(ctx.proc.userdata["policy"])
    services = CallServices(
        policy,
        ctx.proc.userdata["tracker"],
        metrics,
        sinks=(outbox,),
        phrasing=phrasing,
        exploration=settings.exploration(),  # live calls explore, boundedly, so logged calls can judge a candidate
    )
    cards = CardSink(room_publisher(ctx.room))  # the same cards as the web console's
    seed = secrets.randbits(32)  # the call's own exploration stream
    call = services.new_call(
        facts, today=date.today(), channel="voice", call_id=ctx.room.name, sinks=(cards,), seed=seed
    )
    speech: SpeechSettings = ctx.proc.userdata["speech"]
    voice = VoiceCall(
        call,
        vad=ctx.proc.userdata["vad"],
        stt=speech.speech_to_text(ctx.proc.userdata["whisper"]),
        tts=speech.text_to_speech(),
    )

    async def end_call(reason: str) -> None:
        """However the job ends: the call's end is logged, then its events are delivered (or kept), then closed."""
        await voice.aclose(reason=f"job shutdown: {reason}")
        await resources.aclose()

    ctx.add_shutdown_callback(end_call)
    await voice.start(room=ctx.room, room_options=RoomOptions(delete_room_on_close=True))
    await voice.open()
