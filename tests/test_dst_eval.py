"""The DST evaluation scores the model it is given, on the sets it is given."""

import json

import numpy as np

from agent_runtime.contracts.dst import INTENTS
from agent_runtime.dst.classifier import IntentClassifier
from training.dst_eval import Args, main


def test_an_intent_model_named_with_model_is_the_one_scored(tmp_path):
    classes = [i.value for i in INTENTS]
    always_hostile = IntentClassifier(
        ["pay"], np.zeros((1, len(classes))), np.array([5.0 if c == "hostile" else 0.0 for c in classes]), classes
    )
    always_hostile.save(tmp_path / "model.npz")
    rows = [
        {"text": "you people are crooks", "intent": "hostile", "amount": None},
        {"text": "i can pay fifty dollars a month", "intent": "willing", "amount": 50},
        {"text": "what company is this", "intent": "question", "amount": None},
        {"text": "get lost you leeches", "intent": "hostile", "amount": None},
    ]
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = Args(heldout=heldout, heldout_asr=tmp_path / "none.jsonl", model=tmp_path / "model.npz")
    report = main(args)
    assert report["clean"]["accuracy"] == 0.5 and "real_asr" not in report
    assert report["clean"]["amount_recall"] == 0.0  # an amount is read only where the intent offers one
    shipped = main(Args(heldout=heldout, heldout_asr=tmp_path / "none.jsonl"))
    assert shipped["clean"]["accuracy"] > 0.5 and shipped["clean"]["amount_recall"] == 1.0


def test_the_encoder_gate_decides_how_often_the_second_head_is_asked(tmp_path, monkeypatch):
    from agent_runtime.dst.encoder import SentenceEncoder

    asked, encode = [], SentenceEncoder.encode
    monkeypatch.setattr(SentenceEncoder, "encode", lambda self, text: asked.append(text) or encode(self, text))
    row = {"text": "we are living on food stamps", "intent": "hardship", "amount": None}
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(json.dumps(row) + "\n")
    for gate, times in ((0.0, 0), (1.01, 2)):  # always: the clean text and its STT-style twin
        asked.clear()
        main(Args(heldout=heldout, heldout_asr=tmp_path / "none.jsonl", encoder_gate=gate))
        assert len(asked) == times, gate


def test_training_reads_retired_held_out_sets_and_never_the_others(tmp_path):
    from training.train_dst import RETIRED_HELDOUT, training_files

    names = ["train.jsonl", "train_asr.jsonl", "heldout.jsonl", "heldout_asr.jsonl", "heldout_v4.jsonl"]
    names += ["heldout_v99.jsonl", "heldout_v99_asr.jsonl"]  # a set not yet measured
    names += [f"{name}{suffix}.jsonl" for name in RETIRED_HELDOUT for suffix in ("", "_asr", "_asr_telephone")]
    for name in names:
        (tmp_path / name).write_text("")
    read = {path.name for path in training_files(tmp_path)}
    assert {"train.jsonl", "train_asr.jsonl", "heldout_v6.jsonl", "heldout_v6_asr_telephone.jsonl"} <= read
    assert not read & {"heldout.jsonl", "heldout_asr.jsonl", "heldout_v4.jsonl", "heldout_v99.jsonl"}
    assert not any(name.startswith("heldout_v99") for name in read)
