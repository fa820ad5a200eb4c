"""Compliance rules on top of the engine's guard (FDCPA / Regulation F), checked before and during a call.

- The opening discloses that this is an attempt to collect a debt (the "mini-Miranda").
- Calls are placed only between 8 am and 9 pm in the debtor's own timezone.
- No wording threatens, insults or misstates consequences: FORBIDDEN_PHRASES is checked over every template and
  every paraphrase (tests), and `check_wording` refuses such text at run time.
- A notice is given only once it is heard: where the debtor speaks over a line before its recording notice or its
  disclosure has played, `unheard_notices` names what the agent's next line must say again.
The cease and dispute answers themselves come from the engine's guard rules; the NLG words them.
"""

from __future__ import annotations

import re
from datetime import datetime, time

from agent_runtime.contracts.facts import CallFacts

DISCLOSURE = "This is an attempt to collect a debt, and any information obtained will be used for that purpose."
RECORDING_NOTICE = "This call is recorded."
# what marks each notice in a line, whatever its wording ("on a recorded line", "this call is recorded")
NOTICES = (
    (re.compile(r"recorded line|call is recorded", re.IGNORECASE), RECORDING_NOTICE),
    (re.compile(r"attempt to collect a debt", re.IGNORECASE), DISCLOSURE),
)
PERMITTED_FROM, PERMITTED_UNTIL = time(8, 0), time(21, 0)
# Threats, insults and misstated consequences a collector may never say (15 U.S.C. 1692d-e).
FORBIDDEN_PHRASES = (
    "arrest",
    "jail",
    "prison",
    "police",
    "criminal",
    "warrant",
    "deport",
    "seize",
    "repossess",
    "garnish",
    "sue you",
    "lawsuit",
    "take you to court",
    "ruin your credit",
    "destroy your credit",
    "tell your employer",
    "tell your family",
    "your neighbors",
    "you will regret",
    "or else",
    "final warning",
    "last chance",
    "deadbeat",
    "idiot",
    "stupid",
    "liar",
    "loser",
    "shame on you",
    "pathetic",
    "lazy",
    "irresponsible",
)
_FORBIDDEN = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in FORBIDDEN_PHRASES) + r")\b", re.IGNORECASE)


class ComplianceError(ValueError):
    pass


def forbidden_phrases_in(text: str) -> list[str]:
    return [m.group(0).lower() for m in _FORBIDDEN.finditer(text)]


def check_wording(text: str) -> str:
    """Return the text, or raise if it contains a forbidden phrase (the caller falls back to a safe template)."""
    found = forbidden_phrases_in(text)
    if found:
        raise ComplianceError(f"wording contains forbidden phrases: {found}")
    return text


def unheard_notices(line: str, heard: str | None) -> list[str]:
    """The notices `line` carried that the debtor did not hear before cutting it short after the words `heard`
    (None: not known, so none of them counts as heard)."""
    return [notice for marker, notice in NOTICES if marker.search(line) and not marker.search(heard or "")]


def call_permitted(facts: CallFacts, now: datetime) -> bool:
    """8 am to 9 pm in the debtor's timezone (Regulation F's convenient hours)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(facts.zone).time()
    return PERMITTED_FROM <= local < PERMITTED_UNTIL


def require_permitted_hours(facts: CallFacts, now: datetime) -> None:
    if not call_permitted(facts, now):
        local = now.astimezone(facts.zone)
        raise ComplianceError(f"calls are allowed 08:00-21:00 in {facts.timezone}; it is {local:%H:%M} there")
