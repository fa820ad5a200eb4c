"""Campaign rules before dialling: the do-not-contact list fed by the calls themselves, account flags, permitted
hours and Regulation F's frequency limits; the dispatcher's requests to LiveKit."""

import argparse
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from agent_runtime import dispatch
from agent_runtime.campaign import ContactHistory, refusal
from agent_runtime.contracts.events import CallOpened
from agent_runtime.contracts.facts import AccountFlag, CallFacts
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.events.outbox import Outbox
from agent_runtime.events.privacy import EventProtector
from agent_runtime.events.store import EventStore, read_events
from agent_runtime.policy_source import load_policy
from agent_runtime.services import CallServices
from telemetry.metrics import RuntimeMetrics

KEY = b"campaign-identity-key-0123456789"
NOON_IN_NEW_YORK = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)


def account(n: int = 1, **changes) -> CallFacts:
    fields = {
        "debtor_name": "Dana Whitfield", "balance": 840.0, "days_overdue": 75, "due_date": date(2025, 12, 1),
        "creditor": "Northwind Bank", "account_id": f"acct-{n}", "phone_number": f"+1555010{n:04d}",
    }  # fmt: skip
    return CallFacts(**(fields | changes))


async def a_call(path, facts: CallFacts, lines: list[str]) -> None:
    store = await EventStore.open(path)
    outbox = Outbox(store, EventProtector(KEY))
    services = CallServices(load_policy("scripted:best_practice"), DialogueStateTracker(),
                            RuntimeMetrics(CollectorRegistry()), (outbox,))  # fmt: skip
    call = services.new_call(facts, today=date(2026, 3, 3), channel="text", clock=lambda: NOON_IN_NEW_YORK)
    await call.open()
    for line in lines:
        if (await call.respond(line)).ends_call:
            break
    await outbox.close()
    await store.close()


async def test_a_cease_request_in_one_call_blocks_the_next_dispatch_to_that_number(tmp_path):
    db = tmp_path / "events.db"
    await a_call(db, account(1), ["yes speaking", "stop calling me"])
    await a_call(db, account(2), ["yes speaking", "i can pay fifty a month"])
    (opened, *_) = [e for e in read_events(db) if isinstance(e, CallOpened)]
    assert opened.facts.phone_number is None and opened.facts.phone_ref.startswith("phone:")  # stored protected
    history = ContactHistory.read(db)
    later = NOON_IN_NEW_YORK + timedelta(days=10)
    assert refusal(account(1), later, history, KEY) == "do not contact: the debtor asked not to be contacted"
    assert refusal(account(2), later, history, KEY) is None
    assert refusal(account(1), later, history, b"another-key-0123456789") is None  # references need the same key


async def test_a_wrong_number_is_never_called_again(tmp_path):
    db = tmp_path / "events.db"
    await a_call(db, account(3), ["you have the wrong number"])
    assert "wrong number" in refusal(account(3), NOON_IN_NEW_YORK, ContactHistory.read(db), KEY)


def test_regulation_f_limits_attempts_and_calls_after_a_conversation():
    history = ContactHistory()
    for day in range(6):
        history.placed("acct-1", NOON_IN_NEW_YORK - timedelta(days=day, hours=1))
    assert refusal(account(1), NOON_IN_NEW_YORK, history, KEY) is None  # 6 attempts in 7 days
    history.placed("acct-1", NOON_IN_NEW_YORK - timedelta(hours=2))
    assert "7 call attempts" in refusal(account(1), NOON_IN_NEW_YORK, history, KEY)
    assert refusal(account(1), NOON_IN_NEW_YORK + timedelta(days=8), history, KEY) is None
    talked = ContactHistory()
    talked.placed("acct-2", NOON_IN_NEW_YORK - timedelta(days=3), conversation=True)
    assert "conversation" in refusal(account(2), NOON_IN_NEW_YORK, talked, KEY)
    assert refusal(account(2), NOON_IN_NEW_YORK + timedelta(days=5), talked, KEY) is None


@pytest.mark.parametrize(
    ("facts", "now", "reason"),
    [
        (account(1, account_flags={AccountFlag.BANKRUPTCY}), NOON_IN_NEW_YORK, "flagged: bankruptcy"),
        (account(1, account_flags={AccountFlag.ATTORNEY}), NOON_IN_NEW_YORK, "flagged: attorney"),
        (account(1), NOON_IN_NEW_YORK.replace(hour=3), "permitted hours"),  # 10 p.m. in New York
        (account(1, phone_number=None), NOON_IN_NEW_YORK, "no account id or number"),
    ],
)
def test_flags_hours_and_missing_numbers_refuse_the_call(facts, now, reason):
    assert reason in refusal(facts, now, ContactHistory(), KEY)


def test_the_dispatcher_builds_an_agent_dispatch_and_a_sip_call_and_counts_its_own(tmp_path):
    accounts = [account(1), account(2, account_flags={AccountFlag.TIME_BARRED})]
    history = ContactHistory()
    for day in range(6):
        history.placed("acct-1", NOON_IN_NEW_YORK - timedelta(days=day, hours=1))
    allowed, refused = dispatch.plan(accounts * 2, history, NOON_IN_NEW_YORK, KEY, "ST_trunk")
    assert [f.account_id for f, _ in allowed] == ["acct-1"]  # its 7th attempt; the file's second one would be 8th
    assert [(f.account_id, "7 call attempts" in r or "flagged" in r) for f, r in refused] == [
        ("acct-2", True), ("acct-1", True), ("acct-2", True)
    ]  # fmt: skip
    (facts, requests), = allowed
    assert requests.agent.agent_name == "collector" and requests.agent.room == requests.room
    assert CallFacts.model_validate_json(requests.agent.metadata) == facts
    assert (requests.dial.sip_trunk_id, requests.dial.sip_call_to, requests.dial.room_name) == (
        "ST_trunk", "+15550100001", requests.room
    )  # fmt: skip


def test_dispatch_dry_run_reports_every_account_without_its_number(tmp_path, monkeypatch, capsys):
    calls = tmp_path / "accounts.jsonl"
    calls.write_text("\n".join(f.model_dump_json() for f in (account(1), account(2, account_flags={"attorney"}))))
    monkeypatch.setenv("EVENTS_IDENTITY_KEY", KEY.decode())
    args = argparse.Namespace(calls=calls, events=str(tmp_path / "none.db"), dry_run=True)
    assert dispatch.main(args) == 0
    out = capsys.readouterr().out
    assert "refused acct-2: the account is flagged: attorney" in out and "+1555" not in out
    assert out.strip().endswith("of 2 accounts")


def test_dispatch_refuses_bad_input_in_one_line(tmp_path, monkeypatch, capsys):
    calls = tmp_path / "accounts.jsonl"
    calls.write_text(json.dumps({"debtor_name": "x"}) + "\n")
    args = argparse.Namespace(calls=calls, events=None, dry_run=True)
    monkeypatch.delenv("EVENTS_IDENTITY_KEY", raising=False)
    assert dispatch.main(args) == 2
    assert "EVENTS_IDENTITY_KEY" in capsys.readouterr().err
    monkeypatch.setenv("EVENTS_IDENTITY_KEY", KEY.decode())
    assert dispatch.main(args) == 2
    assert capsys.readouterr().err.startswith(f"error: {calls}:1: Field required")


async def test_the_workers_last_moment_check_finds_a_number_that_asked_to_stop(tmp_path, monkeypatch):
    from agent_runtime.settings import load_settings
    from agent_runtime.worker import number_blocked

    db = tmp_path / "events.db"
    await a_call(db, account(4), ["yes speaking", "stop calling me"])
    settings = load_settings(events_identity_key=KEY.decode(), events_db=db)
    assert number_blocked(settings, account(4)) == "the debtor asked not to be contacted"
    assert number_blocked(settings, account(5)) is None
    assert number_blocked(settings, account(4, phone_number=None)) is None
