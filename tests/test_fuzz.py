"""Property-based fuzzing (hypothesis) of what reads untrusted input: the DST, the amount reader, the event parser and
the events database reader.

Reproducible: every test runs derandomized (the examples follow from the test itself, not from a random seed or a
local example database), so CI sees the same inputs on every run. `FUZZ_SCALE=10 pytest tests/test_fuzz.py` runs ten
times as many examples (still derandomized); benchmarks/fuzz_events.py is the long, coverage-guided run.

What the first pass found is at the end of the file: each test failed before its fix.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from num2words import num2words
from pydantic import ValidationError

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import Contact, DSTOutput, Flag, Intent, Period, QuestionKind
from agent_runtime.contracts.events import (
    EVENT_SCHEMA_VERSION,
    CallClosed,
    CallOpened,
    MalformedEventError,
    TurnEvent,
    parse_event,
    read_event,
)
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import OfferKind, OfferTerms
from agent_runtime.contracts.outcome import FollowUp, OutcomeKind, OutcomeSummary
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.dst.amounts import MAX_AMOUNT, read_amount
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.events.store import SCHEMA, read_events

SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))
EVENT_TYPES = (CallOpened, TurnEvent, CallClosed)
FILLED_IN = {"event_id", "at"}  # the fields with default factories: a payload must carry them


def fuzz(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples * SCALE,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# ----------------------------------------------------------------------------------------------------------- texts

NUMBER_WORDS = (
    "zero one two five nine ten eleven nineteen twenty seventy ninety hundred thousand million billion trillion "
    "quadrillion quintillion and a couple few half point minus negative dollars dollar bucks usd $ k grand e10 e+308 "
    "month week every other pay i can do 0 00 0.5 1,000 1,000,000 999999 - , ."
).split()
WEIRD_CHARS = list("\x00\x7f\u200b\u202e\ufeff\ufdfa\u2028½٣①５𝟗ǅßİ")  # controls, bidi, NFKC expanders, digits


def _spelled(n: int) -> str:
    return num2words(n).replace("-", " ").replace(",", "")


utterances = st.one_of(
    st.text(max_size=200),  # any unicode, control characters included (no lone surrogates: a str from JSON or STT)
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Nd", "No", "Sc"]), max_size=80),
    st.lists(st.sampled_from(NUMBER_WORDS), max_size=30).map(" ".join),
    st.lists(st.one_of(st.sampled_from(NUMBER_WORDS + WEIRD_CHARS), st.text(max_size=4)), max_size=30).map("".join),
    st.builds(
        "{}{}{} {}".format,
        st.sampled_from(["", "$", "-$", "minus ", "i can pay "]),
        st.integers(min_value=0, max_value=10**400).map(str),  # huge numbers in digits
        st.sampled_from(["", "k", ".99", ",000", "e9"]),
        st.sampled_from(["", "dollars", "a month", "every two weeks", "days", "%"]),
    ),
    st.builds(
        "i can pay {} dollars {}".format,
        st.integers(min_value=0, max_value=10**27 - 1).map(_spelled),  # huge numbers in words
        st.sampled_from(["", "a month", "and 75 dollars", "right now"]),
    ),
    st.builds(lambda s, n: (s * n)[:10_000], st.text(min_size=1, max_size=12), st.integers(1, 10_000)),
)
LONG_TEXTS = ["9" * 10_000, "nine " * 2_000, "$" + "9" * 9_999, "\x00" * 10_000, "\ufdfa" * 10_000, "1," * 5_000]


@pytest.fixture(scope="module")
def trackers() -> tuple[DialogueStateTracker, DialogueStateTracker]:
    """The engine's tracker (cached) and an uncached one: both must read every text the same way."""
    return DialogueStateTracker(), DialogueStateTracker(cache_size=0)


@fuzz(1000)
@given(text=utterances, offer_pending=st.booleans(), asking_for_debtor=st.booleans())
@example(text="", offer_pending=False, asking_for_debtor=False)
@example(text="   \t\n ", offer_pending=True, asking_for_debtor=True)
@example(text="i can pay 1e308 dollars", offer_pending=False, asking_for_debtor=False)
@example(text="nine hundred ninety nine quintillion dollars", offer_pending=True, asking_for_debtor=False)
def test_the_dst_reads_any_text_into_a_valid_output(trackers, text, offer_pending, asking_for_debtor):
    cached, uncached = trackers
    out = cached.read(text, offer_pending, asking_for_debtor)  # as engine.py calls it
    assert type(out) is DSTOutput
    assert DSTOutput.model_validate(out.model_dump()) == out  # the contract's own validation
    json.dumps(out.to_json_dict(), allow_nan=False)  # what the events and the CLI write
    assert math.isfinite(out.sentiment) and -1.0 <= out.sentiment <= 1.0
    assert math.isfinite(out.confidence) and 0.0 <= out.confidence <= 1.0
    if out.amount is not None:
        assert math.isfinite(out.amount) and 0 < out.amount <= MAX_AMOUNT
        assert not out.amount_unclear
    assert cached.read(text, offer_pending, asking_for_debtor) == out  # deterministic, cached or not
    assert uncached.read(text, offer_pending, asking_for_debtor) == out


@pytest.mark.parametrize("text", LONG_TEXTS, ids=lambda t: f"{t[:3]!r}x{len(t)}")
def test_the_dst_reads_ten_thousand_characters(trackers, text):
    for context in [(False, False), (True, False), (False, True)]:
        out = trackers[1].read(text, *context)
        assert DSTOutput.model_validate(out.model_dump()) == out
        assert out.amount is None or 0 < out.amount <= MAX_AMOUNT


@fuzz(1000)
@given(text=st.one_of(utterances, st.text(max_size=40).map(str.lower)))
@example(text="$" + "9" * 400)  # float() of it is inf
@example(text="$0 and -5 dollars and 1e308 dollars and 1,000,001 dollars")
@example(text="pay 0.0000001 dollars")
def test_the_amount_reader_never_raises_and_reads_only_sane_amounts(text):
    reading = read_amount(text)
    assert reading.amount is None or (math.isfinite(reading.amount) and 0 < reading.amount <= MAX_AMOUNT)
    assert not (reading.unclear and reading.amount is not None)
    assert read_amount(text) == reading


# ---------------------------------------------------------------------------------------------------- valid events

finite = st.floats(allow_nan=False, allow_infinity=False)
unit = st.floats(0.0, 1.0)
ids = st.text(min_size=1, max_size=40)
# Producers write UTC; any whole-minute offset (and naive times) must survive JSON too.
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.one_of(st.none(), offsets)
)

facts = st.builds(
    CallFacts,
    debtor_name=st.text(min_size=1, max_size=120),
    balance=st.floats(0.01, 1_000_000),
    days_overdue=st.integers(0, 10_000),
    due_date=st.dates(),
    timezone=st.sampled_from(["America/New_York", "America/Chicago", "Europe/London", "UTC", "Asia/Kolkata"]),
    creditor=st.text(min_size=1, max_size=120),
    zip_code=st.none() | st.from_regex(r"\A[0-9]{5}\Z"),
    birth_year=st.none() | st.integers(1900, 2020),
)
dst_outputs = st.builds(
    DSTOutput,
    intent=st.sampled_from(Intent),
    sentiment=st.floats(-1.0, 1.0),
    amount=st.none() | st.floats(0, 1e12),
    period=st.none() | st.sampled_from(Period),
    flags=st.frozensets(st.sampled_from(Flag)),
    confidence=unit,
    contact=st.none() | st.sampled_from(Contact),
    question=st.none() | st.sampled_from(QuestionKind),
    amount_unclear=st.booleans(),
)
offers = st.builds(
    OfferTerms,
    kind=st.sampled_from(OfferKind),
    instalment=st.floats(0.01, 1e9),
    period=st.sampled_from(Period),
    n_payments=st.integers(1, 10_000),
    total=st.floats(0.01, 1e9),
    first_due=st.dates(),
    discount_pct=st.floats(0, 100),
    debtor_proposed=st.booleans(),
)
actions = st.none() | st.sampled_from(Action)
states = st.lists(finite, min_size=STATE_SIZE, max_size=STATE_SIZE)

calls_opened = st.builds(
    CallOpened,
    call_id=ids,
    at=times,
    facts=facts,
    channel=st.sampled_from(["voice", "text", "simulated"]),
    policy_version=st.text(max_size=40),
    dst_version=st.none() | st.text(max_size=40),
    templates_version=st.none() | st.text(max_size=40),
    persona=st.none() | st.text(max_size=40),
)
turns = st.builds(
    TurnEvent,
    call_id=ids,
    at=times,
    turn=st.integers(0, 2**63),
    started_at=times,
    user_text=st.text(max_size=300),
    stt_confidence=st.none() | unit,
    dst=dst_outputs,
    state=states,
    proposed_action=actions,
    executed_action=actions,
    guard_rule=st.none() | st.sampled_from(GuardRule),
    q_values=st.none() | st.lists(finite, max_size=12),
    offer=st.none() | offers,
    policy_version=st.text(max_size=40),
    dst_version=st.none() | st.text(max_size=40),
    agent_text=st.text(max_size=300),
    latencies_ms=st.dictionaries(st.sampled_from(LatencyStage), st.floats(0, 1e9)),
    ends_call=st.booleans(),
)
calls_closed = st.builds(
    CallClosed,
    call_id=ids,
    at=times,
    outcome=st.builds(
        OutcomeSummary,
        kind=st.sampled_from(OutcomeKind),
        success=st.booleans(),
        recovery=unit,
        committed_value=st.floats(0, 1e9),
        terms=st.none() | offers,
        do_not_contact=st.booleans(),
        follow_ups=st.lists(st.sampled_from(FollowUp), max_size=4),
    ),
    turns=st.integers(0, 10_000),
    final_state=states,
    reason=st.none() | st.text(max_size=500),
)
events = st.one_of(calls_opened, turns, calls_closed)


def parses_or_is_malformed(payload: str | bytes):
    """The parser's whole contract on untrusted input: an event of the current model, or MalformedEventError."""
    try:
        event, upgraded = read_event(payload)
    except MalformedEventError:
        return None
    assert isinstance(event, EVENT_TYPES) and isinstance(upgraded, bool)
    assert event.schema_version == EVENT_SCHEMA_VERSION
    again = parse_event(payload)  # deterministic: a payload must carry its own id and time
    assert again == event and again.model_dump_json() == event.model_dump_json()
    return event


@fuzz(300)
@given(event=events, as_bytes=st.booleans())
def test_every_valid_event_round_trips(event, as_bytes):
    payload = event.model_dump_json()
    assert read_event(payload.encode() if as_bytes else payload) == (event, False)


@fuzz(150)
@given(event=events, version=st.integers(1, EVENT_SCHEMA_VERSION - 1))
def test_older_schema_versions_of_a_valid_event_parse_as_it(event, version):
    older = json.loads(event.model_dump_json()) | {"schema_version": version}
    assert read_event(json.dumps(older)) == (event, True)


# ------------------------------------------------------------------------------------------------- untrusted input

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
EVENT_KEYS = sorted({k for model in EVENT_TYPES for k in model.model_fields})
event_like_objects = st.dictionaries(st.sampled_from(EVENT_KEYS) | st.text(max_size=10), json_values, max_size=12)


@fuzz(1000)
@given(payload=st.binary(max_size=400) | st.text(max_size=400))
@example(payload=b"\xff\xfe{\x00}\x00")
@example(payload=b'\xef\xbb\xbf{"schema_version": 4}')
@example(payload="1" * 5000)  # over Python's int-string limit
@example(payload="[" * 200 + "]" * 200)  # deep, but within the recursion limit (deeper: see the end of the file)
def test_arbitrary_bytes_are_an_event_or_malformed(payload):
    parses_or_is_malformed(payload)


@fuzz(500)
@given(value=json_values | event_like_objects, version=st.none() | st.integers(-1, EVENT_SCHEMA_VERSION + 1))
def test_arbitrary_json_is_an_event_or_malformed(value, version):
    if version is not None and isinstance(value, dict):
        value = value | {"schema_version": version}
    parses_or_is_malformed(json.dumps(value))


NASTY = st.one_of(
    json_values,
    st.sampled_from([10**20, -(10**20), 2**63, 2**64 + 1, 10**300, 10**4000, 1e308, -0.0, 5e-324, True, False, None]),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.sampled_from(["x" * 100_000, "9" * 5_000, "\x00", "", "2026-13-45T25:61:61Z", "1" * 30]),
    st.integers(1, 150).map(lambda depth: json.loads("[" * depth + "]" * depth)),  # under the recursion limit
)
RAW_SNIPPETS = ["NaN", "-Infinity", "1e999", "1" * 5_000, "[" * 50, "}", '"', "\\u0000", "\\ud800", ",,", "\x00"]


def _paths(value, prefix=()):
    """Every (container, key) pair under a JSON value: where a mutation can act."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield value, key
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_payloads(draw, sources=events):
    """A valid event's JSON with a few keys dropped, values changed to any type, huge numbers, NaN, long strings or
    any schema_version, and sometimes raw text spliced into the JSON."""
    raw = json.loads(draw(sources).model_dump_json())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["drop", "replace", "replace", "version", "add"]))
        if op == "version":
            raw["schema_version"] = draw(st.integers(-(2**70), 2**70) | st.integers(0, EVENT_SCHEMA_VERSION + 1))
            continue
        container, key = draw(st.sampled_from(list(_paths(raw))))
        if op == "drop":
            del container[key]
        elif op == "replace":
            container[key] = draw(NASTY)
        elif isinstance(container, dict):
            container[draw(st.text(max_size=12))] = draw(NASTY)
    text = json.dumps(raw)  # NaN and infinities written as JS literals, as json.dumps does
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(RAW_SNIPPETS)) + text[at + draw(st.integers(0, 3)) :]
    return text.encode() if draw(st.booleans()) else text


@fuzz(400)
@given(payload=mutated_payloads(calls_opened))
def test_mutated_call_opened_is_an_event_or_malformed(payload):
    parses_or_is_malformed(payload)


@fuzz(500)
@given(payload=mutated_payloads(turns))
def test_mutated_turn_is_an_event_or_malformed(payload):
    parses_or_is_malformed(payload)


@fuzz(400)
@given(payload=mutated_payloads(calls_closed))
def test_mutated_call_closed_is_an_event_or_malformed(payload):
    parses_or_is_malformed(payload)


# ------------------------------------------------------------------------------------------------ events database

INSERT_ROW = (
    "INSERT INTO events (event_id, schema_version, type, call_id, turn, at, state_spec_version, payload, delivered) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)"
)


def _database(folder: str, payloads: list, call_ids: list[str]) -> tuple[Path, int]:
    """An events database (the store's own schema) holding `payloads`; how many rows its CHECK let in."""
    path = Path(folder) / "events.db"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    stored = 0
    for i, payload in enumerate(payloads):
        try:
            db.execute(INSERT_ROW, (f"e{i}", 4, "turn", call_ids[i % len(call_ids)], i, "x", None, payload))
            stored += 1
        except sqlite3.Error:  # json_valid(payload) refused it: the store could never hold it
            pass
    db.commit()
    db.close()
    return path, stored


stored_payloads = st.lists(
    st.one_of(
        events.map(lambda e: e.model_dump_json()),
        mutated_payloads(),
        json_values.map(json.dumps),
        st.text(max_size=60),
        st.binary(max_size=60),
        st.integers(-(2**63), 2**63 - 1),  # what an INTEGER column holds
    ),
    min_size=1,
    max_size=8,
)


@fuzz(100)
@given(payloads=stored_payloads, call_ids=st.lists(st.text(max_size=10), min_size=1, max_size=3))
def test_reading_a_database_of_arbitrary_payloads_skips_what_is_not_an_event(payloads, call_ids):
    with tempfile.TemporaryDirectory() as folder:
        path, stored = _database(folder, payloads, call_ids)
        errors: list = []
        read = list(read_events(path, errors=errors))
    assert all(isinstance(e, EVENT_TYPES) for e in read)
    assert all(isinstance(e, MalformedEventError) for e in errors)
    assert len(read) + len(errors) == stored


# ------------------------------------------------- what the first fuzzing pass found (each failed before its fix)

DEEP = 100_000


@pytest.mark.parametrize(
    "payload",
    [
        "[" * DEEP,
        '{"a":' * DEEP,
        ("[" * 1_500 + "]" * 1_500).encode(),
        '{"schema_version": 4, "type": "turn", "call_id": "c", "x": ' + "[" * 1_500 + "]" * 1_500 + "}",
    ],
    ids=["list", "object", "closed-bytes", "inside-an-event"],
)
def test_deeply_nested_json_is_malformed(payload):
    with pytest.raises(MalformedEventError):
        parse_event(payload)


def _facts(**overrides) -> CallFacts:
    fields = {"debtor_name": "Sam Rivera", "balance": 1200.0, "days_overdue": 90, "due_date": date(2025, 10, 1)}
    return CallFacts(**(fields | {"creditor": "Northwind Bank"} | overrides))


def _turn(**overrides) -> dict:
    fields = {
        "call_id": "c",
        "turn": 0,
        "started_at": datetime(2026, 1, 5, tzinfo=UTC),
        "user_text": "i can pay fifty",
        "dst": DSTOutput(intent=Intent.WILLING, sentiment=0.1, amount=50),
        "state": [0.0] * STATE_SIZE,
        "proposed_action": Action.OFFER_PAYMENT_PLAN,
        "executed_action": Action.OFFER_PAYMENT_PLAN,
        "policy_version": "p",
        "agent_text": "ok",
    }
    return fields | overrides


NON_FINITE = {  # built when the test runs: the contracts now refuse some of them at construction
    "state-nan": lambda: {"state": [math.nan] * STATE_SIZE},
    "q-values-inf": lambda: {"q_values": [math.inf] * 9},
    "latency-nan": lambda: {"latencies_ms": {LatencyStage.STT: math.nan}},
    "dst-amount-inf": lambda: {"dst": DSTOutput(intent=Intent.WILLING, sentiment=0.0, amount=math.inf)},
    "offer-inf": lambda: {
        "offer": OfferTerms(
            kind=OfferKind.PLAN,
            instalment=math.inf,
            period=Period.MONTHLY,
            n_payments=3,
            total=math.inf,
            first_due=date(2026, 1, 12),
            discount_pct=0,
        )
    },
}


@pytest.mark.parametrize("overrides", NON_FINITE.values(), ids=NON_FINITE.keys())
def test_a_non_finite_float_is_refused_or_round_trips(overrides):
    """Either the contract refuses the value up front, or the event it accepted reads back as it was written."""
    try:
        event = TurnEvent(**_turn(**overrides()))
    except ValidationError:
        return
    payload = event.model_dump_json()
    parsed = parse_event(payload)
    assert parsed.model_dump_json() == payload
    assert repr(parsed.model_dump()) == repr(event.model_dump())  # repr: NaN equals NaN here


def test_a_payload_with_nan_is_refused_or_round_trips():
    raw = json.loads(TurnEvent(**_turn()).model_dump_json()) | {"state": [math.nan] * STATE_SIZE}
    try:
        event = parse_event(json.dumps(raw))
    except MalformedEventError:
        return
    payload = event.model_dump_json()
    assert parse_event(payload).model_dump_json() == payload


@pytest.mark.parametrize(
    "payload",
    [b'{"user_text": "\xff"}', ("[" * 1_500 + "]" * 1_500).encode()],
    ids=["invalid-utf8-text", "deeply-nested"],
)
def test_a_database_with_an_unreadable_payload_is_read_with_errors(tmp_path, payload):
    db = sqlite3.connect(tmp_path / "events.db")
    db.executescript(SCHEMA)
    db.execute(INSERT_ROW.replace("?, 0)", "CAST(? AS TEXT), 0)"), ("bad", 4, "turn", "a", 0, "x", None, payload))
    good = TurnEvent(**_turn(call_id="b"))
    db.execute(INSERT_ROW, (good.event_id, 4, "turn", "b", 0, "x", None, good.model_dump_json()))
    db.commit()
    db.close()
    errors: list = []
    assert list(read_events(tmp_path / "events.db", errors=errors)) == [good]
    assert len(errors) == 1


@pytest.mark.parametrize("missing", sorted(FILLED_IN))
def test_reading_an_event_is_deterministic_or_refuses_a_payload_without_its_identity(missing):
    raw = json.loads(TurnEvent(**_turn()).model_dump_json())
    del raw[missing]
    try:
        first = parse_event(json.dumps(raw))
    except MalformedEventError:
        return
    time.sleep(0.002)  # a time filled in at reading differs for sure
    assert parse_event(json.dumps(raw)) == first


@pytest.mark.parametrize(
    "zone", ["America", "Etc", "x" * 300, "C/" * 400 + "C"], ids=["directory", "subdirectory", "too-long", "deep-path"]
)
def test_a_call_opened_with_a_bad_time_zone_is_malformed(zone):
    raw = json.loads(CallOpened(call_id="c", facts=_facts(), policy_version="p").model_dump_json())
    raw["facts"]["timezone"] = zone
    with pytest.raises(MalformedEventError):
        parse_event(json.dumps(raw))
    with pytest.raises(ValidationError):
        _facts(timezone=zone)


@pytest.mark.parametrize("version", [1, EVENT_SCHEMA_VERSION])
@pytest.mark.parametrize("field", ["policy_version", "persona"])
def test_an_accepted_event_can_be_written_as_json_again(version, field):
    raw = json.loads(CallOpened(call_id="c", facts=_facts(), policy_version="p").model_dump_json())
    payload = json.dumps(raw | {"schema_version": version, field: "\ud800"})  # ASCII JSON, a lone surrogate escaped
    try:
        event = parse_event(payload)
    except MalformedEventError:
        return
    assert parse_event(event.model_dump_json()) == event
