"""Sentiment in [-1, 1] from the VADER lexicon, scored the VADER way (negation flip, x / sqrt(x^2 + 15)).

The full VADER analyzer costs ~50 us an utterance; the lexicon lookup here costs a few, which the
simulator's throughput needs. A handful of collection-specific words are added to the lexicon.
"""

from __future__ import annotations

import math
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "dont",
        "cant",
        "wont",
        "isnt",
        "aint",
        "didnt",
        "doesnt",
        "wasnt",
        "couldnt",
        "wouldnt",
        "shouldnt",
        "nothing",
        "nobody",
        "neither",
        "nor",
        "without",
        "cannot",
    }
)
NEGATION_SCALAR = -0.74  # VADER's N_SCALAR
NEGATION_WINDOW = 3
ALPHA = 15.0  # VADER's normalisation constant
DOMAIN_VALENCE = {
    "scam": -2.5,
    "scammer": -2.8,
    "scammers": -2.8,
    "fraud": -2.0,
    "harass": -2.5,
    "harassing": -2.5,
    "harassment": -2.5,
    "sue": -1.5,
    "suing": -1.5,
    "leeches": -2.5,
    "vultures": -2.5,
    "crooks": -2.5,
    "bankrupt": -1.5,
    "bankruptcy": -1.5,
    "evicted": -2.0,
    "eviction": -2.0,
    "laid": -0.8,
    "fired": -1.5,
    "unemployed": -1.8,
    "broke": -1.5,
    "struggling": -1.8,
    "overwhelmed": -2.0,
    "deal": 0.8,
    "works": 0.6,
    "appreciate": 2.0,
    "understand": 0.6,
    "sorry": -0.3,
    "stop": -0.6,
}


@cache
def _lexicon() -> dict[str, float]:
    lexicon = {word.replace("'", ""): valence for word, valence in SentimentIntensityAnalyzer().lexicon.items()}
    lexicon.update(DOMAIN_VALENCE)
    return lexicon


def sentiment(toks: list[str]) -> float:
    lexicon = _lexicon()
    total = 0.0
    for i, tok in enumerate(toks):
        valence = lexicon.get(tok)
        if valence is None:
            continue
        if any(t in NEGATORS for t in toks[max(0, i - NEGATION_WINDOW) : i]):
            valence *= NEGATION_SCALAR
        total += valence
    if total == 0.0:
        return 0.0
    return max(-1.0, min(1.0, total / math.sqrt(total * total + ALPHA)))
