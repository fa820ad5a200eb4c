"""Recogniser transcripts of labelled utterances in a chosen voice: the labels survive, the voice is named."""

import json

import pytest

from simulator.voices import speaker
from training import asr_transcripts


def test_a_voice_that_is_not_engine_colon_voice_or_cannot_speak_is_a_clear_error():
    with pytest.raises(ValueError, match="ENGINE:VOICE"):
        speaker("festival:kal")
    with pytest.raises(ValueError, match="ENGINE:VOICE"):
        speaker("espeak")
    with pytest.raises(ValueError, match=r"espeak-ng has no voice 'no-such-voice'"):
        speaker("espeak:no-such-voice")


def test_transcripts_keep_the_gold_labels_and_name_the_voice(tmp_path):
    rows = [
        {"text": "I can pay fifty dollars a month", "intent": "willing", "amount": 50, "period": "monthly"},
        {"text": "Stop calling me", "intent": "cease"},
    ]
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert asr_transcripts.main(["--input", str(source), "--output", str(out), "--voice", "espeak:en-gb"]) == 0
    heard = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(h["id"], h["intent"], h["amount"], h["period"]) for h in heard] == [
        (0, "willing", 50, "monthly"),
        (1, "cease", None, None),
    ]
    assert {h["voice"] for h in heard} == {"espeak:en-gb"}
    assert [h["reference"] for h in heard] == [r["text"] for r in rows]
    assert "month" in heard[0]["text"].lower() and "calling" in heard[1]["text"].lower()
    assert all(0 < h["stt_confidence"] <= 1 for h in heard)
    assert {h["channel"] for h in heard} == {"clean"}


def test_transcripts_through_the_telephone_say_so_and_differ_from_clean_ones(tmp_path):
    source = tmp_path / "in.jsonl"
    said = {"text": "I can pay seventy five a month starting Friday", "intent": "willing"}
    source.write_text(json.dumps(said) + "\n")
    clean, line = tmp_path / "clean.jsonl", tmp_path / "line.jsonl"
    assert asr_transcripts.main(["--input", str(source), "--output", str(clean)]) == 0
    assert asr_transcripts.main(["--input", str(source), "--output", str(line), "--telephone"]) == 0
    (heard_clean,), (heard_line,) = ([json.loads(x) for x in f.read_text().splitlines()] for f in (clean, line))
    assert heard_line["channel"] == "telephone" and heard_line["intent"] == "willing"
    assert "month" in heard_line["text"].lower()
    assert heard_line["stt_confidence"] != heard_clean["stt_confidence"]  # other audio, not the clean file again


def test_noisy_transcripts_repeat_for_a_seed_and_change_with_it(tmp_path):
    source = tmp_path / "in.jsonl"
    said = {"text": "I can pay seventy five a month starting Friday", "intent": "willing"}
    source.write_text(json.dumps(said) + "\n")
    runs = {name: tmp_path / f"{name}.jsonl" for name in ("seed1", "seed1_again", "seed2")}
    for name, seed in (("seed1", "1"), ("seed1_again", "1"), ("seed2", "2")):
        noisy = ["--channel", "telephone+noise", "--seed", seed]
        assert asr_transcripts.main(["--input", str(source), "--output", str(runs[name]), *noisy]) == 0
    heard = {name: json.loads(path.read_text()) for name, path in runs.items()}
    assert heard["seed1"]["channel"] == "telephone+noise" and heard["seed1"]["intent"] == "willing"
    assert heard["seed1"]["noise_seed"] == [1, 0] and heard["seed2"]["noise_seed"] == [2, 0]
    assert heard["seed1"] == heard["seed1_again"]
    assert heard["seed1"]["stt_confidence"] != heard["seed2"]["stt_confidence"]  # other noise, other audio


def test_an_unknown_voice_stops_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    with pytest.raises(SystemExit):
        asr_transcripts.main(["--input", "data/dst/train.jsonl", "--output", str(out), "--voice", "nope:x"])
    assert "--voice" in capsys.readouterr().err and not out.exists()
