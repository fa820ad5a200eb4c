"""The contract's flags, read by patterns that tolerate STT text (no apostrophes, no punctuation)."""

from __future__ import annotations

import re

from agent_runtime.contracts.dst import Flag

FLAG_PATTERNS: dict[Flag, re.Pattern[str]] = {
    Flag.MENTIONS_ATTORNEY: re.compile(r"\b(?:attorney|lawyer|legal counsel|legal aid|my counsel)s?\b"),
    Flag.MENTIONS_BANKRUPTCY: re.compile(r"\bbankrupt(?:cy)?\b|chapter (?:7|13|seven|thirteen)\b"),
    Flag.WRONG_PERSON: re.compile(
        r"wrong (?:number|person|guy|lady|name)|no (?:one|body) (?:here )?(?:by|named|with) that name|"
        r"(?:i'?m|im|i am) not (?:him|her|them|that person)|doesn'?t live here|dont know (?:who|any)|"
        r"never heard of (?:him|her|them|that)|who is that"
    ),
    Flag.IDENTITY_THEFT: re.compile(
        r"identity (?:theft|was stolen|stolen)|stole my identity|fraudulent|\bfraud\b|"
        r"someone opened|never opened"
    ),
    Flag.ALREADY_PAID: re.compile(
        # "if i paid" is a payment offered ("if i paid 600 to settle"); "paid in full" is a claim only with who paid
        # or what is paid ("we paid in full", "it was paid in full"), not as the name of a status or a payment to come
        # ("reported as paid in full", "eleven hundred paid in full friday")
        r"already (?:paid|settled|payed)|(?<!if )\bi (?:paid|settled|payed)|"
        r"(?<!if i )paid (?:it|that|this) (?:off|already)|was paid off|"
        r"(?<!if )\b(?:we|he|she|they|husband|wife|mom|mother|dad|father|son|daughter|was|were|been|is|its|it's|"
        r"thats|that's)(?: already)? paid in full|"
        r"have (?:a |the )?receipt"
    ),
    Flag.ASKS_VALIDATION: re.compile(
        r"\bprove\b|\bproof\b|validat|verif|in writing|written (?:notice|proof)|"
        r"send me (?:something|the paperwork|papers|documentation|a letter)|"
        r"documentation|paperwork"
    ),
    Flag.ASKS_SUPERVISOR: re.compile(r"supervisor|manager|your boss|someone in charge|higher up"),
    Flag.WRITTEN_ONLY: re.compile(
        r"(?:only|just) (?:in writing|by mail|by letter|write|mail)|"
        r"(?:in writing|by mail|by letter) only|(?:write|mail) me (?:instead|only)|"
        r"put it in writing"
    ),
    Flag.CALLBACK_REQUEST: re.compile(
        r"call (?:me )?(?:back|later|tomorrow|next week|another time)|"
        r"(?:not|bad) a good time|another time|some other time|later"
    ),
}


# One alternation scanned once is ~5x faster than nine searches; the simulator reads every utterance.
_ANY_FLAG = re.compile("|".join(f"(?P<{flag.value}>{pattern.pattern})" for flag, pattern in FLAG_PATTERNS.items()))


# Every flag pattern contains one of these; most utterances contain none, and a substring test is cheap.
_CUES = (
    "attorney",
    "lawyer",
    "counsel",
    "legal",
    "bankrupt",
    "chapter",
    "wrong",
    "no one",
    "nobody",
    "not him",
    "not her",
    "not them",
    "not that",
    "live here",
    "know who",
    "know any",
    "never heard",
    "who is that",
    "identity",
    "stole",
    "fraud",
    "opened",
    "paid",
    "settled",
    "payed",
    "receipt",
    "prove",
    "proof",
    "validat",
    "verif",
    "writing",
    "written",
    "send me",
    "documentation",
    "paperwork",
    "supervisor",
    "manager",
    "boss",
    "in charge",
    "higher up",
    "mail",
    "letter",
    "write",
    "call",
    "another time",
    "other time",
    "later",
    "good time",
)


def read_flags(text: str) -> frozenset[Flag]:
    if not any(cue in text for cue in _CUES):
        return frozenset()
    return frozenset(Flag(match.lastgroup) for match in _ANY_FLAG.finditer(text))
