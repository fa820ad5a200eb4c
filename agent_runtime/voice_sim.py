"""Voice calls with simulated debtors through the full audio path, no LiveKit server needed (the harness).

The debtor's words are synthesised with espeak-ng (en-gb, a different voice from the agent's en-us) and fed as
20 ms frames at real time into the same voice session the worker runs (agent_runtime.voice: silero VAD ->
faster-whisper tiny.en -> engine + policy -> NLG -> espeak-ng TTS); the agent's audio is captured. End-to-end latency
runs from the last debtor speech frame to the first agent audio frame; STT, engine and TTS first byte are measured
where they happen, and "endpointing" is the remainder (VAD end-of-turn plus framework overhead).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc
from livekit.agents import stt, tts
from livekit.agents.voice import io

from agent_runtime.call import CallController
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.speech.plugins import EspeakTTS, WhisperSTT
from agent_runtime.speech.whisper import SAMPLE_RATE
from agent_runtime.voice import TURN_HANDLING, VoiceCall
from simulator.calls import describe_turn
from simulator.voices import espeak_wav

FRAME = SAMPLE_RATE // 50
SLICE = SAMPLE_RATE // 100  # the paced loudspeaker plays 10 ms at a time
REPLY_TIMEOUT = 20.0
DEBTOR_VOICE = "en-gb"
SPEECH_THRESHOLD = 300  # int16 amplitude above which a sample counts as speech (about -40 dBFS)


def synthesise(text: str, voice: str = DEBTOR_VOICE) -> np.ndarray:
    """espeak-ng speech as 16 kHz mono int16, leading and trailing silence cut so that the end of the buffer is the
    last speech sample (the start of every latency measurement)."""
    raw = subprocess.run(  # -D: sox dithers a resampled 16-bit output with fresh noise each run, unless told not to
        ["sox", "-D", "-t", "wav", "-", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed", "-b", "16", "-c1", "-"],
        input=espeak_wav(voice, text),
        capture_output=True,
        check=True,
    ).stdout
    pcm = np.frombuffer(raw, np.int16)
    voiced = np.flatnonzero(np.abs(pcm.astype(np.int32)) > SPEECH_THRESHOLD)
    return pcm[voiced[0] : voiced[-1] + 1] if voiced.size else pcm


class DebtorAudioInput(io.AudioInput):
    """Queued utterances, silence in between, one 20 ms frame every 20 ms of wall time."""

    def __init__(self):
        super().__init__(label="debtor")
        self.utterances: deque[np.ndarray] = deque()
        self.current: np.ndarray | None = None
        self.position = 0
        self.speech_started_at: float | None = None  # monotonic time the utterance's first sample came in
        self.speech_ended_at: float | None = None  # monotonic time the last speech frame was delivered
        self.closed = False
        self._next = time.monotonic()

    def say(self, pcm: np.ndarray) -> None:
        self.utterances.append(pcm)

    async def __anext__(self) -> rtc.AudioFrame:
        if self.closed:
            raise StopAsyncIteration
        self._next += 0.02
        await asyncio.sleep(max(0.0, self._next - time.monotonic()))
        if self.current is None and self.utterances:
            self.current, self.position = self.utterances.popleft(), 0
            self.speech_started_at = time.monotonic() - FRAME / SAMPLE_RATE  # a frame comes in once it is whole
        if self.current is not None:
            chunk = self.current[self.position : self.position + FRAME]
            self.position += FRAME
            if self.position >= len(self.current):
                self.current = None
                self.speech_ended_at = time.monotonic()
            chunk = np.pad(chunk, (0, FRAME - len(chunk)))
        else:
            chunk = np.zeros(FRAME, np.int16)
        return rtc.AudioFrame(data=chunk.tobytes(), sample_rate=SAMPLE_RATE, num_channels=1, samples_per_channel=FRAME)


class AgentAudioCapture(io.AudioOutput):
    """Keeps the agent's audio (resampled to 16 kHz by the framework) and when each reply started and ended.

    `paced`: a loudspeaker that plays in real time, 10 ms at a time (barge-in): `played` holds the monotonic (start,
    end) of each stretch of audio actually played, so the moment the agent fell silent is known. Unpaced, a reply
    counts as played as soon as the framework has handed it over (the latency harness). Either can pause."""

    def __init__(self, *, paced: bool = False):
        super().__init__(label="capture", capabilities=io.AudioOutputCapabilities(pause=True), sample_rate=SAMPLE_RATE)
        self.paced = paced
        self.segments: list[np.ndarray] = []
        self.first_frame_at: float | None = None
        self.finished = asyncio.Event()
        self.played: list[tuple[float, float]] = []
        self.interruptions: list[float] = []  # seconds of each interrupted reply that had played
        self.stops: list[float] = []  # monotonic times the framework paused or cut the audio
        self._current: list[np.ndarray] = []
        self._played = 0.0
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._cleared = False
        self._flushed_while_paused = False

    def expect_reply(self) -> None:
        self.first_frame_at = None
        self.finished.clear()

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._played == 0.0 and not self._current:
            self._cleared = False
            self.on_playback_started(created_at=time.time())
        if self.first_frame_at is None:
            self.first_frame_at = time.monotonic()
        pcm = np.frombuffer(bytes(frame.data), np.int16)
        step = SLICE if self.paced else max(1, len(pcm))
        for start in range(0, len(pcm), step):
            await self._resumed.wait()
            if self._cleared:
                return
            piece = pcm[start : start + step]
            began = time.monotonic()
            self._current.append(piece)
            self._played += len(piece) / SAMPLE_RATE
            if self.paced:
                await asyncio.sleep(len(piece) / SAMPLE_RATE)
                self._mark_played(began, time.monotonic())

    def _mark_played(self, began: float, ended: float) -> None:
        if self.played and began - self.played[-1][1] < 0.005:  # contiguous: one stretch
            self.played[-1] = (self.played[-1][0], ended)
        else:
            self.played.append((began, ended))

    def pause(self) -> None:
        super().pause()
        self.stops.append(time.monotonic())
        self._resumed.clear()

    def resume(self) -> None:
        super().resume()
        self._resumed.set()
        if self._flushed_while_paused:  # the pause was false: the rest had been handed over, it plays out now
            self._flushed_while_paused = False
            self._finish(False)

    def _finish(self, interrupted: bool) -> None:
        if not self._current:  # an empty flush finishes nothing: the reply's audio may still be on its way
            return
        if interrupted:
            self.interruptions.append(self._played)
        self.on_playback_finished(playback_position=self._played, interrupted=interrupted)
        self.segments.append(np.concatenate(self._current))
        self._current, self._played = [], 0.0
        self.finished.set()

    async def reply_played(self, timeout: float) -> bool:
        """Wait until the expected reply has played; False if no audio of it came within `timeout` seconds."""
        try:
            await asyncio.wait_for(self.finished.wait(), timeout)
        except TimeoutError:
            return False
        return self.first_frame_at is not None

    def flush(self) -> None:
        super().flush()
        if not self._resumed.is_set():  # paused: what is left is held until a resume plays it or a clear drops it
            self._flushed_while_paused = True
            return
        self._finish(False)

    def clear_buffer(self) -> None:
        self.stops.append(time.monotonic())
        self._cleared, self._flushed_while_paused = True, False
        self._resumed.set()  # a paused reply that is cut short is over
        self._finish(True)


@dataclass
class VoiceCallResult:
    transcript: list[str]
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    recording: np.ndarray | None = None
    outcome: str = ""


@contextlib.asynccontextmanager
async def audio_session(
    call: CallController,
    *,
    vad,
    stt: stt.STT,
    tts: tts.TTS,
    turn_handling: dict = TURN_HANDLING,
    errors: list | None = None,
    paced: bool = False,
) -> AsyncIterator[tuple[VoiceCall, DebtorAudioInput, AgentAudioCapture]]:
    """The call's voice session (agent_runtime.voice, as the worker runs it) with the debtor's audio going in as
    frames and the agent's speech captured; the session's errors are collected into `errors` where given. Closed on
    leaving, which logs the call's end if nothing else did.

    `paced`: the agent's speech plays in real time on a loudspeaker that can pause, so a barge-in stops it."""
    audio_in, audio_out = DebtorAudioInput(), AgentAudioCapture(paced=paced)
    voice = VoiceCall(call, vad=vad, stt=stt, tts=tts, turn_handling=turn_handling)
    if errors is not None:
        voice.session.on("error", errors.append)
    voice.attach_audio(audio_in, audio_out, timed_words=paced)
    await voice.start()
    try:
        yield voice, audio_in, audio_out
    finally:
        audio_in.closed = True
        await voice.aclose(reason="simulation finished")


async def voice_call(call: CallController, who, *, vad, whisper, turn_handling: dict) -> VoiceCallResult:
    """`who` (simulator.calls.SimulatedDebtorCall) answers the phone and, once reached, is the debtor."""
    recogniser, speaker = WhisperSTT(whisper), EspeakTTS("en-us")
    result = VoiceCallResult(transcript=[])
    timeline: list[np.ndarray] = []
    async with audio_session(call, vad=vad, stt=recogniser, tts=speaker, turn_handling=turn_handling) as (
        voice,
        audio_in,
        audio_out,
    ):
        audio_out.expect_reply()
        opening, speech = await voice.open()
        await speech
        if not await audio_out.reply_played(REPLY_TIMEOUT):
            raise RuntimeError(f"the agent's opening produced no audio within {REPLY_TIMEOUT:.0f} s")
        timeline += audio_out.segments[-1:]
        result.transcript.append(f"agent : {opening}")
        heard = who.next_line(None)
        while not call.ended:
            if heard.hang_up:
                result.transcript.append(f"debtor: {heard.text} [hangs up]")
                await call.respond(heard.text, hang_up=True)
                break
            speech = synthesise(heard.text)
            timeline.append(speech)
            turns = call.turns_answered
            audio_out.expect_reply()
            audio_in.say(speech)
            deadline = time.monotonic() + REPLY_TIMEOUT + len(speech) / SAMPLE_RATE
            while call.turns_answered == turns and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            if call.turns_answered == turns:
                result.transcript.append(f"debtor: {heard.text}  [not heard: no reply within the timeout]")
                await call.hang_up()
                break
            event = call.last_event
            result.transcript.append(f"debtor: {heard.text}  [heard: {event.user_text!r}]")
            if event.agent_text and not await audio_out.reply_played(REPLY_TIMEOUT):
                result.transcript.append(f"agent : [no audio within the timeout] {event.agent_text}")
            elif event.agent_text:
                timeline += audio_out.segments[-1:]
                e2e = (audio_out.first_frame_at - audio_in.speech_ended_at) * 1000
                stages = {
                    LatencyStage.E2E: e2e,
                    LatencyStage.STT: recogniser.last_seconds * 1000,
                    LatencyStage.ENGINE: event.latencies_ms[LatencyStage.ENGINE],
                    LatencyStage.TTS_FIRST_BYTE: speaker.last_first_byte_seconds * 1000,
                }
                stages[LatencyStage.ENDPOINTING] = max(
                    0.0, e2e - sum(v for k, v in stages.items() if k is not LatencyStage.E2E)
                )
                for stage, value in stages.items():
                    result.latencies_ms.setdefault(stage.value, []).append(value)
                timing = ", ".join(f"{stage.value} {value:.0f}" for stage, value in stages.items())
                result.transcript.append(f"agent : [{describe_turn(event)}; ms: {timing}] {event.agent_text}")
            if event.ends_call:
                break
            heard = who.next_line(event)
    outcome = call.engine.outcome
    result.outcome = outcome.kind.value if outcome else "unfinished"
    result.recording = np.concatenate(timeline) if timeline else np.zeros(0, np.int16)
    return result
