"""A call's voice session: one livekit `AgentSession` around one `CallController`, for every voice driver.

The worker (a LiveKit room), the console and the voice simulation all build their session here, so every voice call:
- answers through the policy (`PolicyLLM`), which words and logs each turn in the controller;
- reports the framework's per-turn latencies (endpointing and recognition from the user's message, speech synthesis
  and end to end from the agent's, see `ChatMessage.metrics`) and speech errors to the call's metrics;
- stops speaking when the debtor talks over it (barge-in): the VAD pauses the agent's audio at once, the debtor's
  words cut the reply short and their turn event records how much of it was heard; a backchannel or a non-speech
  sound (speech.overlap) lets the reply resume;
- ends its session once the closing line has been spoken (in a room, the room goes with it);
- writes exactly one `call_closed` however the session ends: the debtor leaving is a hang-up, the worker stopping or
  the job being cancelled is `interrupted`, an error the session could not recover from is `error`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from livekit.agents import Agent, AgentSession, llm, stt, tts
from livekit.agents.voice import SpeechHandle, io
from livekit.agents.voice.events import CloseEvent, CloseReason, ConversationItemAddedEvent, ErrorEvent
from livekit.agents.voice.io import PlaybackFinishedEvent
from livekit.agents.voice.transcription.synchronizer import TranscriptSynchronizer

from agent_runtime.call import CallController
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.policy_llm import PolicyLLM
from agent_runtime.speech.end_of_turn import TextCueTurnDetector
from agent_runtime.speech.overlap import OverlapFilter

log = logging.getLogger("agent_runtime.voice")

# The VAD closes speech after 0.2 s of silence; the text cues read the transcript so far (speech.end_of_turn): a turn
# that sounds finished ends MIN_DELAY after the last speech, one that stops on "and", "because", "the", ... or
# without Whisper's full stop waits up to the cap. On 110 paused and 110 complete Piper utterances
# (benchmarks/end_of_turn.py) this keeps the complete ones' latency (e2e p50 618 / p95 654 ms) and cuts premature
# replies in mid-sentence pauses from 76 % to 55 % (mid-clause 58 -> 20 %; a pause at a clause boundary, after a
# whole sentence, is still answered 89 % of the time). The price: 4-6 % of complete turns, those Whisper leaves
# without a full stop, wait for the cap. The trade-off chosen: no offline detector reaches 2 %, and each step
# towards it costs every reply. With v1-mini as well, 43 % and p95 1.18 s (it waits on many finished sentences);
# only a delay near the longest pause gets under 20 % (19 % at 0.9 s, p50 1.07 s). 0.45 s still bridges the 0.3 s
# pause between two sentences of one answer. No preemptive generation: the DST runs once per turn.
# Barge-in: 0.05 s of speech pauses the agent (benchmarks/barge_in.py measures the stop, about 0.1 s after the first
# sample); the pause ends 0.15 s after the sound if no words that hold the turn came (speech.overlap), and the reply
# resumes. The harness, the console's page and a LiveKit room all pause.
BARGE_IN = {"mode": "vad", "min_duration": 0.05, "resume_false_interruption": True, "false_interruption_timeout": 0.15}
TURN_HANDLING = {
    "turn_detection": TextCueTurnDetector(),
    "interruption": BARGE_IN,
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
        self.recogniser = OverlapFilter(stt, self.speaking) if stt is not None else None
        # no echo warm-up: telephone and browser audio come echo-cancelled, and the opening line must stop too
        self.session = AgentSession(
            vad=vad, stt=self.recogniser, llm=policy, tts=tts, turn_handling=turn_handling, aec_warmup_duration=None
        )
        self.ended = asyncio.Event()  # set once the call's end is logged
        self._ending: asyncio.Task | None = None
        self._synchroniser: TranscriptSynchronizer | None = None
        self.session.on("conversation_item_added", self._on_item)
        self.session.on("error", self._on_error)
        self.session.on("close", self._on_close)

    def attach_audio(self, audio_in: io.AudioInput, audio_out: io.AudioOutput, *, timed_words: bool = True) -> None:
        """Audio without a room (the console's page, the harness), before `start`. With `timed_words` (an output
        that plays in real time) the agent's words are timed against its audio as a room times them (the framework's
        `TranscriptSynchronizer`), so a reply cut short records the words heard."""
        self.session.input.audio = audio_in
        if not timed_words:
            self.session.output.audio = audio_out
            return
        self._synchroniser = TranscriptSynchronizer(next_in_chain_audio=audio_out, next_in_chain_text=None)
        self.session.output.audio = self._synchroniser.audio_output
        self.session.output.transcription = self._synchroniser.text_output

    async def start(self, **room) -> None:
        """Start the session: `room=` and `room_options=` for a LiveKit room; otherwise `attach_audio` first."""
        await self.session.start(Agent(instructions=INSTRUCTIONS), **room)
        if self.session.output.audio is not None:
            self.session.output.audio.on("playback_finished", self._on_playback_finished)

    def speaking(self) -> bool:
        """A reply is playing or paused (by a sound that may yet prove to be no interruption)."""
        speech = self.session.current_speech
        return speech is not None and not speech.done()

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

    def _on_playback_finished(self, event: PlaybackFinishedEvent) -> None:
        if event.interrupted and not self.call.ended:
            self.call.reply_cut_short(event.playback_position, event.synchronized_transcript)

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
        if self._synchroniser is not None:
            await self._synchroniser.aclose()
        if self._ending is not None:
            await self._ending
        await self.call.close(OutcomeKind.INTERRUPTED, reason=reason)
        self.ended.set()
