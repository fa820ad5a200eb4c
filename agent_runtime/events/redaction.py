"""Redaction of personal data in stored user text: card numbers, e-mail addresses, digit runs, spelled-out numbers."""

from __future__ import annotations

import re

from agent_runtime.dst.text import digits_for_number_words

CARD = "[card]"
EMAIL = "[email]"
NUMBER = "[number]"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
# Lone number words that text2num leaves alone ("one", "two" ... ) still carry digits of a card or phone number.
_NUMBER_WORDS = re.compile(
    r"\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    r"thousand|million)\b",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Mask what could identify a person or an account; words around them stay readable."""
    text = _EMAIL.sub(EMAIL, text)
    text = _CARD.sub(CARD, text)
    text = digits_for_number_words(text)
    text = _CARD.sub(CARD, text)
    text = _DIGITS.sub(NUMBER, text)
    return _NUMBER_WORDS.sub(NUMBER, text)
