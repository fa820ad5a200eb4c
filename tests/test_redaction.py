"""The redactor of stored text: each kind of personal data masked in speech-to-text and in written English, the
call's known names, ordinary words kept, long and empty texts, and its recall on the labelled set."""

import itertools
import json
import time
from pathlib import Path

import pytest

from agent_runtime.events.redaction import ACCOUNT, ADDRESS, CARD, EMAIL, NAME, NUMBER, PHONE, find_pii, redact
from benchmarks.pii_recall import score

LABELLED = Path(__file__).resolve().parents[1] / "data" / "pii" / "labelled.jsonl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my name is kwame osei bonsu and i got a letter", f"my name is {NAME} and i got a letter"),
        ("i live at apartment 4b 1209 north elm street", f"i live at {ADDRESS}"),
        ("send it to po box fifty five please", f"send it to {ADDRESS} please"),
        ("my number is five five five one two one two", f"my number is {PHONE}"),
        ("its eight one eight nine oh four seven seven two one", f"its {PHONE}"),
        ("my email is john dot smith at gmail dot com", f"my email is {EMAIL}"),
        ("four one one one one one one one one one one one one one one one", CARD),
        ("my account number is a b 4 4 7 1 9", f"my account number is {ACCOUNT}"),
        ("i can pay two hundred fifty dollars on the fifteenth", f"i can pay {NUMBER} dollars on the {NUMBER}"),
    ],
)
def test_each_kind_is_masked_in_speech_to_text(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Hi, may I speak with John Smith? This is Jordan from Fairway Partners.",
            f"Hi, may I speak with {NAME}? This is {NAME} from Fairway Partners.",
        ),
        ("Thanks, Ms. Delacroix. Is 22 Baker Street still right?", f"Thanks, {NAME}. Is {ADDRESS} still right?"),
        ("Please call us back at (800) 555-0142.", f"Please call us back at {PHONE}."),
        ("We have t.banks@icloud.com on file.", f"We have {EMAIL} on file."),
        ("The card 4111-1111-1111-1111 was declined.", f"The card {CARD} was declined."),
        ("Your reference number is FP-20931.", f"Your reference number is {ACCOUNT}."),
        ("Your balance is $1,847.32, 90 days past due.", f"Your balance is ${NUMBER}, {NUMBER} days past due."),
    ],
)
def test_each_kind_is_masked_in_written_english(text, expected):
    assert redact(text) == expected


def test_known_names_are_masked_even_where_the_words_are_everyday_ones():
    known = ["Will Chase"]
    assert redact("will said he would call you", known) == f"{NAME} said he would call you"
    assert redact("will said he would call you") == "will said he would call you"  # no evidence without the facts
    assert redact("i will pay on friday", known) == "i will pay on friday"
    assert redact("Thank you, Will. I will note that.", known) == f"Thank you, {NAME}. I will note that."
    assert redact("Is this Will Chase?", known) == f"Is this {NAME}?"
    assert redact("zorvath is at work", ["Zorvath Quillby"]) == f"{NAME} is at work"


def test_ordinary_words_that_are_also_names_stay():
    text = (
        "i will pay in june may i ask about the bill from april im not going to sue mark my words "
        "they gave me a grant and i hope the price is fair"
    )
    assert redact(text) == text
    written = "I understand. Will you be able to pay in May? I will mark the account and send the bill."
    assert redact(written) == written


def test_everyday_names_are_masked_after_a_cue():
    assert redact("my name is will and i will pay next week") == f"my name is {NAME} and i will pay next week"
    assert redact("this is bill i got the bill") == f"this is {NAME} i got the bill"
    assert redact("grant here i applied for a grant") == f"{NAME} here i applied for a grant"


def test_amounts_in_text_are_numbers():
    assert redact("i can do $250 a month or two hundred fifty") == f"i can do ${NUMBER} a month or {NUMBER}"
    assert redact("seventy five or 80") == f"{NUMBER} or {NUMBER}"
    assert redact("no one told me the first payment was due") == "no one told me the first payment was due"


def test_a_ten_thousand_character_utterance_is_masked_in_linear_time():
    sentence = "my name is kwame osei and my number is five five five one two one two call me at 312-555-0187 "
    text = (sentence * (10_000 // len(sentence) + 1))[:10_000]
    start = time.perf_counter()
    masked = redact(text)
    assert time.perf_counter() - start < 1.0
    assert "kwame" not in masked and "555" not in masked and "five" not in masked
    assert masked.count(PHONE) >= 2 * (text.count("312-555-0187"))
    assert redact("word " * 2_000).split() == ["word"] * 2_000


def test_empty_and_odd_texts():
    assert redact("") == "" and find_pii("") == []
    assert redact("   ") == "   "
    assert redact("¿Señor Núñez? ok").startswith("¿")


def test_spans_are_ordered_disjoint_and_give_the_redacted_text():
    text = "this is sam rivera at 1209 north elm street my card is 4111 1111 1111 1111 and email sam@x.com"
    spans = find_pii(text, ["Sam Rivera"])
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    rebuilt, at = "", 0
    for span in spans:
        rebuilt += text[at : span.start] + span.tag
        at = span.end
    assert rebuilt + text[at:] == redact(text, ["Sam Rivera"])
    assert [s.tag for s in spans] == [NAME, ADDRESS, CARD, EMAIL]


def test_recall_on_the_labelled_set_reaches_the_goals():
    records = [json.loads(line) for line in LABELLED.read_text().splitlines()]
    assert len(records) >= 200
    report = score(records)
    recall = {label: figures["recall"] for label, figures in report["recall"].items()}
    for label in ("number", "phone", "email", "card", "account"):
        assert recall[label] >= 0.99, (label, report["misses"])
    for label in ("name", "address"):
        assert recall[label] >= 0.95, (label, report["misses"])
    assert report["precision"][NAME]["precision"] >= 0.95
    assert report["ordinary_words"]["rate"] <= 0.01
    assert report["everyday_name_words"]["rate"] <= 0.02
