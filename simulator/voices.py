"""Voices for simulated callers: espeak-ng, flite and Piper speak a text as a debtor would.

A voice is named ENGINE:VOICE: `espeak:en-us`, `espeak:en-gb` (the simulated debtor in audio), `espeak:mb-us1`
(espeak-ng driving the MBROLA diphone voice us1: Debian's `mbrola` and `mbrola-us1`, contrib and non-free),
`flite:slt` (Debian's `flite`) and `piper:joe` (Piper en_US-joe-medium, the agent's optional natural voice; the
`piper` extra). They make the audio the hearing benchmark and the DST's training transcripts are heard from.
"""

from __future__ import annotations

import io
import subprocess
import wave
from collections.abc import Callable
from functools import cache

import numpy as np


def _wav_samples(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        return pcm.astype(np.float32) / 32768.0, wav.getframerate()


@cache
def _espeak_voice_names() -> frozenset[str]:
    """Every name espeak-ng answers to (language, voice name, file), its MBROLA voices included."""
    names = set()
    for listing in ("--voices", "--voices=mb"):
        rows = subprocess.run(["espeak-ng", listing], capture_output=True, check=True, text=True).stdout
        for row in rows.splitlines()[1:]:
            _, language, _, voice_name, file, *_ = row.split() + [""] * 5
            names |= {language.lower(), voice_name.lower(), file.rpartition("/")[2].lower()}
    return frozenset(names - {""})


def _check_espeak_voice(voice: str) -> None:
    # espeak-ng speaks an unknown voice with its default one, without a word: a typo would measure another voice.
    if voice.partition("+")[0].lower() not in _espeak_voice_names():
        raise ValueError(f"espeak-ng has no voice {voice!r} (`espeak-ng --voices` lists them)")


def espeak_wav(voice: str, text: str) -> bytes:
    """espeak-ng's WAV file of `text` in `voice` (22,050 Hz); ValueError for a voice espeak-ng does not have."""
    _check_espeak_voice(voice)
    return subprocess.run(["espeak-ng", "-v", voice, "--stdout", " " + text], capture_output=True, check=True).stdout


def _espeak(voice: str) -> Callable[[str], tuple[np.ndarray, int]]:
    _check_espeak_voice(voice)
    return lambda text: _wav_samples(espeak_wav(voice, text))


def _flite(voice: str) -> Callable[[str], tuple[np.ndarray, int]]:
    def speak(text: str) -> tuple[np.ndarray, int]:
        wav = subprocess.run(
            ["flite", "-voice", voice, "-t", text, "-o", "/dev/stdout"], capture_output=True, check=True
        )
        return _wav_samples(wav.stdout)

    return speak


@cache
def _piper_voice():
    from agent_runtime.speech.piper import default_voice

    return default_voice()


def _piper(_: str) -> Callable[[str], tuple[np.ndarray, int]]:
    def speak(text: str) -> tuple[np.ndarray, int]:
        voice = _piper_voice()
        pcm = np.concatenate([chunk.audio_int16_array for chunk in voice.synthesize(text)])
        return pcm.astype(np.float32) / 32768.0, voice.config.sample_rate

    return speak


ENGINES = {"espeak": _espeak, "flite": _flite, "piper": _piper}


def speaker(voice: str) -> Callable[[str], tuple[np.ndarray, int]]:
    """The synthesis function of ENGINE:VOICE; ValueError if the engine is unknown or cannot speak with the voice."""
    engine, _, name = voice.partition(":")
    if engine not in ENGINES or not name:
        raise ValueError(f"{voice!r} is not ENGINE:VOICE with ENGINE one of {sorted(ENGINES)}")
    speak = ENGINES[engine](name)
    try:
        speak("test")
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr.decode(errors="replace").strip() if isinstance(exc, subprocess.CalledProcessError) else exc
        raise ValueError(f"{voice} cannot speak: {detail}") from None
    return speak
