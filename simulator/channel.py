"""What a telephone call does to the debtor's speech before the recogniser hears it.

Real calls arrive through SIP as G.711 mu-law at 8 kHz, in the 300-3,400 Hz voice band; the recogniser takes 16 kHz
float32. `telephone` turns 16 kHz speech into what such a line delivers, back at 16 kHz, and `with_noise` adds the
caller's background at a given SNR. They are used to measure hearing (`benchmarks.hearing`) and to make training
transcripts (`training.asr_transcripts`), not on the live path, and need scipy (the `train` extra).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from agent_runtime.speech.whisper import SAMPLE_RATE

TELEPHONE_RATE = 8_000
TELEPHONE_BAND_HZ = (300.0, 3_400.0)
BAND_FILTER_ORDER = 4
MU = 255.0
CODE_LEVELS = 256  # G.711 sends 8 bits a sample
NOISE_SNR_DB = 15.0


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    divisor = np.gcd(rate, target)
    return resample_poly(audio, target // divisor, rate // divisor).astype(np.float32)


def mu_law_encode(audio: np.ndarray) -> np.ndarray:
    """G.711's mu-law companding (mu = 255) of audio in [-1, 1], as 8-bit codes."""
    companded = np.sign(audio) * np.log1p(MU * np.abs(np.clip(audio, -1.0, 1.0))) / np.log1p(MU)
    return np.round((companded + 1.0) / 2.0 * (CODE_LEVELS - 1)).astype(np.uint8)


def mu_law_decode(codes: np.ndarray) -> np.ndarray:
    companded = codes.astype(np.float64) / (CODE_LEVELS - 1) * 2.0 - 1.0
    return (np.sign(companded) * np.expm1(np.abs(companded) * np.log1p(MU)) / MU).astype(np.float32)


def telephone(audio: np.ndarray) -> np.ndarray:
    """16 kHz audio as a G.711 mu-law telephone line delivers it, back at 16 kHz."""
    narrow = resample(audio, SAMPLE_RATE, TELEPHONE_RATE)
    band_pass = butter(BAND_FILTER_ORDER, TELEPHONE_BAND_HZ, btype="bandpass", fs=TELEPHONE_RATE, output="sos")
    band = sosfilt(band_pass, narrow)
    return resample(mu_law_decode(mu_law_encode(band)), TELEPHONE_RATE, SAMPLE_RATE)


def with_noise(audio: np.ndarray, snr_db: float, seed: int | tuple[int, ...]) -> np.ndarray:
    """The audio with pink (1/f) noise `snr_db` below the audio's power (pink: its power falls with frequency, as
    that of most background sound does)."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(audio.size))
    frequencies = np.fft.rfftfreq(audio.size)
    spectrum[1:] /= np.sqrt(frequencies[1:])
    spectrum[0] = 0.0  # no DC offset
    noise = np.fft.irfft(spectrum, n=audio.size)
    speech_power = float(np.mean(audio**2)) or 1e-12
    noise *= np.sqrt(speech_power / 10 ** (snr_db / 10) / float(np.mean(noise**2)))
    return (audio + noise).astype(np.float32)


# Each channel takes 16 kHz audio and the utterance's noise seed; "telephone+noise" is noise at the caller's end.
CHANNELS: dict[str, Callable[[np.ndarray, int | tuple[int, ...]], np.ndarray]] = {
    "clean": lambda audio, seed: audio,
    "telephone": lambda audio, seed: telephone(audio),
    "telephone+noise": lambda audio, seed: telephone(with_noise(audio, NOISE_SNR_DB, seed)),
    "noisy": lambda audio, seed: with_noise(audio, NOISE_SNR_DB, seed),
}
NOISY_CHANNELS = {"telephone+noise", "noisy"}
