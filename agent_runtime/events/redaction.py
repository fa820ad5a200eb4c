"""Redaction of personal data in stored text: each name, street address, phone number, e-mail address, payment card
number, account or reference number and every other number becomes a tag ("[name]", "[address]", ...).

It reads what speech-to-text writes (lower case, no punctuation, numbers often as words: "five five five one two one
two", "john dot smith at gmail dot com") and written English ("Hi, may I speak with John Smith?"). Rules and two word
lists, no model; in order of precedence:
- written forms by regular expression: e-mail addresses, card numbers (13 to 19 digits), phone numbers;
- numbers: digit runs, and runs of number words read as digits: 7 to 12 digits said one by one are a phone number,
  13 to 19 a card number, the rest numbers ("seventy five" is one, "one two" two); "one" after "no", "this", ...,
  and "first", "second", "third" outside a date are words;
- account numbers: letters and digits after "account", "reference", "case", "policy", ... (and number, id, is), or one
  token mixing letters and digits ("FP-20931");
- spoken e-mail addresses: "<up to 6 words> at <provider>" or "at <words> dot <top-level domain>";
- street addresses: a house number (digits or words) or "apartment 4b" and up to 6 words ending in a street type
  ("street", "ave", ...), "po box 55", "route 9", "on maple drive";
- names: names.txt (given names and surnames, from Faker), except those that are everyday words too ("will",
  "grant", "june": flagged `w`), which need more evidence: a cue before ("my name is", "this is", "speak with",
  "Mr.", "my wife"), "here"/"speaking" after, another name beside, a capital inside a sentence of written text, or the
  call's known names (`known_names`, masked wherever they stand unless the words around make them ordinary: "the
  bill", "I will"); a word in neither names.txt nor words.txt (everyday English) is taken for a name ("xochitl");
  letters spelled one by one ("w o j c i k") are a name.
Where the two lists come from and their licences: data/pii/README.md. Measured recall and precision on
data/pii/labelled.jsonl: `python -m benchmarks.pii_recall`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

NAME = "[name]"
ADDRESS = "[address]"
PHONE = "[phone]"
EMAIL = "[email]"
CARD = "[card]"
ACCOUNT = "[account]"
NUMBER = "[number]"

_HERE = Path(__file__).parent
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+?1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-]?)\d{3}[ .-]?\d{4}(?![\w-])|(?<![\w-])\d{3}-\d{4}(?![\w-])"
)
_TOKEN = re.compile(r"[^\W_]+(?:['’.,/-][^\W_]+)*")
_DIGITS = re.compile(r"\d+(?:[.,/-]\d+)*")
_ORDINAL_DIGITS = re.compile(r"\d+(?:st|nd|rd|th)")
_SENTENCE_END = re.compile(r'[.!?:;\n"]')

_UNITS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine".split())}
_TEENS = {w: str(i + 10) for i, w in enumerate("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen "
                                               "nineteen".split())}  # fmt: skip
_TENS = {w: str(i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_TENS["fourty"] = "4"  # a common misspelling
_SCALES = {"hundred": "00", "thousand": "000", "million": "000000", "billion": "000000000"}
_ORDINALS = set(
    """first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth
    fifteenth sixteenth seventeenth eighteenth nineteenth twentieth thirtieth fortieth fiftieth sixtieth seventieth
    eightieth ninetieth hundredth thousandth""".split()
)
_ORDINAL_WORDS = {"first", "second", "third"}  # numbers only in a date: "the first of the month"
_AFTER_DATE_ORDINAL = {"of", "and", "or", "to", "through", "until", "till", "at", "please", "i", "we", "so", "then"}
_NOT_A_NUMBER_BEFORE_ONE = set(
    "no this that the which every any each some another other only little big right wrong new old last next same "
    "good real".split()
)
_MONTHS = set("january february march april may june july august september october november december".split())

_STREET_TYPES = set(
    """street st avenue ave av road rd drive dr lane ln boulevard blvd court ct place pl terrace ter way circle cir
    parkway pkwy highway hwy trail trl square sq crescent cres close grove row walk heights plaza loop pike park alley
    expressway broadway""".split()
)
_ROUTE_TYPES = {"route", "rt", "highway", "hwy", "interstate"}  # followed by their number
_STREET_FIRST = {"rue", "calle", "avenida", "via", "camino", "avenue"}  # "6 rue des lilas"
_UNIT_WORDS = {"apartment", "apt", "unit", "suite", "ste", "lot", "room", "trailer"}
# Words after a number that make it an amount or a time, not a house number: "a two hour drive", "ten minute walk".
_MEASURES = set(
    """dollar dollars bucks buck cents percent hour hours minute minutes day days week weeks month months year years
    time times mile miles payment payments""".split()
)
_DIRECTIONS = set("north south east west n s e w ne nw se sw northeast northwest southeast southwest".split())

_ACCOUNT_CUES = set(
    """account acct reference ref case file policy member customer loan claim invoice id confirmation ticket order
    tracking routing membership contract""".split()
)
_ACCOUNT_FILLERS = set("number no num nr id is its was are code of the on letter says reads ending in #".split())
_NATO = set(
    """alpha alfa bravo charlie delta echo foxtrot golf hotel india juliet juliett kilo lima mike november oscar papa
    quebec romeo sierra tango uniform victor whiskey xray yankee zulu""".split()
)

_PROVIDERS = set("gmail yahoo hotmail outlook aol icloud protonmail proton comcast msn live ymail gmx mail".split())
_TLDS = set("com net org edu gov us co uk io me info biz ca de fr in au mx ie nz tv ai app".split())
_EMAIL_STOPS = set(
    """is its it email mail address to me at my send use try was be changed the and or use your his her their our
    new old same from for please on""".split()
)

# Function words: never a name on their own evidence (a cue can still make "will" or "may" one).
_STOP = set(
    """a an the and or but if then so because as of at by for with about against between into through during before
    after above below to from up down in out on off over under again once here there when where why how all any both
    each few more most other some such no nor not only own same than too very can will just should now is are was
    were be been being have has had do does did would could might must shall may am i me my mine myself you your
    yours he him his she her hers it its we us our ours they them their theirs this that these those what who whom
    which whose im ive id ill youre youve dont cant wont isnt arent wasnt didnt doesnt thats whats theres lets ok okay
    yes yeah yep yup no nope nah hi hello hey please thanks thank sorry well like um uh oh ah hmm mhm huh someone
    somebody anyone anybody nobody everyone everybody one""".split()
)
_PRONOUNS = set("a an the my your his her our their me him us them it this that i you he she we they".split())
# Words before an everyday word that make it ordinary: "the bill", "i will", "to sue", "in june".
_ORDINARY_BEFORE = set(
    """the a an my your his her our their this that to will would can could should may might must i you we they he she
    it not dont cant wont in on by of for until till next last every each per no some""".split()
)
_ORDINARY_AFTER = set("you i we they he she it me my your us them him her the a that this up down".split())
_TITLES = set("mr mrs ms miss mister dr doctor prof professor mx sir madam".split())
_RELATIONS = set(
    """wife husband son daughter mom mum mother dad father brother sister cousin roommate neighbor neighbour ex grandma
    grandmother grandpa grandfather boyfriend girlfriend partner lawyer attorney friend boss aunt uncle niece nephew
    fiance fiancee landlord tenant kid child stepdad stepmom stepson stepdaughter""".split()
)


def _cues(phrases: str) -> dict[str, list[tuple[str, ...]]]:
    """'my name is|speak with' -> {'is': [('my', 'name', 'is')], 'with': [('speak', 'with')]}."""
    cues: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases.split("|"):
        words = tuple(phrase.split())
        cues.setdefault(words[-1], []).append(words)
    return cues


# Cues before a name: after a strong one even an everyday name is a name ("my name is Will").
_STRONG_CUES = _cues(
    """my name is|name is|name was|names|named|called|call me|speak with|speak to|speaking with|speaking to|talk to|
    talk with|talked to|talked with|spoke to|spoke with|ask for|asking for|calling for|looking for|message is for|
    trying to reach|to reach|goes by|put me through to|tell"""
)
_WEAK_CUES = _cues("this is|its|i am|im|hi|hello|hey|thanks|thank you|dear|yes|yeah")
_NAME_CLOSERS = set("here speaking calling from again returning and i im about there available".split())
_PARTICLES = set("de la del della van von der den da di dos das du le st bin ibn al el mac mc ter ten".split())
_ORG_WORDS = set(
    """partners bank group medical dental center centre clinic hospital health inc llc ltd corp corporation company co
    services financial credit union insurance associates collections recovery capital funding lending loans mortgage
    motors auto energy electric wireless mobile telecom university college school law firm agency holdings systems
    solutions store stores pharmacy""".split()
)


@dataclass(frozen=True, slots=True)
class Span:
    """Characters [start, end) of the text are personal data of this kind (a tag such as NAME)."""

    start: int
    end: int
    tag: str


@dataclass(slots=True)
class _Token:
    text: str
    start: int
    end: int
    key: str  # lower case, ASCII, no apostrophes, no "'s"
    cap: bool  # capitalised in text that has capitals (written English)
    initial: bool  # first of its sentence
    tag: str | None = None


@cache
def _names() -> dict[str, str]:
    """name -> kinds: f (given name), l (surname), w (also an everyday word)."""
    lines = (_HERE / "names.txt").read_text().splitlines()
    return dict(line.split("\t") for line in lines if line)


@cache
def _words() -> frozenset[str]:
    return frozenset((_HERE / "words.txt").read_text().split())


def _key(word: str) -> str:
    word = word.lower().replace("’", "'")
    if not word.isascii():
        word = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()
    if word.endswith("'s"):
        word = word[:-2]
    return word.replace("'", "")


def _tokens(text: str, taken: list[Span]) -> list[_Token]:
    written = text != text.lower()
    tokens, at, previous_end = [], 0, 0
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        while at < len(taken) and taken[at].end <= start:
            at += 1
        if at < len(taken) and taken[at].start < end:
            previous_end = end
            continue  # already an e-mail address, card or phone number
        word = match.group()
        between = text[previous_end:start]
        initial = not tokens or _SENTENCE_END.search(between) is not None
        cap = written and word[0].isupper() and not (word.isupper() and len(word) > 1)
        tokens.append(_Token(word, start, end, _key(word), cap, initial))
        previous_end = end
    return tokens


def _adjacent(text: str, left: _Token, right: _Token) -> bool:
    """Only spaces (or a hyphen) between two tokens: they can be one number or one name."""
    gap = text[left.end : right.start]
    return len(gap) <= 3 and gap.strip(" -") == ""


# --- numbers ----------------------------------------------------------------------------------------------------


def _is_digits(token: _Token) -> bool:
    return _DIGITS.fullmatch(token.text) is not None


def _number_kind(tokens: list[_Token], i: int, text: str) -> str | None:
    """unit, teen, tens, scale, ordinal, digits, double, and, or None: how the token can be part of a number."""
    token, key = tokens[i], tokens[i].key
    if _is_digits(token) or _ORDINAL_DIGITS.fullmatch(key):
        return "digits"
    if key in _UNITS:
        return "unit"
    if key in _TEENS:
        return "teen"
    if key in _TENS:
        return "tens"
    if key in _SCALES:
        return "scale"
    if key in _ORDINAL_WORDS and not (i > 0 and tokens[i - 1].key in _TENS):
        return "ordinal" if _is_a_number(tokens, i) else None  # "the first of May", not "one second"
    if key in _ORDINALS:
        return "ordinal"
    if key in ("oh", "o") and token.text.islower():  # a zero only among digits: "nine oh four", not "oh i see"
        before = i > 0 and _digit_like(tokens[i - 1]) and _adjacent(text, tokens[i - 1], token)
        after = i + 1 < len(tokens) and _digit_like(tokens[i + 1]) and _adjacent(text, token, tokens[i + 1])
        return "unit" if before or after else None
    if key in ("double", "triple") and i + 1 < len(tokens) and tokens[i + 1].key in _UNITS:
        return "double"
    if (
        key == "and"
        and 0 < i < len(tokens) - 1
        and tokens[i - 1].key in _SCALES
        and tokens[i + 1].key in (_UNITS.keys() | _TEENS.keys() | _TENS.keys())
    ):
        return "and"
    return None


def _digit_like(token: _Token) -> bool:
    return token.key in _UNITS or token.key in _TEENS or token.key in _TENS or _is_digits(token)


def _spoken_digits(run: list[_Token], kinds: list[str]) -> int:
    """How many digits a run of number words says: "eight one eight nine oh four" 6, "seventy five" 2."""
    count, repeat, pending_tens = 0, 1, False
    for token, kind in zip(run, kinds, strict=True):
        if kind == "digits":
            count += sum(c.isdigit() for c in token.key)
        elif kind == "unit":
            count += 0 if pending_tens else repeat  # "seventy five" is 75
            repeat = 1
        elif kind in ("teen", "tens"):
            count += 2
        elif kind == "scale":
            count += len(_SCALES[token.key])
        elif kind == "double":
            repeat = 2 if token.key == "double" else 3
        pending_tens = kind == "tens"
    return count


def _number_segments(run: list[_Token], kinds: list[str]) -> list[tuple[int, int]]:
    """Split a run into the numbers a reader hears: "seventy five" one, "one two" two, "two hundred fifty" one."""
    segments, start = [], 0
    continues = {
        ("tens", "unit"), ("tens", "ordinal"), ("unit", "scale"), ("teen", "scale"), ("tens", "scale"),
        ("scale", "unit"), ("scale", "teen"), ("scale", "tens"), ("scale", "and"), ("scale", "scale"),
        ("and", "unit"), ("and", "teen"), ("and", "tens"), ("double", "unit"), ("scale", "ordinal"),
    }  # fmt: skip
    for i in range(1, len(run)):
        if (kinds[i - 1], kinds[i]) not in continues:
            segments.append((start, i))
            start = i
    segments.append((start, len(run)))
    return segments


def _numbers(tokens: list[_Token], text: str, spans: list[Span]) -> None:
    kinds = [_number_kind(tokens, i, text) for i in range(len(tokens))]
    i = 0
    while i < len(tokens):
        if kinds[i] is None or tokens[i].tag:
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and kinds[j] and not tokens[j].tag and _adjacent(text, tokens[j - 1], tokens[j]):
            j += 1
        while j > i + 1 and kinds[j - 1] in ("and", "double"):
            j -= 1
        run, run_kinds = tokens[i:j], kinds[i:j]
        if any(kind != "digits" for kind in run_kinds):
            ones = sum(
                kind in ("unit", "double") or (kind == "digits" and len(t.key) == 1)
                for t, kind in zip(run, run_kinds, strict=True)
            )
            count = _spoken_digits(run, run_kinds)
            tag = PHONE if ones >= 5 and 7 <= count <= 12 else CARD if ones >= 5 and 13 <= count <= 19 else None
            if tag:
                first = run[0]
                if i > 0 and tokens[i - 1].key == "plus" and tag == PHONE:
                    first = tokens[i - 1]
                    tokens[i - 1].tag = tag
                _claim(run, tag, spans, start=first.start)
                i = j
                continue
        if j == i + 1 and not _is_a_number(tokens, i):
            i += 1
            continue
        for a, b in _number_segments(run, run_kinds):
            _claim(run[a:b], NUMBER, spans)
        i = j


def _is_a_number(tokens: list[_Token], i: int) -> bool:
    """A lone "one", "first", "second" or "third" is often a word: "no one", "the first payment", "a second"."""
    key = tokens[i].key
    before = tokens[i - 1].key if i > 0 else ""
    after = tokens[i + 1].key if i + 1 < len(tokens) else ""
    if key == "one":
        return before not in _NOT_A_NUMBER_BEFORE_ONE
    if key in _ORDINAL_WORDS:
        date_follows = not after or after in _AFTER_DATE_ORDINAL or _digit_like(tokens[i + 1])  # "march third 1982"
        return (before == "the" or before in _MONTHS) and date_follows
    return True


def _claim(run: list[_Token], tag: str, spans: list[Span], start: int | None = None) -> None:
    for token in run:
        token.tag = tag
    spans.append(Span(run[0].start if start is None else start, run[-1].end, tag))


# --- accounts, e-mail addresses, street addresses --------------------------------------------------------------


def _account_part(token: _Token) -> bool:
    key = token.key
    return (
        (token.text.isalnum() and any(c.isdigit() for c in key))
        or _is_digits(token) or re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)+", key) is not None
        or key in _UNITS or key in _TEENS or key in _TENS or key in ("oh", "double", "triple", "hundred")
        or len(key) == 1 or key in _NATO
    )  # fmt: skip


def _accounts(tokens: list[_Token], spans: list[Span]) -> None:
    words = _words()
    for i, token in enumerate(tokens):
        if token.key in _ACCOUNT_CUES and not token.tag:
            j = i + 1
            while j < len(tokens) and j <= i + 5 and tokens[j].key in _ACCOUNT_FILLERS and not _account_part(tokens[j]):
                j += 1
            k = j
            if k < len(tokens) and re.fullmatch(r"[a-z]{2,3}", tokens[k].key) and tokens[k].key not in words:
                k += 1  # a letter prefix: "fp two zero nine three one", "inv 2024"
            while k < len(tokens) and not tokens[k].tag and _account_part(tokens[k]):
                k += 1
            run = tokens[j:k]
            if run and sum(c.isdigit() for t in run for c in t.key) + sum(t.key in _UNITS for t in run) >= 3:
                _claim(run, ACCOUNT, spans)
    for token in tokens:  # one token mixing letters and digits: "AB44719", "FP-20931", not "4b" or "21st"
        key = token.key
        mixed = any(c.isalpha() for c in key) and sum(c.isdigit() for c in key) >= 3
        if not token.tag and mixed and not _ORDINAL_DIGITS.fullmatch(key):
            _claim([token], ACCOUNT, spans)


def _spoken_emails(tokens: list[_Token], spans: list[Span]) -> None:
    for i, token in enumerate(tokens):
        if token.key != "at" or token.tag or i + 1 >= len(tokens):
            continue
        k = i + 1
        while k < len(tokens) and k <= i + 3 and tokens[k].key not in ("dot", "at") and tokens[k].key not in _STOP:
            k += 1
        end = None
        if k > i + 1 and k + 1 < len(tokens) and tokens[k].key == "dot" and tokens[k + 1].key in _TLDS:
            end = k + 1
        elif tokens[i + 1].key in _PROVIDERS:
            end = i + 1
        if end is None:
            continue
        while end + 2 < len(tokens) and tokens[end + 1].key == "dot" and tokens[end + 2].key in _TLDS:
            end += 2
        start = i
        while start > 0 and start > i - 6 and not tokens[start - 1].tag and tokens[start - 1].key not in _EMAIL_STOPS:
            start -= 1
        if start < i:
            _claim(tokens[start : end + 1], EMAIL, spans)


def _street_part(token: _Token) -> bool:
    """A word of a street's name: "elm", "martin", "e", "81st", "fifth"."""
    key = token.key
    if _ORDINAL_DIGITS.fullmatch(key) or key in _ORDINALS:
        return token.tag in (None, NUMBER)
    return not token.tag and key not in _STOP and key not in _MEASURES and key.isalpha()


def _unit_end(tokens: list[_Token], i: int) -> int:
    """Index after "apartment 4b", "suite 300", "unit two forty six", "apt 2r" starting at i, or i."""
    if i + 1 >= len(tokens) or tokens[i].key not in _UNIT_WORDS:
        return i
    j = i + 1
    while j < len(tokens) and (tokens[j].tag == NUMBER or _is_digits(tokens[j]) or tokens[j].key in _UNITS):
        j += 1
    if j == i + 1 and re.fullmatch(r"\d+[a-z]|[a-z]\d*", tokens[j].key) and tokens[j].key not in ("a", "i"):
        j += 1
    elif j > i + 1 and j < len(tokens) and len(tokens[j].key) == 1 and tokens[j].key not in ("a", "i"):
        j += 1  # "apartment four b"
    return j if j > i + 1 else i


def _addresses(tokens: list[_Token], spans: list[Span]) -> None:
    n, i = len(tokens), 0
    while i < n:
        token, key = tokens[i], tokens[i].key
        end = None
        if key in ("po", "p.o", "p") or (key == "post" and i + 1 < n and tokens[i + 1].key == "office"):
            j = i + (2 if key in ("p", "post") and i + 1 < n and tokens[i + 1].key in ("o", "office") else 1)
            if (
                j + 1 < n
                and tokens[j].key == "box"
                and (tokens[j + 1].tag in (PHONE, CARD) or _numberish(tokens[j + 1]))
            ):
                end = _number_end(tokens, j + 1, (NUMBER, PHONE, CARD))  # a zip code may follow
        elif key in _UNIT_WORDS:
            end = _unit_end(tokens, i)
            end = _street_end(tokens, end) or end if end > i else None
        elif key in _ROUTE_TYPES or (key == "rural" and i + 1 < n and tokens[i + 1].key == "route"):
            j = i + (2 if key == "rural" else 1)
            if j < n and _numberish(tokens[j]) and (key != "highway" or tokens[j].tag == NUMBER):
                end = _number_end(tokens, j)
        elif token.tag == NUMBER or (not token.tag and (_is_digits(token) or re.fullmatch(r"\d+[a-z]", key))):
            j = _number_end(tokens, i)
            end = _street_end(tokens, j)
            if not end:
                i = j  # the rest of this number is no house number either
                continue
        elif key in ("on", "at", "off") and not token.tag:
            end = _street_end(tokens, i + 1, max_words=3, need_number=False)
            i += 1 if end else 0
        if end and end > i:
            end = _unit_end(tokens, end) if end < n else end
            if end + 1 < n and tokens[end].key == "box" and _numberish(tokens[end + 1]):
                end = _number_end(tokens, end + 1)  # "rural route 2 box 14"
            run = tokens[i:end]
            for t in run:
                t.tag = ADDRESS
            spans[:] = [s for s in spans if not (s.start >= run[0].start and s.end <= run[-1].end)]
            spans.append(Span(run[0].start, run[-1].end, ADDRESS))
            i = end
        else:
            i += 1


def _numberish(token: _Token) -> bool:
    return token.tag == NUMBER or _is_digits(token) or token.key in _UNITS or token.key in _TEENS or token.key in _TENS


def _number_end(tokens: list[_Token], j: int, tags: tuple[str, ...] = (NUMBER,)) -> int:
    """Index after the number starting at j (words or digits, maybe several segments: "twelve oh nine")."""
    j += 1
    while j < len(tokens) and (tokens[j].tag in tags or (_is_digits(tokens[j]) and not tokens[j].tag)):
        j += 1
    return j


def _street_end(tokens: list[_Token], j: int, max_words: int = 6, need_number: bool = True) -> int | None:
    """After a house number ending before j: up to max_words words and a street type; the index after it."""
    n = len(tokens)
    if j < n and tokens[j].key in _STREET_FIRST and j + 1 < n and _street_part(tokens[j + 1]):
        k = j + 1
        while k < n and k < j + 5 and _street_part(tokens[k]):
            k += 1
        return k
    for k in range(j, min(n, j + max_words + 1)):
        key = tokens[k].key
        if key in _ROUTE_TYPES and k + 1 < n and _numberish(tokens[k + 1]):
            return _number_end(tokens, k + 1)
        if k > j and key in _STREET_TYPES:
            if not need_number and tokens[k - 1].key in _STOP:
                return None
            end = k + 1
            if end < n and tokens[end].key in _DIRECTIONS and len(tokens[end].key) <= 2:
                end += 1
            return end
        if not (_street_part(tokens[k]) or (key in _DIRECTIONS)):
            return None
    return None


# --- names ------------------------------------------------------------------------------------------------------


def _after_cue(tokens: list[_Token], i: int, cues: dict[str, list[tuple[str, ...]]]) -> bool:
    """Token i comes right after the words of one of the cues (indexed by their last word)."""
    for cue in cues.get(tokens[i - 1].key, ()) if i else ():
        if i >= len(cue) and all(tokens[i - len(cue) + n].key == word for n, word in enumerate(cue)):
            return True
    return False


def _names_in(
    tokens: list[_Token], text: str, spans: list[Span], known: set[str], known_full: list[tuple[str, ...]]
) -> None:
    names, words = _names(), _words()
    n = len(tokens)
    free = [t.tag is None and t.key.replace("-", "").isalpha() for t in tokens]
    is_name = [False] * n

    def kinds(i: int) -> str:
        return names.get(tokens[i].key, "")

    def everyday(i: int) -> bool:
        key = tokens[i].key
        return "w" in kinds(i) or key in _STOP or key in _MONTHS or (key in words and key not in names)

    def is_sure(i: int) -> bool:
        """A name by itself: in names.txt and no everyday word, or in no list at all."""
        key = tokens[i].key
        if not free[i] or key in _STOP or key in _MONTHS or key in _TITLES or len(key) < 2:
            return False
        k = kinds(i)
        if k:
            return "w" not in k
        return len(key) >= 3 and key not in _UNITS and key not in _TENS and not _known_word(key, words)

    sure_names = [is_sure(i) for i in range(n)]
    sure = sure_names.__getitem__
    written = any(t.cap for t in tokens)

    def namish(i: int, strong: bool) -> bool:
        """What a cue can turn into a name: a strong cue also takes everyday names ("my name is will")."""
        if not free[i] or tokens[i].key in _PRONOUNS or tokens[i].key in _TITLES:
            return False
        if sure(i) or (tokens[i].cap and not tokens[i].initial and tokens[i].key not in _STOP):
            return True
        if strong:
            return bool(kinds(i)) or (tokens[i].cap and tokens[i].key not in _STOP)
        closes = i + 1 >= n or not _adjacent(text, tokens[i], tokens[i + 1]) or tokens[i + 1].key in _NAME_CLOSERS
        return bool(kinds(i)) and tokens[i].key not in _STOP and (closes or (i + 1 < n and sure(i + 1)))

    def ordinary(i: int) -> bool:
        """The words around an everyday word make it one: "the bill", "I will", "in June 5", "mark my words"."""
        token = tokens[i]
        if written and token.text.islower():
            return True
        before = tokens[i - 1] if i > 0 and _adjacent(text, tokens[i - 1], token) else None
        after = tokens[i + 1] if i + 1 < n and _adjacent(text, token, tokens[i + 1]) else None
        if before is not None and before.key in _ORDINARY_BEFORE:
            return True
        if token.key in _MONTHS and after is not None and _numberish(after):
            return True
        return after is not None and after.key in _ORDINARY_AFTER

    for i in range(n):
        if not free[i]:
            continue
        token, key = tokens[i], tokens[i].key
        if key in known or (key.endswith("s") and key[:-1] in known):
            date = key in _MONTHS and i + 1 < n and _numberish(tokens[i + 1])  # "on April 30", "june 5th"
            is_name[i] = not date and (not everyday(i) or (token.cap and not token.initial) or not ordinary(i))
        elif sure(i) and not (token.cap and _organisation(tokens, i)):
            is_name[i] = True
        elif token.cap and not token.initial and kinds(i) and key not in _MONTHS and key not in _STOP:
            is_name[i] = not _organisation(tokens, i)
    for full in known_full:  # the whole known name, everyday words or not: "Will Chase"
        for i in range(n - len(full) + 1):
            if all(tokens[i + m].key == word for m, word in enumerate(full)):
                for m in range(len(full)):
                    is_name[i + m] = free[i + m]

    for i in range(n):  # cues before: "my name is X", "Mr. X", "this is X", "my wife X"
        if is_name[i] or not free[i]:
            continue
        previous = tokens[i - 1].key if i > 0 else ""
        strong = previous in _TITLES or _after_cue(tokens, i, _STRONG_CUES)
        weak = previous in _RELATIONS or _after_cue(tokens, i, _WEAK_CUES)
        if previous == "is" and (
            (i > 1 and tokens[i - 2].key in _RELATIONS)
            or (i + 1 < n and tokens[i + 1].key in ("there", "available", "home", "around"))
        ):
            weak = True  # "my roommate is X", "is X there"

        if (strong or weak) and namish(i, strong):
            is_name[i] = True
            if previous in _TITLES:
                is_name[i - 1] = True
        elif (
            i + 1 < n
            and tokens[i + 1].key in ("speaking", "here")
            and kinds(i)
            and (i == 0 or tokens[i - 1].key in ("yes", "yeah", "hi", "hello", "hey", "ok", "okay", "its", "this"))
        ):  # "grant here", "rivera speaking"
            is_name[i] = True
    for i in range(n):  # titles before a name found otherwise: "Ms. Mthembu"
        if is_name[i] and i > 0 and tokens[i - 1].key in _TITLES and tokens[i - 1].tag is None:
            is_name[i - 1] = True

    todo = [i for i in range(n) if is_name[i]]
    while todo:  # a name reaches its neighbours: "kwame osei bonsu", "april nguyen", "ramon de la cruz"
        i = todo.pop()
        for j, step in ((i + 1, 1), (i - 1, -1)):
            if (
                not 0 <= j < n
                or is_name[j]
                or not free[j]
                or not _adjacent(text, *sorted((tokens[i], tokens[j]), key=lambda t: t.start))
            ):
                continue
            k_i, k_j = names.get(tokens[i].key, ""), kinds(j)
            joins = sure(j) or (tokens[j].cap and tokens[j].key not in _STOP and not tokens[j].initial and step == 1)
            if not joins and step == 1 and "f" in k_i and "l" in k_j and tokens[j].key not in _STOP:
                joins = True  # "james brown"
            if (
                not joins
                and step == -1
                and "f" in k_j
                and "w" not in k_i
                and (j == 0 or tokens[j - 1].key not in _ORDINARY_BEFORE)
            ):
                joins = "l" in k_i or tokens[i].key not in words  # "april nguyen", not "i will smith"
            if not joins and tokens[j].key in _PARTICLES:  # "ramon de la cruz", "under de la cruz"
                beyond = j + step
                while 0 <= beyond < n and tokens[beyond].key in _PARTICLES and abs(beyond - j) < 3:
                    beyond += step
                joins = step == -1 or (0 <= beyond < n and (sure(beyond) or tokens[beyond].cap))
            if joins:
                is_name[j] = True
                todo.append(j)

    i = 0  # letters spelled one by one: "w o j c i k"
    while i < n:
        j = i
        while j < n and free[j] and len(tokens[j].key) == 1 and tokens[j].key.isalpha():
            j += 1
        if j - i >= 3 and any(tokens[m].key not in ("a", "i") for m in range(i, j)):
            for m in range(i, j):
                is_name[m] = True
        i = max(j, i + 1)

    i = 0
    while i < n:
        if is_name[i] and (free[i] or tokens[i].key in _TITLES):
            j = i + 1
            while j < n and is_name[j] and text[tokens[j - 1].end : tokens[j].start].strip(" -.") == "":
                j += 1
            _claim(tokens[i:j], NAME, spans)
            i = j
        else:
            i += 1


_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "ly", "y")
_INTERJECTION = re.compile(r"[mhu]+(?:-[mhu]+)*")
_REPEATS = re.compile(r"(.)\1{2,}")


def _known_word(key: str, words: frozenset[str]) -> bool:
    """An unlisted form of a known word: "crooks", "ex-girlfriend", "that'd", "helloooo", "uhh"."""
    if key in words or key in _STOP or _INTERJECTION.fullmatch(key):
        return True
    if "-" in key:
        return all(_known_word(part, words) for part in key.split("-") if part)
    if _REPEATS.search(key):
        return _known_word(_REPEATS.sub(r"\1", key), words)
    for suffix in _SUFFIXES:
        stem = key[: -len(suffix)]
        if key.endswith(suffix) and len(stem) >= 3 and (stem in words or stem + "e" in words):
            return True
    return key.endswith("d") and key[:-1] in _STOP  # "thatd", "whered"


def _organisation(tokens: list[_Token], i: int) -> bool:
    """A capitalised word in a company's name: "Chase Bank", "Fairway Partners", "Granite Medical Group"."""
    for j in range(i + 1, min(len(tokens), i + 4)):
        if not tokens[j].cap:
            return False
        if tokens[j].key in _ORG_WORDS:
            return True
    return False


# --- the API ----------------------------------------------------------------------------------------------------


def find_pii(text: str, known_names: Iterable[str] = ()) -> list[Span]:
    """The spans of personal data in `text`, in order, not overlapping; `known_names` are names the call already
    knows (the debtor's), masked wherever they stand unless they are plainly ordinary words there."""
    if not text:
        return []
    spans: list[Span] = []
    for pattern, tag in ((_EMAIL, EMAIL), (_CARD, CARD), (_PHONE, PHONE)):
        for match in pattern.finditer(text):
            if not any(s.start < match.end() and match.start() < s.end for s in spans):
                spans.append(Span(match.start(), match.end(), tag))
    spans.sort(key=lambda s: s.start)
    tokens = _tokens(text, spans)
    _accounts(tokens, spans)
    _spoken_emails(tokens, spans)
    _numbers(tokens, text, spans)
    _addresses(tokens, spans)
    known, known_full = set(), []
    for name in known_names:
        keys = [_key(word) for word in _TOKEN.findall(name)]  # as the text's tokens are: "jean-baptiste"
        known.update(key for key in keys if len(key) > 1)
        known.update(part for key in keys for part in re.split(r"[^a-z0-9]+", key) if len(part) > 1)
        if keys:
            known_full.append(tuple(keys))
    _names_in(tokens, text, spans, known, known_full)
    for token in tokens:  # digits left over anywhere ("4b", "2,000.50")
        if token.tag is None and any(c.isdigit() for c in token.key):
            _claim([token], NUMBER, spans)
    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[Span] = []
    for span in spans:
        if merged and span.tag == ADDRESS == merged[-1].tag and text[merged[-1].end : span.start].strip(" ,") == "":
            merged[-1] = Span(merged[-1].start, span.end, ADDRESS)  # "apartment 4b, 1209 north elm street"
            continue
        if merged and span.start < merged[-1].end:
            if span.end > merged[-1].end:
                merged[-1] = Span(merged[-1].start, span.end, merged[-1].tag)
            continue
        merged.append(span)
    return merged


def redact(text: str, known_names: Iterable[str] = ()) -> str:
    """Mask what could identify a person or an account; the words around stay readable."""
    out, at = [], 0
    for span in find_pii(text, known_names):
        out.append(text[at : span.start])
        out.append(span.tag)
        at = span.end
    out.append(text[at:])
    return "".join(out)
