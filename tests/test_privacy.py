"""Privacy by default: stored events carry no identity in clear and no personal data in their texts, replay learns
the same from them, logs carry none at any level, and retention deletes whole calls from the disk."""

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from agent_runtime import retention
from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.events import CallOpened, TurnEvent
from agent_runtime.contracts.transitions import IncompleteCall, call_transitions
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.events.outbox import Outbox
from agent_runtime.events.privacy import REFERENCE_PREFIX, EventProtector, identity_reference
from agent_runtime.events.store import EventStore, quarantine_row, read_events
from agent_runtime.logs import configure_logging
from agent_runtime.policy_source import load_policy
from agent_runtime.services import CallServices
from simulator.calls import simulated_debtor, talk
from telemetry.metrics import RuntimeMetrics

KEY = b"k" * 32


class Collected:
    def __init__(self):
        self.events = []

    async def add(self, event):
        self.events.append(event)


async def simulated_calls(path, calls: int = 6, protector: EventProtector | None = None):
    """`calls` simulated calls into an outbox at `path`; returns the events as the controller produced them."""
    store = await EventStore.open(path)
    outbox, clear = Outbox(store, protector or EventProtector(KEY)), Collected()
    services = CallServices(
        load_policy("scripted:best_practice"),
        DialogueStateTracker(),
        RuntimeMetrics(CollectorRegistry()),
        (outbox, clear),
    )
    for seed in range(calls):
        who = simulated_debtor(seed)
        await talk(who.controller(services, f"call-{seed}"), who)
    await outbox.close()
    await store.close()
    return clear.events


async def test_stored_calls_hold_a_keyed_reference_and_no_name_in_any_text(tmp_path):
    clear = await simulated_calls(tmp_path / "events.db")
    stored = list(read_events(tmp_path / "events.db"))
    assert len(stored) == len(clear)
    names = {e.facts.debtor_name for e in clear if isinstance(e, CallOpened)}
    for event in stored:
        if isinstance(event, CallOpened):
            assert event.facts.debtor_name.startswith(REFERENCE_PREFIX) and event.facts.identity_protected
            assert event.facts.zip_code is None and event.facts.birth_year is None
        assert not [name for name in names if name in event.model_dump_json()]
        if isinstance(event, TurnEvent):
            texts = f"{event.user_text} {event.agent_text}"
            assert not [part for name in names for part in name.split() if part in texts], texts
    spoken = [e.agent_text for e in clear if isinstance(e, TurnEvent)]
    assert any(name.split()[0] in text for text in spoken for name in names)  # the clear calls did say the names


async def test_replay_builds_the_same_transitions_from_protected_events(tmp_path):
    clear = await simulated_calls(tmp_path / "events.db")
    stored = list(read_events(tmp_path / "events.db"))
    used = 0
    for call in {e.call_id for e in clear}:
        expected = transitions_or_reason([e for e in clear if e.call_id == call])
        got = transitions_or_reason([e for e in stored if e.call_id == call])
        if isinstance(expected, str):  # a call that never reached the debtor: skipped alike
            assert got == expected
            continue
        used += 1
        assert len(got) == len(expected) > 0
        for a, b in zip(expected, got, strict=True):
            assert a.action == b.action and a.reward == b.reward and a.done == b.done
            np.testing.assert_array_equal(a.state, b.state)
            np.testing.assert_array_equal(a.next_state, b.next_state)
    assert used >= 3
    balances = sorted(e.facts.balance for e in stored if isinstance(e, CallOpened))
    assert balances == sorted(e.facts.balance for e in clear if isinstance(e, CallOpened))


def transitions_or_reason(events):
    try:
        return call_transitions(events)
    except IncompleteCall as exc:
        return str(exc)


async def test_the_words_heard_of_a_line_cut_short_are_redacted_too(constant_call):
    sink = Collected()
    call = constant_call(Action.EMPATHETIC_LISTENING, sinks=(sink,))
    await call.open()
    call.reply_cut_short(2.0, f"Hello, may I speak with {call.facts.debtor_name}")
    await call.respond("who is this")
    protector = EventProtector(KEY)
    opened, turn = (protector.protect(event) for event in sink.events)
    assert opened.facts.identity_protected
    assert turn.interrupted_reply.heard_ms == 2000.0
    assert not [part for part in call.facts.debtor_name.split() if part in turn.interrupted_reply.heard_text]


def test_identity_references_match_under_one_key_only():
    assert identity_reference("Ana  Lopez", KEY) == identity_reference("ana lopez", KEY)
    assert identity_reference("Ana Lopez", KEY) != identity_reference("Ana Lopes", KEY)
    assert identity_reference("Ana Lopez", KEY) != identity_reference("Ana Lopez", b"o" * 32)


async def test_texts_stay_in_clear_only_when_redaction_is_turned_off(tmp_path):
    clear = await simulated_calls(tmp_path / "events.db", calls=1, protector=EventProtector(KEY, redact_text=False))
    stored = list(read_events(tmp_path / "events.db"))
    said = [e.user_text for e in clear if isinstance(e, TurnEvent)]
    assert [e.user_text for e in stored if isinstance(e, TurnEvent)] == said
    assert next(e for e in stored if isinstance(e, CallOpened)).facts.identity_protected  # identity always


async def test_logs_carry_no_personal_data_even_at_debug(tmp_path, caplog):
    configure_logging(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    clear = await simulated_calls(tmp_path / "events.db", calls=2)
    logging.getLogger("livekit.agents").debug(
        "received user transcript", extra={"lk.pii.user_transcript": "this is Ana Lopez at 12 Elm Street"}
    )
    words = {e.facts.debtor_name for e in clear if isinstance(e, CallOpened)} | {"Ana Lopez", "Elm Street"}
    words |= {e.user_text for e in clear if isinstance(e, TurnEvent) and len(e.user_text) > 12}
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "received user transcript" in logged  # the record itself still arrives
    assert not [w for w in words if w in logged]


async def test_retention_deletes_whole_old_calls_from_the_file(tmp_path, capsys):
    path = tmp_path / "events.db"
    clear = await simulated_calls(path, calls=2)
    old_call = clear[0].call_id
    long_ago = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    with sqlite3.connect(path) as db:  # the first call happened 40 days ago
        db.execute("UPDATE events SET at = ? WHERE call_id = ?", (long_ago, old_call))
        row = quarantine_row("t/x", b"{forged", "malformed", "not json")
        db.execute("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?)", (row[0], long_ago, *row[2:]))
    assert retention.main(["--older-than-days", "30", "--dry-run", str(path)]) == 0
    assert "would delete 1 call(s)" in capsys.readouterr().out
    assert {e.call_id for e in read_events(path)} == {e.call_id for e in clear}
    assert retention.main(["--older-than-days", "30", str(path)]) == 0
    assert "deleted 1 call(s)" in capsys.readouterr().out
    assert {e.call_id for e in read_events(path)} == {e.call_id for e in clear} - {old_call}
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    assert old_call.encode() not in path.read_bytes()  # overwritten, not only unlinked


def test_retention_refuses_bad_arguments_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        retention.main(["--older-than-days", "0", str(tmp_path / "x.db")])
    assert exit_.value.code == 2
    assert retention.main(["--older-than-days", "7", str(tmp_path / "missing.db")]) == 1
    assert capsys.readouterr().out.strip().count("\n") == 0
