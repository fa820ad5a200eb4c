"""Piper (en_US-joe-medium) as the agent's optional voice: real synthesis through the LiveKit TTS plugin, checked by
transcribing it with the real tiny.en model; a failing Piper falls back to espeak-ng."""

from __future__ import annotations

import time

import numpy as np
import pytest
from livekit import rtc

from agent_runtime.settings import load_settings
from agent_runtime.speech import piper
from agent_runtime.speech.backends import SpeechSettings
from agent_runtime.speech.piper import PiperTTS, default_voice, load_voice
from agent_runtime.speech.whisper import SAMPLE_RATE, ModelIntegrityError, default_model, transcribe


def _as_16k_float(frames: list[rtc.AudioFrame]) -> np.ndarray:
    frame = rtc.combine_audio_frames(frames)
    resampler = rtc.AudioResampler(input_rate=frame.sample_rate, output_rate=SAMPLE_RATE, num_channels=1)
    pcm = b"".join(bytes(f.data) for f in [*resampler.push(frame), *resampler.flush()])
    return np.frombuffer(pcm, np.int16).astype(np.float32) / 32768.0


@pytest.mark.slow
async def test_piper_speech_is_understood_by_the_recogniser():
    voice = PiperTTS(default_voice())
    text = "We can set up a payment plan. Would that work for you?"
    frames = [event.frame async for event in voice.synthesize(text)]
    await voice.aclose()
    assert frames[0].sample_rate == 22_050 and sum(f.duration for f in frames) > 2.0
    assert 0 < voice.last_first_byte_seconds < 2.0
    heard = transcribe(default_model(), _as_16k_float(frames)).text.lower()
    for word in ("payment", "plan", "work", "you"):
        assert word in heard, heard


async def test_piper_pushes_each_sentence_as_soon_as_it_exists():
    voice = PiperTTS(default_voice())
    text = " ".join(["Thank you for your time today."] * 6)
    started = time.perf_counter()
    frames = [event.frame async for event in voice.synthesize(text)]
    total = time.perf_counter() - started
    await voice.aclose()
    assert sum(f.duration for f in frames) > 6.0
    # six sentences: the first one's audio leaves after about a sixth of the work, not after all of it
    assert voice.last_first_byte_seconds < 0.5 * total


def test_a_voice_file_with_another_hash_is_refused(tmp_path):
    fake = tmp_path / "voice.onnx"
    fake.write_bytes(b"not the joe voice")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_voice(fake, None)
    with pytest.raises(ModelIntegrityError, match="no Piper voice"):
        load_voice(tmp_path / "missing.onnx", None)


async def test_a_failing_piper_voice_falls_back_to_espeak(monkeypatch):
    class FailingVoice:
        config = default_voice().config

        def synthesize(self, text):
            raise RuntimeError("onnxruntime: out of memory")

    monkeypatch.setattr(piper, "default_voice", FailingVoice)
    voice = SpeechSettings.of(load_settings(tts_backend="piper")).text_to_speech()
    frames = [event.frame async for event in voice.synthesize("We can set up a plan of fifty dollars a month.")]
    await voice.aclose()
    assert sum(f.duration for f in frames) > 1.5  # spoken by espeak-ng after Piper failed
