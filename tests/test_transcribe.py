"""Offline speech-to-text with the real tiny.en weights (installed by `make test` through the voice extra)."""

import json
import re
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from agent_runtime.speech.whisper import (
    DOMAIN_VOCABULARY,
    ModelIntegrityError,
    default_model,
    load_model,
    model_dir,
    reading_log_likelihoods,
    transcribe,
    without_repeats,
)

SECONDS_PER_WORD = 0.22  # espeak-ng en-us takes 0.25-0.3 s a word with the pauses: files come out longer


def _speak(path, text: str) -> None:
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)


def test_transcribe_cli_reads_speech_silence_and_reports_bad_files(tmp_path):
    _speak(tmp_path / "speech.wav", "I can pay fifty dollars a month starting Friday")
    subprocess.run(["sox", "-n", "-r", "16000", str(tmp_path / "silence.wav"), "trim", "0", "1"], check=True)
    (tmp_path / "bad.wav").write_text("not audio")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent_runtime.transcribe",
            *(str(tmp_path / n) for n in ("speech.wav", "silence.wav", "bad.wav")),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    speech, silence, bad = (json.loads(line) for line in result.stdout.splitlines())
    assert "50" in speech["text"] or "fifty" in speech["text"].lower()
    assert "month" in speech["text"].lower() and speech["seconds"] > 0
    assert silence["text"] == ""
    assert "error" in bad and result.returncode == 1


def test_empty_audio_gives_an_empty_transcript():
    assert transcribe(default_model(), np.zeros(0, dtype=np.float32)).text == ""


def test_weights_that_are_not_the_measured_model_are_refused(tmp_path):
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (tmp_path / name).write_bytes((model_dir() / name).read_bytes())
    with pytest.raises(ModelIntegrityError, match=r"no model\.bin"):
        load_model(tmp_path)
    (tmp_path / "model.bin").write_bytes(b"tampered")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_model(tmp_path)


def test_synthesised_speech_is_the_same_every_time():
    """What the recogniser hears in a test or a benchmark depends on the text alone (sox dithered with fresh noise
    each run, and greedy decoding turned that into "$5000 an..." for "fifty dollars a month" now and then)."""
    from agent_runtime.voice_sim import synthesise

    text = "I can pay fifty dollars a month starting Friday"
    assert np.array_equal(synthesise(text), synthesise(text))


def test_synthesis_in_a_voice_espeak_lacks_is_refused_not_spoken_in_its_default_voice():
    from agent_runtime.voice_sim import synthesise

    with pytest.raises(ValueError, match="espeak-ng has no voice 'en-xx'"):
        synthesise("I can pay.", "en-xx")


def test_fitted_window_hears_speech_and_nothing_in_silence_noise_or_hum():
    from agent_runtime.voice_sim import synthesise

    model = default_model()
    speech = synthesise("I can pay fifty dollars a month starting Friday").astype(np.float32) / 32768.0
    for options in ({}, {"beam_size": 1}, {"fitted_window": False}):
        text = transcribe(model, speech, **options).text
        assert {"pay", "month", "friday"} <= set(text.lower().replace(".", "").split()), options
    samples = np.arange(2 * 16_000)
    quiet = {
        "silence": np.zeros(16_000, np.float32),
        "noise": (np.random.default_rng(0).standard_normal(samples.size) * 0.05).astype(np.float32),
        "hum": (0.1 * np.sin(2 * np.pi * 60 * samples / 16_000)).astype(np.float32),
    }
    # prompted with the call's words, greedy decoding hears "I can't pay, I'm not paying, ..." in noise and hum, sure
    # enough to pass the no-speech rule: where it also finds no speech likely, the unprompted reading decides
    prompted = [{"vocabulary": DOMAIN_VOCABULARY, "beam_size": beam_size} for beam_size in (1, 5)]
    for options in ({"beam_size": 1}, {"beam_size": 5}, *prompted):
        heard = {name: transcribe(model, clip, **options).text for name, clip in quiet.items()}
        assert heard == dict.fromkeys(quiet, ""), options
    assert "pay" in transcribe(model, speech, vocabulary=DOMAIN_VOCABULARY).text.lower()


@pytest.mark.parametrize("seconds", [35, 60, pytest.param(300, marks=pytest.mark.slow)])
def test_long_audio_is_transcribed_whole(tmp_path, seconds):
    """Past Whisper's 30 s window nothing is lost: the words of every part of the file come back."""
    import jiwer

    rows = [json.loads(line) for line in Path("data/dst/train.jsonl").read_text().splitlines()]
    sentences, words = [], 0
    while words * SECONDS_PER_WORD < seconds:
        text = rows[len(sentences)]["text"].rstrip(".?!")
        sentences.append(f"{text}.")
        words += len(text.split())
    path = tmp_path / "long.wav"
    # a call's turns, with the pauses between them (long silences are where a window's decoding used to stop)
    pauses = [f'{text} <break time="{1000 + 250 * (i % 5)}ms"/>' for i, text in enumerate(sentences)]
    subprocess.run(
        ["espeak-ng", "-m", "-v", "en-us", "-w", str(path), f"<speak>{' '.join(pauses)}</speak>"], check=True
    )
    with wave.open(str(path)) as audio:
        assert audio.getnframes() / audio.getframerate() >= seconds
    said, heard = (
        " ".join(re.sub(r"[^a-z0-9 ]", " ", t.lower()).split())
        for t in (" ".join(sentences), transcribe(default_model(), path).text)
    )
    assert jiwer.wer(said, heard) < 0.3  # tiny.en on espeak-ng: 0.17-0.21; a lost window costs 0.4 or more


@pytest.mark.parametrize(
    ("heard", "kept"),
    [
        (
            "Okay so how would a payment plan even work? Okay so how will a payment plan work?",
            "Okay so how would a payment plan even work?",
        ),
        ("Sorry, what's your name again. Sorry, what is your name again?", "Sorry, what's your name again."),
        ("No. I said 60 a month. Not 16.", "No. I said 60 a month. Not 16."),  # new words are kept
        ("I can pay. I can pay.", "I can pay."),
    ],
)
def test_sentences_that_say_again_what_was_said_are_dropped(heard, kept):
    assert without_repeats(heard) == kept


def test_the_words_said_are_a_likelier_reading_of_the_audio_than_other_words():
    from agent_runtime.voice_sim import synthesise

    audio = synthesise("hold on", "en-us").astype(np.float32) / 32768.0
    said, other, longer = reading_log_likelihoods(default_model(), audio, ["Hold on.", "Okay.", "Hold on, I paid it."])
    assert said > other + 3 and said > longer
    assert said < 0
    with pytest.raises(ValueError, match="needs audio"):
        reading_log_likelihoods(default_model(), np.zeros(0, np.float32), ["Okay."])


def test_scoring_reuses_the_encoding_its_recognition_made_and_keeps_only_the_last_few():
    from agent_runtime.speech import whisper
    from agent_runtime.voice_sim import synthesise

    model = default_model()
    audio = synthesise("mm hmm", "en-us").astype(np.float32) / 32768.0
    heard = transcribe(model, audio).text
    kept = whisper._encodings[model]
    assert len(kept) >= 1  # the recognition's encoding is there for the scoring
    scored = reading_log_likelihoods(model, audio, [heard, "Uh-huh."])
    kept.clear()  # encoded afresh: the same scores, to the last bit
    assert reading_log_likelihoods(model, audio, [heard, "Uh-huh."]) == scored
    for seconds in range(1, whisper.ENCODINGS_KEPT + 3):
        transcribe(model, audio[: seconds * 1_600])
    assert len(kept) == whisper.ENCODINGS_KEPT
