"""Who answered the phone, and what a question asks (dst.v2), read by patterns that tolerate STT text.

Both read normalised text (lower case, numbers as digits, no punctuation needed). A reply to "may I speak with
NAME?" is a voicemail greeting, a wrong number, someone else, or the debtor; questions are sorted into the kinds the
wording answers from the call facts. Most utterances hold neither, so a cheap substring test comes first.
"""

from __future__ import annotations

import re
from typing import TypeVar

from agent_runtime.contracts.dst import Contact, QuestionKind

T = TypeVar("T")

# Earlier entries win: a greeting that says "you've reached" is a voicemail even if it says a name.
CONTACT_PATTERNS: tuple[tuple[Contact, re.Pattern[str]], ...] = (
    (
        Contact.VOICEMAIL,
        re.compile(
            r"you(?:'?ve| have) reached|leave (?:a |your )?(?:message|name and number)|after the (?:tone|beep)|"
            r"voice ?mail|not available (?:right now|to take your call)|can'?t (?:come to|take) the phone|"
            r"mailbox|record your message"
        ),
    ),
    (
        Contact.WRONG_NUMBER,
        re.compile(
            r"wrong (?:number|person)|no (?:one|body) (?:here |lives here )?(?:by|named|with|called) that name|"
            r"(?:don'?t|do not) know (?:any|a|who|anyone)|(?:doesn'?t|does not|don'?t|do not) live here|"
            r"never heard of|no (?:one|body) (?:here )?(?:by that name|like that)|there(?:'?s| is) no \w+ here"
        ),
    ),
    (
        Contact.THIRD_PARTY,
        re.compile(
            r"(?:he|she|they)(?:'?s|'?re| is| are) (?:not|out|at work|away|busy|sleeping|not in|unavailable)|"
            r"(?:isn'?t|is not|aren'?t) (?:here|home|in|available|around)|take a message|"
            r"this is (?:his|her|their) (?:wife|husband|mother|father|mom|dad|son|daughter|sister|brother|partner|"
            r"roommate|friend|colleague|boss)|(?:not|no) (?:home|here) right now|can i ask who(?:'?s| is) calling|"
            r"(?:he|she) (?:can'?t|cannot) come to the phone|i'?ll (?:tell|let) (?:him|her|them)"
        ),
    ),
    (
        Contact.CONFIRMS_IDENTITY,
        re.compile(
            r"^(?:yes|yeah|yep|yup|speaking|this is (?:he|she|him|her|me)|that'?s me|it'?s me|you got (?:him|her|me)|"
            r"that would be me|this is \w+|i am|i'?m \w+|sure|uh huh|mhm|correct)\b|\bspeaking\b|this is (?:he|she)\b|"
            r"that'?s me\b|it'?s me\b"
        ),
    ),
)
_CONTACT_CUES = (
    "reach", "message", "tone", "beep", "voice", "available", "phone", "mailbox", "record", "wrong", "name", "know",
    "live", "heard", "here", "home", "out", "work", "away", "busy", "sleep", "this is", "calling", "tell", "let",
    "yes", "yeah", "yep", "yup", "speak", "me", "sure", "uh huh", "mhm", "correct", "i am", "i'm", "im ",
)  # fmt: skip

QUESTION_PATTERNS: tuple[tuple[QuestionKind, re.Pattern[str]], ...] = (
    (
        QuestionKind.ARE_YOU_A_ROBOT,
        re.compile(
            r"\b(?:robot|bot|machine|computer|recording|automated|ai|artificial)\b|real (?:person|human)|"
            r"(?:a|an actual) (?:person|human)|are you human|is this a person"
        ),
    ),
    (
        QuestionKind.REPEAT,
        re.compile(
            r"say (?:that|it) again|repeat (?:that|it|yourself)|(?:come|say) again|what did you (?:just )?say|"
            r"didn'?t (?:catch|hear|get) (?:that|you|it)|^(?:sorry|pardon|what|huh|excuse me)$|pardon me|"
            r"(?:can|could) you repeat|one more time"
        ),
    ),
    (
        QuestionKind.WHICH_COMPANY,
        re.compile(
            r"(?:which|what) (?:company|business|bank|creditor|store|agency|firm|lender)|who do you (?:work|call) for|"
            r"who(?:'?s| is) (?:the|my) (?:creditor|lender)|what(?:'?s| is) the name of (?:the|your) company|"
            r"(?:company|agency) (?:are you|is this)|where are you calling from|who are you with"
        ),
    ),
    (
        QuestionKind.WHO_IS_CALLING,
        re.compile(
            r"who(?:'?s| is) (?:this|calling|speaking)|who are you|what(?:'?s| is) your name|"
            r"who am i (?:talking|speaking)"
        ),
    ),
    (
        QuestionKind.HOW_MUCH,
        re.compile(
            r"how much (?:do i|is|does|was|did|would)|what(?:'?s| is) the (?:balance|amount|total)|"
            r"how much money|what do i owe|the amount (?:i|that i) owe"
        ),
    ),
    (
        QuestionKind.DEBT_ORIGIN,
        re.compile(
            r"where (?:did|does) (?:this|that|the|it)(?: \w+)? come from|"
            r"what (?:is|was) (?:this|that|the) (?:debt|bill|charge|account) (?:for|from)|"
            r"what(?:'?s| is) this (?:about|for)|"
            r"what (?:debt|account|bill)|which (?:debt|account|bill)|what is this regarding|why are you calling"
        ),
    ),
    (
        QuestionKind.HOW_TO_PAY,
        re.compile(
            r"how (?:do|can|would|should) i (?:pay|make (?:a |the )?payment|send)|"
            r"where (?:do|can|should) i (?:pay|send)|"
            r"pay (?:online|by card|by phone)|payment options|(?:can|could) i pay (?:online|by)"
        ),
    ),
)
_QUESTION_CUES = (
    "robot", "bot", "machine", "computer", "record", "automat", "ai", "artificial", "real", "person", "human", "again",
    "repeat", "say", "catch", "hear", "sorry", "pardon", "what", "huh", "excuse", "one more", "which", "who", "where",
    "how", "why", "online", "pay by", "payment options",
)  # fmt: skip


def _first_match(text: str, cues: tuple[str, ...], patterns: tuple[tuple[T, re.Pattern[str]], ...]) -> T | None:
    """The label of the first pattern that matches, or None; text without any cue is not searched at all."""
    if not any(cue in text for cue in cues):
        return None
    return next((label for label, pattern in patterns if pattern.search(text)), None)


def read_contact(text: str) -> Contact | None:
    return _first_match(text, _CONTACT_CUES, CONTACT_PATTERNS)


def read_question(text: str) -> QuestionKind | None:
    return _first_match(text, _QUESTION_CUES, QUESTION_PATTERNS)
