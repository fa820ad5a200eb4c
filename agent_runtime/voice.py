"""A call's voice session: one livekit `AgentSession` around one `CallController`, for every voice driver.

The worker (a LiveKit room), the console and the voice simulation all build their session here, so every voice call:
- answers through the policy (`PolicyLLM`), which words and logs each turn in the controller;
- reports the framework's per-turn latencies (endpointing and recognition from the user's message, speech synthesis
  and end to end from the agent's, see `ChatMessage.metrics`) and speech errors to the call's metrics;
- ends its session once the closing line has been spoken (in a room, the room goes with it);
- writes exactly one `call_closed` however the session ends: the debtor leaving is a hang-up, the worker stopping or
  the job being cancelled is `interrupted`, an error the session could not recover from is `error`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from livekit.agents import Agent, AgentSession, llm, stt, tts
from livekit.agents.voice import SpeechHandle
from livekit.agents.voice.events import CloseEvent, CloseReason, ConversationItemAddedEvent, ErrorEvent

from agent_runtime.call import CallController
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.policy_llm import PolicyLLM
from agent_runtime.speech.end_of_turn import TextCueTurnDetector

log = logging.getLogger("agent_runtime.voice")

# The VAD closes speech after 0.2 s of silence; the text cues read the transcript so far (speech.end_of_turn): a turn
# that sounds finished ends MIN_DELAY after the last speech, one that stops on "and", "because", "the", ... waits up
# to the cap. On 110 paused and 110 complete Piper utterances (benchmarks/end_of_turn.py) this keeps the complete
# ones' latency (e2e p50 617 / p95 650 ms) and cuts premature replies in mid-sentence pauses from 75 % to 66 %
# (mid-clause 58 -> 44 %). No offline detector reaches 2 %: v1-mini waits on many finished sentences (p95 1.2 s at
# this cap) and still answers 45 %; only a delay near the longest pause does (13.6 % at 0.9 s, p50 1.07 s). 0.45 s
# still bridges the 0.3 s pause between two sentences of one answer. No preemptive generation: the DST runs once
# per turn.
TURN_HANDLING = {
    "turn_detection": TextCueTurnDetector(),
    "interruption": {"mode": "vad"},
    "preemptive_generation": {"enabled": False},
    "endpointing": {"min_delay": 0.45, "max_delay": 1.0},
}
INSTRUCTIONS = "The reinforcement-learning policy chooses every reply."
# ChatMessage.metrics keys (seconds) of the agent's message -> the contract's latency stages; the user message's
# stages (endpointing, recognition) are in the turn event already (policy_llm)
AGENT_STAGES = {"tts_node_ttfb": LatencyStage.TTS_FIRST_BYTE, "e2e_latency": LatencyStage.E2E}


class VoiceCall:
    """The session of one call; `start` it (in a room, or with the session's audio input and output set first), and
    `aclose` it on the way out (idempotent: the call keeps the first end it got)."""

    def __init__(
        self,
        call: CallController,
        *,
        vad,
        stt: stt.STT | None,
        tts: tts.TTS | None,
        turn_handling: dict = TURN_HANDLING,
        on_reply_latency: Callable[[int, dict[LatencyStage, float]], None] | None = None,
    ):
        """`on_reply_latency(turn, stages)` hears a reply's stages measured once it has been spoken (speech
        synthesis, end to end), after its turn event was written (a console shows them on the turn's card)."""
        self.call = call
        self.on_reply_latency = on_reply_latency
        policy = PolicyLLM(call, recogniser=stt)
        self.session = AgentSession(vad=vad, stt=stt, llm=policy, tts=tts, turn_handling=turn_handling)
        self.ended = asyncio.Event()  # set once the call's end is logged
        self._ending: asyncio.Task | None = None
        self.session.on("conversation_item_added", self._on_item)
        self.session.on("error", self._on_error)
        self.session.on("close", self._on_close)

    async def start(self, **room) -> None:
        """Start the session: `room=` and `room_options=` for a LiveKit room; otherwise set the session's audio
        input and output first."""
        await self.session.start(Agent(instructions=INSTRUCTIONS), **room)

    async def open(self) -> tuple[str, SpeechHandle]:
        """Open the call and speak its opening line; the handle completes when it has played."""
        opening = await self.call.open()
        return opening, self.session.say(opening)

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if not isinstance(item, llm.ChatMessage) or item.role != "assistant":
            return
        measured = {
            stage: seconds * 1000
            for key, stage in AGENT_STAGES.items()
            if (seconds := (item.metrics or {}).get(key)) is not None
        }
        for stage, milliseconds in measured.items():
            self.call.record_latency(stage, milliseconds)
        if measured and self.on_reply_latency is not None and self.call.last_event is not None:
            self.on_reply_latency(self.call.last_event.turn, measured)
        if self.call.ended:
            self.session.shutdown(drain=False)  # the closing line has been spoken: nothing more to say or hear

    def _on_error(self, event: ErrorEvent) -> None:
        kind = getattr(event.error, "type", "session_error")
        component = {"llm_error": "policy"}.get(kind, kind.removesuffix("_error"))
        log.warning("%s error in call %s: %s", component, self.call.call_id, event.error)
        self.call.record_error(component)

    def _on_close(self, event: CloseEvent) -> None:
        self._ending = asyncio.create_task(self._end(event))

    async def _end(self, event: CloseEvent) -> None:
        if event.reason is CloseReason.PARTICIPANT_DISCONNECTED:
            await self.call.hang_up()
        elif event.reason is CloseReason.ERROR:
            await self.call.close(OutcomeKind.ERROR, reason=str(event.error))
        else:
            await self.call.close(OutcomeKind.INTERRUPTED, reason=f"session closed: {event.reason.value}")
        self.ended.set()

    async def aclose(self, reason: str = "session closed") -> None:
        """Close the session and make sure the call's end is logged."""
        await self.session.aclose()
        if self._ending is not None:
            await self._ending
        await self.call.close(OutcomeKind.INTERRUPTED, reason=reason)
        self.ended.set()
