"""The telephone channel and the noise are what they claim to be: G.711 mu-law at 8 kHz in the voice band, and
seeded pink noise at the stated SNR."""

import numpy as np
import pytest
from scipy.signal import welch

from agent_runtime.speech.whisper import SAMPLE_RATE
from simulator.channel import (
    CODE_LEVELS,
    MU,
    mu_law_decode,
    mu_law_encode,
    telephone,
    with_noise,
)


def _tones(frequencies: list[float], seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return sum(0.2 * np.sin(2 * np.pi * f * t) for f in frequencies).astype(np.float32)


def _power_at(audio: np.ndarray, frequency: float) -> float:
    frequencies, power = welch(audio, fs=SAMPLE_RATE, nperseg=2048)
    return float(power[np.argmin(np.abs(frequencies - frequency))])


def test_the_telephone_line_keeps_the_voice_band_and_drops_what_is_around_it():
    line = telephone(_tones([100, 1000, 3800, 6000]))
    assert line.dtype == np.float32 and abs(line.size - SAMPLE_RATE) <= 2
    in_band = _power_at(line, 1000)
    assert abs(10 * np.log10(in_band / _power_at(_tones([1000]), 1000))) < 1  # the band passes unchanged
    for outside in (100, 3800, 6000):  # under 300 Hz, over 3,400 Hz, over the 8 kHz line's Nyquist
        assert 10 * np.log10(in_band / _power_at(line, outside)) > 20, outside


def test_mu_law_uses_all_256_codes_and_its_error_grows_with_the_level_as_g711s_does():
    ramp = np.linspace(-1, 1, 100_001)
    codes = mu_law_encode(ramp)
    assert codes.dtype == np.uint8 and np.unique(codes).size == CODE_LEVELS
    decoded = mu_law_decode(codes)
    # half a step of the companded scale, 1/255, times the expansion's slope ln(1 + mu) (|x| + 1/mu) at the larger
    # of the two values: a relative error of 2.2 % for loud samples, an absolute one of 1e-4 near silence
    largest = np.maximum(np.abs(ramp), np.abs(decoded))
    bound = np.log1p(MU) / (CODE_LEVELS - 1) * (largest + 1 / MU)
    assert np.all(np.abs(decoded - ramp) <= bound * 1.0001)
    quiet = _tones([440]) * 0.1  # peaks at -34 dBFS: 8 linear bits would leave 17 dB SNR, companding keeps 36.7 dB
    noise = mu_law_decode(mu_law_encode(quiet)) - quiet
    assert 10 * np.log10(np.mean(quiet**2) / np.mean(noise**2)) > 35


@pytest.mark.parametrize("snr_db", [5.0, 15.0, 30.0])
def test_the_noise_is_at_the_stated_snr_and_the_same_for_a_seed(snr_db):
    speech = _tones([300, 1000], 2.0)
    mixed = with_noise(speech, snr_db, seed=(0, 3))
    noise = mixed - speech
    assert abs(10 * np.log10(np.mean(speech**2) / np.mean(noise**2)) - snr_db) < 0.5
    assert np.array_equal(mixed, with_noise(speech, snr_db, seed=(0, 3)))
    assert not np.array_equal(mixed, with_noise(speech, snr_db, seed=(0, 4)))


def test_the_noise_is_pink_its_power_falls_3_db_an_octave():
    level = np.full(10 * SAMPLE_RATE, 0.1, np.float32)  # the noise's power follows the signal's, not its spectrum
    noise = with_noise(level, 0.0, seed=1) - level
    frequencies, power = welch(noise, fs=SAMPLE_RATE, nperseg=4096)
    band = (frequencies >= 100) & (frequencies <= 6400)
    slope = np.polyfit(np.log2(frequencies[band]), 10 * np.log10(power[band]), 1)[0]
    assert -3.5 < slope < -2.5
