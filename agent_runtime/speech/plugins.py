"""LiveKit Agents plugins for the offline speech stack: faster-whisper STT and espeak-ng TTS.

STT is non-streaming (the session's VAD closes each utterance, `stt.StreamAdapter` hands it over); recognition runs
in a worker thread so the event loop never blocks. TTS pipes espeak-ng's WAV output as it is produced, so the
first audio leaves within tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc
from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, APIConnectionError, stt, tts, utils

from agent_runtime.speech.whisper import SAMPLE_RATE, reading_log_likelihoods, transcribe

ESPEAK_RATE = 22_050


class WhisperSTT(stt.STT):
    def __init__(self, model):
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._model = model
        self.last_seconds = 0.0  # recognition time of the last utterance (for latency breakdowns)
        self.last_confidence: float | None = None  # its confidence (the engine asks again below a floor)

    @property
    def model(self) -> str:
        return "faster-whisper-tiny.en"

    @property
    def provider(self) -> str:
        return "local"

    async def _recognize_impl(
        self, buffer: utils.AudioBuffer, *, language=NOT_GIVEN, conn_options=DEFAULT_API_CONNECT_OPTIONS
    ) -> stt.SpeechEvent:
        result = await asyncio.to_thread(transcribe, self._model, _whisper_audio(buffer))
        self.last_seconds, self.last_confidence = result.seconds, result.confidence
        confidence = 0.0 if result.confidence is None else result.confidence
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language="en", text=result.text, confidence=confidence)],
        )

    async def reading_log_likelihoods(self, buffer: utils.AudioBuffer, readings: list[str]) -> list[float]:
        """Each reading's log-probability as the transcript of `buffer` (speech.whisper.reading_log_likelihoods)."""
        return await asyncio.to_thread(reading_log_likelihoods, self._model, _whisper_audio(buffer), readings)


def _whisper_audio(buffer: utils.AudioBuffer) -> np.ndarray:
    """The buffer as Whisper takes it: 16 kHz float32 in [-1, 1]."""
    frame = rtc.combine_audio_frames(buffer)
    resampler = rtc.AudioResampler(
        input_rate=frame.sample_rate, output_rate=SAMPLE_RATE, num_channels=frame.num_channels
    )
    pcm = b"".join(bytes(f.data) for f in [*resampler.push(frame), *resampler.flush()])
    return np.frombuffer(pcm, np.int16).astype(np.float32) / 32768.0


class EspeakTTS(tts.TTS):
    def __init__(self, voice: str = "en-us", binary: str = "espeak-ng"):
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=ESPEAK_RATE, num_channels=1)
        self.voice, self.binary = voice, binary
        self.last_first_byte_seconds = 0.0  # time to the first audio chunk of the last synthesis

    @property
    def model(self) -> str:
        return f"espeak-ng:{self.voice}"

    @property
    def provider(self) -> str:
        return "local"

    def synthesize(self, text: str, *, conn_options=DEFAULT_API_CONNECT_OPTIONS) -> tts.ChunkedStream:
        return EspeakStream(tts=self, input_text=text, conn_options=conn_options)


class EspeakStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        started = time.perf_counter()
        try:
            process = await asyncio.create_subprocess_exec(
                self._tts.binary,
                "-v",
                self._tts.voice,
                "--stdout",
                " " + self.input_text,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:  # espeak-ng missing or not executable: an API error, so fallbacks can take over
            raise APIConnectionError(f"cannot start {self._tts.binary}: {exc}") from None
        output_emitter.initialize(
            request_id=utils.shortuuid(), sample_rate=ESPEAK_RATE, num_channels=1, mime_type="audio/wav"
        )
        first = True
        while chunk := await process.stdout.read(4096):
            if first:
                self._tts.last_first_byte_seconds, first = time.perf_counter() - started, False
            output_emitter.push(chunk)
        if await process.wait() != 0:
            raise APIConnectionError(f"espeak-ng failed: {(await process.stderr.read()).decode(errors='replace')}")
        output_emitter.flush()
