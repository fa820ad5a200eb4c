"""The full audio path in a real AgentSession: debtor speech (espeak-ng, en-gb voice) as 20 ms frames -> silero VAD ->
faster-whisper tiny.en -> dialogue engine + policy -> NLG -> espeak-ng (en-us) -> captured agent audio."""

import asyncio
import subprocess
import time
from datetime import date

import numpy as np
from livekit import rtc
from livekit.agents import Agent, AgentSession
from livekit.agents.voice import io
from livekit.plugins import silero

from agent_runtime.call import CallController
from agent_runtime.contracts.actions import Action
from agent_runtime.nlg import TemplateNLG
from agent_runtime.policy_llm import PolicyLLM
from agent_runtime.speech.plugins import EspeakTTS, WhisperSTT
from agent_runtime.speech.whisper import SAMPLE_RATE, default_model

FRAME = SAMPLE_RATE // 50


def speech_pcm(text: str, voice: str = "en-gb") -> np.ndarray:
    wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True).stdout
    raw = subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed", "-b", "16", "-c", "1", "-"],
        input=wav,
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.int16)


class WavInput(io.AudioInput):
    """Frames of a prepared signal, paced at `speed` x real time, then the stream ends."""

    def __init__(self, pcm: np.ndarray, speed: float = 2.0):
        super().__init__(label="wav")
        self.pcm, self.speed, self.position = pcm, speed, 0

    async def __anext__(self) -> rtc.AudioFrame:
        if self.position >= len(self.pcm):
            raise StopAsyncIteration
        chunk = self.pcm[self.position : self.position + FRAME]
        chunk = np.pad(chunk, (0, FRAME - len(chunk)))
        self.position += FRAME
        await asyncio.sleep(0.02 / self.speed)
        return rtc.AudioFrame(data=chunk.tobytes(), sample_rate=SAMPLE_RATE, num_channels=1, samples_per_channel=FRAME)


class CaptureAudioOutput(io.AudioOutput):
    def __init__(self):
        super().__init__(label="capture", capabilities=io.AudioOutputCapabilities(pause=False))
        self.frames: list[rtc.AudioFrame] = []
        self.first_audio_at: float | None = None
        self._segment = 0.0

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._segment == 0.0:
            self.on_playback_started(created_at=time.time())
        if self.first_audio_at is None:
            self.first_audio_at = time.monotonic()
        self._segment += frame.duration
        self.frames.append(frame)

    def flush(self) -> None:
        super().flush()
        self.on_playback_finished(playback_position=self._segment, interrupted=False)
        self._segment = 0.0

    def clear_buffer(self) -> None:
        self.on_playback_finished(playback_position=self._segment, interrupted=True)
        self._segment = 0.0


async def test_debtor_speech_gets_a_spoken_answer_with_the_policys_strategy(facts, tracker):
    def policy(state):
        return int(Action.OFFER_PAYMENT_PLAN), None

    call = CallController(facts, policy, "test", tracker, TemplateNLG(seed=0), date(2026, 1, 5))
    silence = np.zeros(SAMPLE_RATE, np.int16)
    pcm = np.concatenate([silence, speech_pcm("Is there some kind of payment plan I could do?"), silence, silence])
    output = CaptureAudioOutput()
    session = AgentSession(
        vad=silero.VAD.load(),
        stt=WhisperSTT(default_model()),
        llm=PolicyLLM(call),
        tts=EspeakTTS(),
        turn_handling={
            "turn_detection": "vad",
            "interruption": {"mode": "vad"},
            "preemptive_generation": {"enabled": False},
            "endpointing": {"min_delay": 0.2},
        },
    )
    session.input.audio = WavInput(pcm)
    session.output.audio = output
    await session.start(Agent(instructions="unused: the policy chooses"))
    try:
        deadline = time.monotonic() + 60
        while not (output.frames and call.engine.turns >= 1) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
    finally:
        await session.aclose()
    heard = call.engine.history.readings[0]
    assert heard.intent.value == "willing"
    assert call.engine.history.actions == [Action.OFFER_PAYMENT_PLAN]
    spoken_seconds = sum(f.duration for f in output.frames)
    assert spoken_seconds > 1.0  # the agent's offer was synthesised and played
