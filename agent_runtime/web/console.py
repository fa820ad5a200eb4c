"""One browser tab's session: the calls it starts over its WebSocket, one at a time.

Each call is an ordinary call of the runtime (`CallServices.new_call`), so its events reach the outbox and its
metrics like any other; the tab gets the call's cards (agent_runtime.cards) as they are logged. A voice call runs the
worker's own voice session (agent_runtime.voice) with the browser as microphone and speaker; a text call runs the
same session without audio; a watched call lets a simulated debtor answer (agent_runtime.web.simulated).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from agent_runtime.call import CallController
from agent_runtime.cards import CardSink
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.services import CallServices
from agent_runtime.voice import VoiceCall
from agent_runtime.web.audio import BrowserAudioInput, BrowserAudioOutput
from agent_runtime.web.messages import EndCall, Played, SetPace, StartCall, TypedLine, WatchSimulated

log = logging.getLogger("agent_runtime.web")
TEXT_TURNS = {"turn_detection": None}  # typed lines are complete turns: nothing to detect


@dataclass(frozen=True)
class VoiceStack:
    """What every voice call of the console shares: the VAD, and factories of the recogniser and the voice."""

    vad: object
    speech_to_text: Callable[[], object]
    text_to_speech: Callable[[], object]


class ConsoleSession:
    def __init__(
        self,
        send: Callable[[dict | bytes], Awaitable[None]],
        services_for: Callable[[str | None], CallServices],
        voice: Callable[[], Awaitable[VoiceStack]],
    ):
        self.send, self.services_for, self.voice_stack = send, services_for, voice
        self.call: CallController | None = None
        self.voice: VoiceCall | None = None
        self.microphone: BrowserAudioInput | None = None
        self.speaker: BrowserAudioOutput | None = None
        self.watching: asyncio.Task | None = None
        self._pending: asyncio.Future | None = None  # the last latency update on its way to the page
        self.pace = 1.0

    async def handle(self, message) -> None:
        if isinstance(message, StartCall):
            await self.start(message)
        elif isinstance(message, WatchSimulated):
            await self.watch(message)
        elif isinstance(message, TypedLine):
            await self.typed(message.text)
        elif isinstance(message, SetPace):
            self.pace = message.pace
        elif isinstance(message, Played):
            if self.speaker is not None:
                self.speaker.page_played()
        elif isinstance(message, EndCall):
            await self.end("ended from the console")

    def audio(self, pcm: bytes) -> None:
        if self.microphone is not None:
            self.microphone.push(pcm)

    async def start(self, message: StartCall) -> None:
        await self.end("a new call started")
        services = self.services_for(message.policy)
        facts = message.facts.facts(date.today())
        self.call = services.new_call(facts, today=date.today(), channel="text", sinks=(CardSink(self.send),))
        if message.mode == "voice":
            stack = await self.voice_stack()
            self.microphone, self.speaker = BrowserAudioInput(), BrowserAudioOutput(self.send)
            self.voice = VoiceCall(
                self.call,
                vad=stack.vad,
                stt=stack.speech_to_text(),
                tts=stack.text_to_speech(),
                on_reply_latency=self._reply_latency,
            )
            self.voice.attach_audio(self.microphone, self.speaker)
        else:
            self.voice = VoiceCall(self.call, vad=None, stt=None, tts=None, turn_handling=TEXT_TURNS)
        self.voice.session.on("close", lambda event: self._closed())
        await self.voice.start()
        opening, _ = await self.voice.open()
        await self.send({"kind": "agent_line", "call_id": self.call.call_id, "text": opening})
        log.info("console call %s started (%s)", self.call.call_id, message.mode)

    async def typed(self, text: str) -> None:
        if self.voice is None or self.call is None or self.call.ended:
            await self.send({"kind": "notice", "text": "no call in progress: start one first"})
            return
        self.voice.session.interrupt()
        self.voice.session.generate_reply(user_input=text)

    async def watch(self, message: WatchSimulated) -> None:
        from agent_runtime.web.simulated import speaker, watch_simulated_call

        await self.end("a simulated call started")
        self.pace = message.pace
        services = self.services_for(message.policy)

        async def between_turns() -> None:
            await asyncio.sleep(self.pace)

        sink = CardSink(self.send, reveal_persona=message.persona is not None)
        self.watching = asyncio.create_task(
            watch_simulated_call(
                services,
                message.seed,
                message.persona,
                sink,
                between_turns,
                speaker(self.send) if message.audio else None,
            )
        )

    def _reply_latency(self, turn: int, stages: dict) -> None:
        call_id = self.call.call_id if self.call else None
        latency = {stage.value: round(ms, 1) for stage, ms in stages.items()}
        self._pending = asyncio.ensure_future(
            self.send({"kind": "latency", "call_id": call_id, "turn": turn, "latency_ms": latency})
        )

    def _closed(self) -> None:
        self._pending = asyncio.ensure_future(self.send({"kind": "session_closed"}))

    @property
    def in_call(self) -> bool:
        """A call is in progress: typed or spoken and not closed yet, or a simulated one being watched."""
        watching = self.watching is not None and not self.watching.done()
        return watching or (self.call is not None and not self.call.closed)

    async def end(self, reason: str) -> None:
        """End whatever call is in progress (its call_closed records `interrupted` unless it had ended)."""
        if self.watching is not None:
            self.watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watching
            self.watching = None
        if self.voice is not None:
            if self.microphone is not None:
                self.microphone.close()
            await self.voice.aclose(reason=reason)
        elif self.call is not None:
            await self.call.close(OutcomeKind.INTERRUPTED, reason=reason)
        self.call = self.voice = self.microphone = self.speaker = None
