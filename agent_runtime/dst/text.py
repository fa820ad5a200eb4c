"""Text normalisation shared by the DST, its classifier training and the evaluation of STT-style text."""

from __future__ import annotations

import itertools
import re
import unicodedata

from num2words import num2words
from text_to_num import alpha2digit

# Long monologues carry their intent early; reading past this only costs time.
MAX_READ_CHARS = 2_000

_CONTROL = dict.fromkeys(i for i in range(32) if i not in (9, 10, 13))
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_TOKEN = re.compile(r"\$|\d+(?:[.,]\d+)*|[a-z]+(?:'[a-z]+)?")
_MONEY_WORDS = {"dollar", "dollars", "bucks", "buck", "usd"}
_PUNCT = re.compile(r"[^\w\s'$]")
SENTENCE_START = "<s>"
QUESTION_MARK = "<?>"
_MONEY_DIGITS = re.compile(r"\$\s?(\d+(?:,\d{3})*(?:\.\d+)?)|(\d+(?:,\d{3})*(?:\.\d+)?)")


def clean(text: str) -> str:
    """Lower case, printable, apostrophes unified, length bounded. Never raises on a str."""
    text = text[:MAX_READ_CHARS]
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    return text.translate(_CONTROL).lower().strip()


def digits_for_number_words(text: str) -> str:
    """'seventy five a month' -> '75 a month' (text2num); a single 'one' stays a word."""
    try:
        return alpha2digit(text, "en")
    except (ValueError, RuntimeError):
        return text


def tokens(text: str) -> list[str]:
    """Classifier tokens of already-cleaned text: numbers become <num>, '$'/'bucks' become 'dollar'."""
    out = []
    for tok in _TOKEN.findall(text):
        if tok[0].isdigit():
            out.append("<num>")
        elif tok == "$" or tok in _MONEY_WORDS:
            out.append("dollar")
        else:
            out.append(tok.replace("'", ""))
    return out


def features(text: str) -> list[str]:
    """The classifier's features of raw text (the analyzer of the intent classifier): see `ngrams`."""
    cleaned = clean(text)
    return ngrams(tokens(digits_for_number_words(cleaned)), asked="?" in cleaned)


def ngrams(toks: list[str], asked: bool = False) -> list[str]:
    """The classifier's features of tokens already normalised: the tokens, their bigrams with the utterance's start
    among them ("<s> can", "<s> how": how a question or a request opens, which "can i" alone does not say), and a
    question mark where the text `asked` one (recognisers write it; spoken-style text never does)."""
    bigrams = [f"{a} {b}" for a, b in itertools.pairwise([SENTENCE_START, *toks])]
    return toks + bigrams + ([QUESTION_MARK] if asked else [])


def _spell_number(match: re.Match) -> str:
    raw = (match.group(1) or match.group(2)).replace(",", "")
    words = num2words(float(raw) if "." in raw else int(raw)).replace("-", " ").replace(",", "")
    return f"{words} dollars" if match.group(1) else words


def to_stt_style(text: str) -> str:
    """How a speech recogniser without formatting writes `text`: lower case, no punctuation, numbers as words."""
    text = _MONEY_DIGITS.sub(_spell_number, clean(text))
    text = _PUNCT.sub(" ", text).replace("'", "").replace("$", " ")
    return " ".join(text.split())
