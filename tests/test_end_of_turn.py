"""End-of-turn detection: the text cues, the detectors in livekit's turn handling, and the paused-utterance test set."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from livekit.agents import AgentSession, llm
from livekit.agents.language import LanguageCode

from agent_runtime.speech.end_of_turn import (
    UNLIKELY_THRESHOLD,
    TextCueTurnDetector,
    audio_turn_detector,
    sounds_unfinished,
)
from agent_runtime.voice import TURN_HANDLING
from benchmarks import end_of_turn as bench


@pytest.mark.parametrize(
    "said",
    [
        "I lost my job last month and",
        "I know I owe it, but",
        "I can't pay right now because",
        "I can pay fifty dollars a month if",
        "I'll send it to",
        "My husband handles the",
        "Honestly I'm",
        "So what I can do is um",
        "I'm moving to.",  # a full stop does not finish a sentence that ends on a preposition
        "i'm caring for my father full time so i",
    ],
)
def test_a_transcript_that_stops_where_no_sentence_ends_is_unfinished(said):
    assert sounds_unfinished(said)


@pytest.mark.parametrize(
    "said",
    [
        "If you can take",  # tiny.en on "If you can take | fifty off": sentence case, no full stop
        "I can start with a small",
        "I get paid every other Friday, so the payments",
        "I don't have...",  # speech that trails off
        "I'll pay the f-",  # a word cut short
        "I'm not sure this debt is even mine\u2026",
        "I can pay fifty dollars a month",
    ],
)
def test_a_sentence_case_transcript_without_a_closing_mark_or_trailing_off_is_unfinished(said):
    assert sounds_unfinished(said)


@pytest.mark.parametrize(
    "said",
    [
        "I lost my job last month.",
        "I can pay fifty dollars a month.",
        "Yes, I can.",
        "No, I don't.",
        "I think so.",
        "What is this about?",
        "Hold on!",
        "Sure, it's 8 3 9 1 8.",  # a ZIP code read digit by digit, as tiny.en writes it
        "I can do $50.",
        'I said, "I\'m done."',
        # tiny.en's other style, all lower case without punctuation: only the words can tell
        "no thanks",
        "what are my options here",
        "i can do $50",
        "",
        "...",
    ],
)
def test_a_finished_sentence_an_elliptical_answer_or_a_question_is_finished(said):
    assert not sounds_unfinished(said)


async def test_the_text_detector_answers_livekits_turn_detector_calls():
    detector = TextCueTurnDetector()
    chat = llm.ChatContext()
    chat.add_message(role="assistant", content="Can you pay the balance today?")
    chat.add_message(role="user", content="I can pay half today but")
    assert await detector.predict_end_of_turn(chat) < await detector.unlikely_threshold(LanguageCode("en"))
    chat.add_message(role="user", content="I can pay half today.")
    assert await detector.predict_end_of_turn(chat) >= UNLIKELY_THRESHOLD
    assert await detector.supports_language(LanguageCode("en")) and await detector.supports_language(None)
    assert not await detector.supports_language(LanguageCode("de"))


async def test_the_session_takes_the_turn_handling_with_its_detector_and_cap():
    session = AgentSession(turn_handling=TURN_HANDLING)
    assert session.turn_detection is TURN_HANDLING["turn_detection"]
    endpointing = TURN_HANDLING["endpointing"]
    assert endpointing["min_delay"] < endpointing["max_delay"]


async def test_the_audio_detector_stays_offline_even_with_livekit_credentials(monkeypatch):
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "LIVEKIT_INFERENCE_URL"):
        monkeypatch.setenv(name, "wss://example.invalid" if "URL" in name else "secret")
    assert audio_turn_detector().model == "turn-detector-v1-mini"


def test_boundaries_are_split_into_clause_and_mid_clause():
    kinds = bench.word_boundaries("I lost my job, and I can't pay because rent is due")
    words = "I lost my job, and I can't pay because rent is due".split()
    assert [words[i] for i in kinds["clause"]] == ["and", "because"]  # after "job," and before "because"
    assert len(kinds["clause"]) + len(kinds["mid_clause"]) == len(words) - 1


class ToneVoice:
    """A stand-in for Piper: each word a 0.2 s tone, 0.08 s of silence between words."""

    config = SimpleNamespace(sample_rate=22_050)
    word, gap = 0.2, 0.08

    def synthesize(self, text, config=None):
        rate = self.config.sample_rate
        tone = (8000 * np.sin(np.arange(int(self.word * rate)) * 0.1)).astype(np.int16)
        silence = np.zeros(int(self.gap * rate), np.int16)
        pieces = [piece for _ in text.split() for piece in (tone, silence)][:-1]
        return [SimpleNamespace(audio_int16_array=np.concatenate(pieces))]


def test_the_test_set_puts_the_pause_between_the_words_it_names_and_only_adds_the_pause():
    texts = ["I lost my job, and I can't pay you now.", "I can pay fifty dollars a month if that works."]
    utterances = bench.build_test_set(texts, ToneVoice(), seed=3)
    assert [u.kind for u in utterances].count("complete") == 2
    assert {u.kind for u in utterances if u.kind != "complete"} == {"clause", "mid_clause"}
    for whole, paused in zip(utterances[::2], utterances[1::2], strict=True):
        start, end = paused.pause
        pause = round((end - start) * bench.SAMPLE_RATE)
        assert bench.PAUSE_SECONDS[0] <= end - start <= bench.PAUSE_SECONDS[1]
        assert len(paused.audio) == len(whole.audio) + pause
        assert paused.speech_end == pytest.approx(whole.speech_end + pause / bench.SAMPLE_RATE, abs=1e-3)
        at = round(start * bench.SAMPLE_RATE)
        assert not paused.audio[at : at + pause].any()
        # the cut lies in the gap after word `cut_after_words`: before it the word's tone, after it the next one
        step = ToneVoice.word + ToneVoice.gap
        gap_start = bench.LEAD_SECONDS + paused.cut_after_words * step - ToneVoice.gap
        assert gap_start - 0.02 <= start <= gap_start + ToneVoice.gap + 0.02
        assert np.array_equal(paused.audio[:at], whole.audio[:at])
        assert np.array_equal(paused.audio[at + pause :], whole.audio[at:])


def test_every_sentence_of_the_test_set_can_be_cut_both_ways():
    texts = bench.sentences()
    assert len(texts) >= 100
    assert all(kinds["clause"] and kinds["mid_clause"] for kinds in map(bench.word_boundaries, texts))


def test_the_price_on_complete_turns_is_counted_per_voice_and_channel(tmp_path, monkeypatch):
    rows = [
        {"voice": "piper:joe", "text": "No thanks"},  # sentence case without a full stop: waits for the cap
        {"voice": "piper:joe", "text": "No thanks."},
        {"voice": "espeak:en-us", "channel": "telephone", "text": "I can pay."},
    ]
    (tmp_path / "train_asr_x.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    monkeypatch.chdir(tmp_path)
    assert bench.complete_turns_judged_unfinished("*_asr*.jsonl") == {
        "piper:joe": {"utterances": 2, "unfinished_pct": 50.0},
        "espeak:en-us/telephone": {"utterances": 1, "unfinished_pct": 0.0},
    }
