"""Money amounts and payment periods from raw STT text ("seventy five a month", "$75", "a couple hundred")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_runtime.contracts.dst import Period
from agent_runtime.dst.text import digits_for_number_words

_NUMBER = r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*(k\b|grand\b)?"
_AMOUNT = re.compile(rf"\$\s*{_NUMBER}|{_NUMBER}")
# Numbers that count time or other things, not money.
_NOT_MONEY_AFTER = re.compile(
    r"\s*(?:-\s*)?(?:(?:days?|weeks?|months?|years?|hours?|minutes?|mins?|seconds?|kids?|children|times|"
    r"percent|am|pm|o'?clock|st|nd|rd|th|jobs?|people|calls?)\b|%|of (?:the|this|next) month)"
)
_RETIREMENT_PLAN = re.compile(r"\b401\s*\(?k\)?")  # a savings account, not $401,000
# A sum named only to be turned down: "40 a month, not 200", "150 instead of 300", "I can't do 200, but 75",
# "300 a month is too much", "fifty a week? not happening".
_REJECTED_BEFORE = re.compile(
    r"\b(?:(?:not|instead of|rather than)\s+(?:the\s+)?|"
    r"(?:can'?t|cannot|can not|couldn'?t|won'?t) (?:do|pay|afford|manage)\s+(?:the\s+|a\s+)?)\$?\s*$"
)
_REJECTED_AFTER = re.compile(
    r"(?:\s*(?:dollars?|bucks?))?(?:\s*(?:a|per|every|each) (?:week|month))?[?.!,]?\s*(?:is |'s |are )?"
    r"(?:too much|too high|not happening|out of the question|no way)"
)
# Digits that name a card, not a sum: "the one ending in 4471".
_NOT_MONEY_BEFORE = re.compile(
    r"(?:ending (?:in|with)|(?:card|number) (?:starts?|starting|begins?) with|last (?:four|4) (?:digits )?(?:are|is)?)"
    r"\s*$"
)
# A day of the month said without its ordinal: "paid on the 28".
_DATE_BEFORE = re.compile(r"\b(?:on|by|before|after|from) the\s*$")
LAST_DAY = 31
# When the speaker corrects a sum, the one they settle on counts: "two hundred, no wait, two fifty".
_CORRECTION = re.compile(r"\b(?:no|sorry|wait|i mean|actually|make it|let'?s say|scratch that)\b")
# A payoff said in two pieces is one sum: "$700 today and $85 friday, that's everything" -> 785.
_WHOLE_PAYOFF = re.compile(
    r"\b(?:that'?s|that is|which is|makes?) (?:the )?(?:whole thing|everything|all of it|full amount|total)|"
    r"\bwhole thing (?:paid|done)|\bwe'?re (?:square|even|done)\b|\bpaid off\b"
)
# text2num leaves small numbers before "grand" as words ("two grand").
_GRAND_WORDS = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|a couple(?: of)?|a few) grand\b")
_GRAND_COUNT = {
    **{w: i for i, w in enumerate("one two three four five six seven eight nine ten".split(), start=1)},
    "a couple": 2,
    "a couple of": 2,
    "a few": 3,
}
# A small number said with a payment period is money: "fifteen every two weeks", "five a week".
_MONEY_AFTER = re.compile(
    r"\s*(?:dollars?|bucks?|usd\b|(?:a|per|each|every) (?:week|month)\b|every (?:two|2|other) weeks?\b|"
    r"(?:weekly|monthly)\b)"
)
_MONEY_BEFORE = re.compile(
    r"(?:pay|paying|do|afford|manage|send|put down|give|offer|about|maybe|like|only|around|just|"
    r"have|got|spare|make|at most|up to|over|under|of)\s+$"
)
# text2num leaves "a couple hundred" as "a couple 100"; both spellings are read.
_COUPLE = re.compile(r"\b(?:a )?couple (?:of )?(?:hundred|100)\b")
_FEW = re.compile(r"\b(?:a )?few (?:hundred|100)\b")
_A_HUNDRED = re.compile(r"\ba hundred\b")
_A_THOUSAND = re.compile(r"\ba (?:thousand|grand)\b")
_HALF_A_THOUSAND = re.compile(r"\bhalf a (?:thousand|grand)\b")

_PERIODS = (
    (
        Period.BIWEEKLY,
        re.compile(
            r"every (?:two|2|other) weeks?|bi-?weekly|every other week|twice a month|every fortnight|"
            r"fortnightly|each paycheck|every paycheck|per paycheck|every payday|each payday"
        ),
    ),
    (Period.WEEKLY, re.compile(r"\b(?:a|per|each|every) week\b|weekly|\bweek to week\b")),
    (Period.MONTHLY, re.compile(r"\b(?:a|per|each|every|this|next) month\b|monthly|\bmonth\b|\bmo\b")),
    (
        Period.ONCE,
        re.compile(
            r"one time|lump sum|all at once|in full|right now|one payment|single payment|\btoday\b|"
            r"\btomorrow\b|\bonce\b|all of it|pay it off|on friday|this friday|\bnow\b"
        ),
    ),
)


# How a recogniser writes one spoken sum in pieces (after number words became digits): "seven eighty five" ->
# "7 85", "six hundred" -> "6-hundred" or "3 100", "fifteen hundred" -> "15 hundred", "seven hundred and eighty
# five" -> "$700 and $85", "one and a half grand" -> "1 and a half grand".
_DIGIT_TIMES_HUNDRED = re.compile(r"\b([1-9]\d?)(?:\s+|-)(?:hundred|100)\b")
_AND_A_HALF_THOUSAND = re.compile(
    r"\b([1-9]|one|two|three|four|five|six|seven|eight|nine) and a half (?:grand|thousand|1000|k)\b"
)
_HUNDREDS_AND_REST = re.compile(r"(\$?)\b([1-9]\d?)00\s+and\s+\$?([1-9]\d?)\b(?![.,]\d|\s*cents?\b)")
# "twelve seventy five" -> "12 75" -> 1275, "one ten" -> "1 10" -> 110, "a buck fifty" -> 150. Twenty to ninety
# before two more digits are two sums, asked about: "no eighty eighty five" is a correction, "twenty fifty" may be
# 20.50 or 2,050. Nor is the tail of a decimal ("$80.5 25") the start of a sum.
_HUNDREDS_THEN_TENS = re.compile(r"(?<![\d.,])\b(?![2-9]0\b)([1-9]\d?|one)\s+([1-9]\d)\b(?![.,]\d)")
_A_BUCK = re.compile(r"\ba buck (\d\d)\b")
# "eighty five" -> "8-5", "three twelve" -> "3-12".
_DASHED_DIGITS = re.compile(r"\b([1-9])-(\d{1,2})\b")
# "sixty two dollars and fifty cents" -> "62 dollars and 50 cents" -> 62.50; "twelve dollars fifty" -> 12.50.
_DOLLARS_AND_CENTS = re.compile(
    r"\b(\d+) (?:dollars?|bucks?) (?:and )?(\d\d)\b(?! ?(?:days?|weeks?|months?|years?|hours?|%|percent))(?: cents?\b)?"
)


def _join_spoken_sums(text: str) -> str:
    text = _AND_A_HALF_THOUSAND.sub(lambda m: f"{_GRAND_COUNT.get(m[1]) or int(m[1])}500", text)
    text = _DASHED_DIGITS.sub(r"\1\2", text)
    text = _DOLLARS_AND_CENTS.sub(lambda m: f"{m[1]}.{m[2]} dollars", text)
    text = _A_BUCK.sub(lambda m: f"1{m[1]}", text)
    text = _DIGIT_TIMES_HUNDRED.sub(lambda m: f"{m[1]}00", text)
    text = _HUNDREDS_AND_REST.sub(lambda m: f"{m[1]}{int(m[2]) * 100 + int(m[3])}", text)
    return _HUNDREDS_THEN_TENS.sub(lambda m: f"{_hundreds(m[1]) * 100 + int(m[2])}", text)


def _hundreds(said: str) -> int:
    return 1 if said == "one" else int(said)


# Number words as people spell them and as a recogniser mishears them, mended before they become digits. The slips
# ("two hundred" -> "to hundred", "four hundred" -> "for hundred", "three hundred" -> "free hundred", "forty a week"
# -> "for the a week", "a grand" -> "a brand", "a month" -> "amongst", "every week" -> "memory week", "forty" -> "4d")
# are each ungrammatical as heard, so mending one cannot misread a well-formed sentence.
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand)"
)
_MISHEARD_WORDS = (
    # "one-twenty-five", "two-fifty": text2num reads number words joined by hyphens as one unknown word.
    (re.compile(rf"\b({_NUMBER_WORD})-(?={_NUMBER_WORD}\b)"), r"\1 "),
    # "two hundred fifty one time": text2num would read "fifty one" as 51.
    (re.compile(r"\bone time\b"), "once"),
    (re.compile(r"\bhunn?e?rd\b"), "hundred"),
    (re.compile(r"\bfitty\b"), "fifty"),
    (re.compile(r"\bamongst\b"), "a month"),
    (re.compile(r"\bmemory(?= (?:week|month|other|two|\d))"), "every"),
    (re.compile(r"\b4d\b"), "forty"),
    (re.compile(r"\bt(?:o|oo) hundred\b"), "two hundred"),
    (re.compile(r"\bfor(?:e)? hundred\b"), "four hundred"),
    (re.compile(r"\bfree hundred\b"), "three hundred"),
    (re.compile(r"\bfor the(?= (?:a|every|each|per)\b)"), "forty"),
    (re.compile(r"\b(a|one|two|three|four|five|six|seven|eight|nine|ten) brand\b(?! new)"), r"\1 grand"),
)
# "a hundred twenty a month" heard as "120 months": a sum that large is no count of months after these words.
_MONTHS = re.compile(r"(\S+ )?\b(\d+(?:\.\d+)?) months\b")
_DURATION_WORDS = frozenset("for over in within after last past next about than the those these of".split())
MIN_MONTHS_AS_MONEY = 50


def _month_sum(match: re.Match) -> str:
    word = (match[1] or "").strip()
    if float(match[2]) < MIN_MONTHS_AS_MONEY or word in _DURATION_WORDS:
        return match[0]
    return f"{match[1] or ''}{match[2]} a month"


def amount_text(cleaned: str, normalised: str) -> str:
    """The text amounts and periods are read from: `normalised` (the cleaned text with number words as digits)
    once the recogniser's slips on numbers are mended (`_MISHEARD_WORDS`, "120 months")."""
    mended = cleaned
    for slip, meant in _MISHEARD_WORDS:
        mended = slip.sub(meant, mended)
    text = normalised if mended == cleaned else digits_for_number_words(mended)
    return _MONTHS.sub(_month_sum, text) if "months" in text else text


def _expand_vague_amounts(text: str) -> str:
    text = _GRAND_WORDS.sub(lambda m: f"{_GRAND_COUNT[m[1]] * 1000}", text)
    text = _COUPLE.sub("200", text)
    text = _FEW.sub("300", text)
    text = _HALF_A_THOUSAND.sub("500", text)
    text = _A_THOUSAND.sub("1000", text)
    return _A_HUNDRED.sub("100", text)


_MAY_HAVE_NUMBER = re.compile(r"\d|hundred|thousand|grand")
_NEGATIVE_BEFORE = re.compile(r"(?:-|minus |negative )$")
_POWER_OF_TEN_AFTER = re.compile(r"e[+-]?\d")
MAX_AMOUNT = 1_000_000


@dataclass(frozen=True)
class AmountReading:
    amount: float | None  # the money amount said, when exactly one clean amount was said
    unclear: bool  # a sum was said as money but cannot be taken: zero, negative, 1e308, too large, or two sums


NOTHING_SAID = AmountReading(None, False)


def read_amount(text: str) -> AmountReading:
    """The money amount in normalised text (number words already turned into digits).

    One sum the recogniser wrote in pieces is read whole ("7 85", "$700 and $85", "6-hundred": 785, 785, 600; the
    engine reads agreed terms back before booking them). Strict otherwise: a sum said as money that is zero,
    negative, written as a power of ten or over a million is not an amount, and two different sums in one utterance
    ("$200 now and $100 next month") are not one; either makes the reading unclear, so the engine asks instead of
    acting on a guess. Two sums are one where the speaker corrects the first ("two hundred, no wait, two fifty": 250)
    or closes a payoff in two pieces ("$700 today and $85 friday, that's everything": 785)."""
    if not _MAY_HAVE_NUMBER.search(text):
        return NOTHING_SAID
    text = _join_spoken_sums(_expand_vague_amounts(_RETIREMENT_PLAN.sub("retirement plan", text)))
    said: list[tuple[float, int, int]] = []  # (sum, start, end) in the order said
    unclear = False
    for match in _AMOUNT.finditer(text):
        raw = match.group(1) or match.group(3)
        suffix = match.group(2) or match.group(4)
        after = text[match.end() : match.end() + 40]
        dollar_sign = match.group(1) is not None
        if not dollar_sign and _NOT_MONEY_AFTER.match(after):
            continue
        value = float(raw.replace(",", ""))
        if suffix:
            value *= 1000
        before = text[max(0, match.start() - 24) : match.start()]
        if _REJECTED_BEFORE.search(before) or _NOT_MONEY_BEFORE.search(before) or _REJECTED_AFTER.match(after):
            continue
        if not dollar_sign and value <= LAST_DAY and _DATE_BEFORE.search(before):
            continue
        money_like = dollar_sign or suffix or _MONEY_AFTER.match(after) or _MONEY_BEFORE.search(before)
        if not (money_like or value >= 20):
            continue
        if _NEGATIVE_BEFORE.search(before) or _POWER_OF_TEN_AFTER.match(after) or not 0 < value <= MAX_AMOUNT:
            unclear = True
        else:
            said.append((value, match.start(), match.end()))
    found = _settled_sums(text, said)
    unclear = unclear or len(found) > 1
    return AmountReading(None if unclear or not found else found[0], unclear)


def _settled_sums(text: str, said: list[tuple[float, int, int]]) -> list[float]:
    """The distinct sums the speaker settles on: a correction drops every sum before it, and a payoff said in two
    pieces is their total."""
    found: list[float] = []
    for i, (value, start, _) in enumerate(said):
        if i and _CORRECTION.search(text, said[i - 1][2], start):
            found.clear()
        if value not in found:
            found.append(value)
    if len(found) == 2 and _WHOLE_PAYOFF.search(text, said[-1][2]):
        return [sum(found)]
    return found


_RECURRING_CUES = ("week", "month", "fortnight", "pay", " mo")
_ANY_PERIOD = re.compile("|".join(f"(?P<{period.value}>{pattern.pattern})" for period, pattern in _PERIODS))
_PERIOD_RANK = {period.value: rank for rank, (period, _) in enumerate(_PERIODS)}


def read_money(cleaned: str, normalised: str) -> tuple[AmountReading, Period | None]:
    """The sum said and how often it would be paid, whatever the utterance's intent."""
    money_text = amount_text(cleaned, normalised)
    said = read_amount(money_text)
    return said, parse_period(money_text, said.amount)


def parse_period(text: str, amount: float | None) -> Period | None:
    """How often the stated amount would be paid; 'once' only counts when an amount was stated.

    Where several periods are named, the first in _PERIODS wins (biweekly before weekly before monthly).
    """
    if amount is None and not any(cue in text for cue in _RECURRING_CUES):
        return None
    found = {m.lastgroup for m in _ANY_PERIOD.finditer(text)}
    if amount is None:
        found.discard(Period.ONCE.value)
    return Period(min(found, key=_PERIOD_RANK.__getitem__)) if found else None
