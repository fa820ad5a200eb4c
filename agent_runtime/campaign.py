"""Campaign rules: whether an account may be called now, decided before anything is dialled.

A call is refused when
- the account has no number to call, or a flag that forbids calling (bankruptcy, attorney, time-barred debt);
- its number is on the do-not-contact list: a call to it ended with a cease request (or another do-not-contact
  outcome) or reached a wrong number. The list is what the events store says (`ContactHistory.read`), matched on the
  number's keyed reference (agent_runtime.events.privacy), so it needs the same EVENTS_IDENTITY_KEY as the producers;
- it is outside the permitted hours in the debtor's time zone (8 a.m. to 9 p.m., agent_runtime.compliance);
- Regulation F's call frequency (12 CFR 1006.14(b)): 7 call attempts within 7 consecutive days for this debt, or a
  telephone conversation with the debtor within the last 7 days.

The dispatcher (agent_runtime.dispatch) asks before each dispatch and counts each call it places; the worker asks
again when a job starts, so a number that asked to stop in between is never called.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from agent_runtime.compliance import call_permitted
from agent_runtime.contracts.events import CallClosed, CallOpened
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.outcome import UNREACHED_OUTCOMES, OutcomeKind
from agent_runtime.events.privacy import phone_reference
from agent_runtime.events.store import closed_calls_to, is_database_url, read_events

ATTEMPTS_PER_WEEK = 7
WEEK = timedelta(days=7)


@dataclass
class ContactHistory:
    blocked: dict[str, str] = field(default_factory=dict)  # phone_ref -> why it may not be called
    attempts: dict[str, list[tuple[datetime, bool]]] = field(default_factory=lambda: defaultdict(list))
    # account id -> (when a call was placed, whether it was a conversation with the debtor)

    def record(self, closed: CallClosed | None, phone_ref: str | None) -> None:
        if phone_ref is not None and closed is not None and (reason := block_reason(closed)):
            self.blocked[phone_ref] = reason

    def placed(self, account_id: str, at: datetime, conversation: bool = False) -> None:
        self.attempts[account_id].append((at, conversation))

    @classmethod
    def read(cls, source: Path | str) -> ContactHistory:
        """The do-not-contact list and the call attempts an events store holds (SQLite file or PostgreSQL URL)."""
        history = cls()
        opened: dict[str, CallOpened] = {}
        closed: dict[str, CallClosed] = {}
        if not is_database_url(source) and not Path(source).exists():
            return history
        try:
            for event in read_events(source, errors=[]):
                if isinstance(event, CallOpened) and (event.facts.account_id or event.facts.phone_ref):
                    opened[event.call_id] = event
                elif isinstance(event, CallClosed):
                    closed[event.call_id] = event
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{source} is not an events database: {exc}") from None
        for call_id, start in opened.items():
            end = closed.get(call_id)
            kind = end.outcome.kind if end else None
            history.record(end, start.facts.phone_ref)
            if start.facts.account_id:
                conversation = kind is not None and kind not in UNREACHED_OUTCOMES
                history.placed(start.facts.account_id, start.at, conversation)
        return history


def block_reason(closed: CallClosed) -> str | None:
    """Why a call's end puts its number on the do-not-contact list, or None."""
    if closed.outcome.do_not_contact:
        return "the debtor asked not to be contacted"
    if closed.outcome.kind is OutcomeKind.WRONG_NUMBER:
        return "a wrong number"
    return None


def do_not_contact(source: Path | str, phone_number: str, identity_key: bytes) -> str | None:
    """Why this number is on the do-not-contact list of the store at `source`, or None: one indexed lookup, for the
    worker's check when a job starts."""
    reference = phone_reference(phone_number, identity_key)
    return next(filter(None, map(block_reason, closed_calls_to(source, reference))), None)


def refusal(facts: CallFacts, now: datetime, history: ContactHistory, identity_key: bytes) -> str | None:
    """Why this account may not be called now, or None."""
    if facts.phone_number is None or facts.account_id is None:
        return "no account id or number to call"
    if facts.account_flags:
        return f"the account is flagged: {', '.join(sorted(facts.account_flags))}"
    if reason := history.blocked.get(phone_reference(facts.phone_number, identity_key)):
        return f"do not contact: {reason}"
    if not call_permitted(facts, now):
        return "outside the permitted hours in the debtor's time zone"
    recent = [(at, talked) for at, talked in history.attempts.get(facts.account_id, []) if now - at < WEEK]
    if len(recent) >= ATTEMPTS_PER_WEEK:
        return f"{len(recent)} call attempts in the last 7 days (Regulation F allows {ATTEMPTS_PER_WEEK})"
    if conversations := [at for at, talked in recent if talked]:
        return f"a conversation with the debtor on {max(conversations):%Y-%m-%d}: no call within 7 days after it"
    return None
