"""Which speech engines a call uses, chosen by the settings (agent_runtime.settings).

Local engines are the default and need no network: faster-whisper tiny.en for STT, espeak-ng for TTS. Piper is the
optional natural local voice. OpenAI (or any OpenAI-compatible server) is an option for both, via
livekit-plugins-openai. Whatever the agent's voice, espeak-ng stands behind it: if synthesis fails, the call goes
on in espeak-ng (livekit's FallbackAdapter; the failure is logged and counted by the framework's TTS metrics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from livekit.agents import stt, tts
from pydantic import SecretStr

from agent_runtime.settings import Settings
from agent_runtime.speech.plugins import EspeakTTS, WhisperSTT
from agent_runtime.speech.whisper import default_model

# pcm: raw 24 kHz s16 from OpenAI, nothing to decode before the first audio frame
OPENAI_TTS_FORMAT = "pcm"


@dataclass(frozen=True)
class SpeechSettings:
    stt_backend: str = "whisper"
    tts_backend: str = "espeak"
    agent_voice: str = "en-us"  # espeak-ng voice: the agent's voice with espeak, the fallback otherwise
    openai_api_key: SecretStr | None = field(default=None, repr=False)
    openai_base_url: str | None = None  # None: the OpenAI API
    openai_stt_model: str = "gpt-4o-mini-transcribe"
    openai_tts_model: str = "gpt-4o-mini-tts"
    openai_tts_voice: str = "ash"

    @classmethod
    def of(cls, settings: Settings) -> SpeechSettings:
        """The speech part of the (validated) settings."""
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})

    @property
    def uses_openai(self) -> bool:
        return "openai" in (self.stt_backend, self.tts_backend)

    def _openai_client_options(self) -> dict:
        """The key goes to the client explicitly: settings are read in one place, never by a library on its own."""
        options = {"api_key": self.openai_api_key.get_secret_value()} if self.openai_api_key else {}
        return options | ({"base_url": self.openai_base_url} if self.openai_base_url else {})

    def load_local_models(self):
        """Load (hash-checked, warmed up) the local models these settings use, once per process; returns the
        faster-whisper model, or None with OpenAI STT."""
        if self.tts_backend == "piper":
            from agent_runtime.speech.piper import default_voice

            default_voice()
        return default_model() if self.stt_backend == "whisper" else None

    def speech_to_text(self, whisper_model=None) -> stt.STT:
        """The recogniser; `whisper_model` (a loaded faster-whisper model) is needed for the whisper backend."""
        if self.stt_backend == "openai":
            from livekit.plugins import openai

            # use_realtime=False: one request per VAD-closed utterance, like the local recogniser
            return openai.STT(model=self.openai_stt_model, use_realtime=False, **self._openai_client_options())
        return WhisperSTT(whisper_model)

    def primary_voice(self) -> tts.TTS:
        if self.tts_backend == "piper":
            from agent_runtime.speech.piper import PiperTTS, default_voice

            return PiperTTS(default_voice())
        if self.tts_backend == "openai":
            from livekit.plugins import openai

            return openai.TTS(
                model=self.openai_tts_model,
                voice=self.openai_tts_voice,
                response_format=OPENAI_TTS_FORMAT,
                **self._openai_client_options(),
            )
        return EspeakTTS(self.agent_voice)

    def text_to_speech(self) -> tts.TTS:
        """The agent's voice with espeak-ng behind it (another espeak-ng voice behind espeak-ng itself)."""
        backup = EspeakTTS("en-gb" if self.tts_backend == "espeak" else self.agent_voice)
        return tts.FallbackAdapter([self.primary_voice(), backup], max_retry_per_tts=0)
