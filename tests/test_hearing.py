"""The channels the hearing benchmark passes speech through are what they claim to be."""

import numpy as np
from scipy.signal import welch

from agent_runtime.speech.whisper import SAMPLE_RATE
from benchmarks.hearing import NOISE_SNR_DB, noisy, normalise, telephone


def _tone_mix(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 1000 * t) + 0.3 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)


def test_the_telephone_channel_keeps_the_voice_band_and_drops_what_is_above_it():
    line = telephone(_tone_mix())
    assert line.dtype == np.float32 and abs(line.size - SAMPLE_RATE) <= 2
    frequencies, power = welch(line, fs=SAMPLE_RATE, nperseg=1024)
    in_band = power[np.argmin(np.abs(frequencies - 1000))]
    above = power[np.argmin(np.abs(frequencies - 6000))]
    assert 10 * np.log10(in_band / above) > 40  # 8 kHz sampling leaves nothing at 6 kHz


def test_the_noisy_channel_adds_noise_at_the_stated_snr_and_the_same_noise_for_a_seed():
    speech = _tone_mix(2.0)
    mixed = noisy(speech, seed=3)
    noise = mixed - speech
    snr = 10 * np.log10(np.mean(speech**2) / np.mean(noise**2))
    assert abs(snr - NOISE_SNR_DB) < 0.01
    assert np.array_equal(mixed, noisy(speech, seed=3)) and not np.array_equal(mixed, noisy(speech, seed=4))


def test_word_error_rate_ignores_how_numbers_are_written():
    assert normalise("I can do $785 a month.") == normalise("i can do seven hundred eighty five a month")
