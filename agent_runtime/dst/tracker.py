"""The dialogue-state tracker: an utterance (plus the call's context) -> intent, sentiment, amount, period, flags."""

from __future__ import annotations

import re
from functools import lru_cache

from agent_runtime.contracts.dst import DST_SCHEMA_VERSION, DSTOutput, Flag, Intent
from agent_runtime.dst.amounts import NOTHING_SAID, read_money
from agent_runtime.dst.classifier import IntentClassifier, default_classifier
from agent_runtime.dst.contact import read_contact, read_question
from agent_runtime.dst.flags import read_flags
from agent_runtime.dst.sentiment import sentiment
from agent_runtime.dst.text import clean, digits_for_number_words, ngrams, tokens

DEFAULT_CACHE_SIZE = 65_536

# Contact-stopping requests are legally binding, so a clear phrase wins over the classifier.
_CEASE = re.compile(
    r"(?:stop|quit|cease|no more) (?:calling|contacting|phoning|ringing|bothering)|"
    r"(?:do not|dont|don't|never) (?:call|contact|phone|ring) (?:me|here|this number|again)|"
    r"(?:remove|take|delete) (?:me|my (?:number|name|info))|lose my number|off (?:your|the) (?:list|call list)|"
    r"cease and desist|do not contact|contact me (?:only )?in writing|(?:only )?in writing only"
)
# "would you stop calling if i paid", "if i paid 25 a week would you stop calling": a question about what paying
# brings, not a request, so that span is left to the classifier; any other request in the utterance, and "when will
# you stop calling" or "would you stop calling after six", are still the rule's
_PAYING = r"(?:(?:i|we) (?:pay|paid|send|sent|settle|set up|sign up|get on|am on|are on|make)|i'?m on|we'?re on)"
_STOP_ASKED = r"(?:(?:would|will) you|you'?ll) stop (?:calling|contacting)(?: me| here)?"
_ASKS_WHAT_PAYING_BRINGS = re.compile(
    rf"{_STOP_ASKED} (?:if|once|when|after) {_PAYING}\b|\bif {_PAYING}\b[^.?!]*?{_STOP_ASKED}"
)
# The intents that carry a sum said as an offer; elsewhere a sum is a fact (income, rent, the balance, a year, a past
# payment: the labelling conventions), and acting on it as an offer would misquote the debtor. Hardship, a stall or
# small talk still offer a sum said as what one can pay ("the most i could do is 15 a month") or on its own ("785
# dollars a month", the answer to the agent's question about the amount).
_OFFER_INTENTS = frozenset({Intent.COMMIT, Intent.WILLING, Intent.QUESTION})
_MAY_OFFER_INTENTS = frozenset({Intent.HARDSHIP, Intent.STALL, Intent.OTHER})
_CAN_PAY = re.compile(
    r"\bi (?:can|could|might|may) (?!(?:not|never|barely|hardly|even|no) )(?:\w+ )?"
    r"(?:pay|do|manage|spare|afford|send|give|swing|handle|scrape)\b|"
    r"(?:cant|can't|cannot|couldnt|couldn't) (?:pay|do|afford|manage) (?:more than|over|much more than)|"
    r"\b(?:most|all|max|maximum|best) (?:i|that i|we) (?:can|could)|\bable to (?:pay|do|send|manage)\b"
)
# A refusal carries a sum only where it corrects a misheard one or counters ("no, i said 190 a month", "no that's too
# much, i can do 50 a month"); "fifty a week? not happening" turns the sum down.
_CORRECTS = re.compile(r"\bi (?:said|meant)\b|\bthat'?s (?:wrong|not what i said)")
# A short utterance is a sum on its own ("785 dollars a month", "about 200") unless it says what the sum is
BARE_SUM_TOKENS = 5
_FACT_WORDS = frozenset(
    "make makes making made earn earns earning earned get gets getting got rent owe owed have has had left bills "
    "income check paycheck account bank balance old years".split()
)
_HARD_DISPUTE_FLAGS = frozenset({Flag.WRONG_PERSON, Flag.IDENTITY_THEFT, Flag.ALREADY_PAID, Flag.MENTIONS_BANKRUPTCY})
# Short answers to a pending offer ("yeah ok", "sure", "nope"): a head word, then only filler words.
_AFFIRM_HEADS = frozenset(
    (
        "yes yeah yep yup ok okay sure deal fine alright agreed absolutely definitely sounds works perfect great mhm "
        "correct exactly"
    ).split()
)
_AFFIRM = _AFFIRM_HEADS | frozenset("good that thats its go ahead lets do it i guess can will uh um huh right".split())
_DENY_HEADS = frozenset({"no", "nope", "nah"})
_DENY = _DENY_HEADS | frozenset("not cant way that doesnt work for me thanks thank you uh um sorry i".split())
SHORT_ANSWER_TOKENS = 6


class DialogueStateTracker:
    """Stateless per utterance; the call's context arrives as `offer_pending` (terms were just put to the debtor)
    and `asking_for_debtor` (the agent asked for the debtor by name: read who answered). `confidence` is the
    classifier's probability of the intent, 1.0 where a rule decided it. `warm` loads the sentence encoder now
    rather than on the first utterance that needs it (live calls; trainers leave it cold)."""

    def __init__(
        self, classifier: IntentClassifier | None = None, cache_size: int = DEFAULT_CACHE_SIZE, *, warm: bool = False
    ):
        self.classifier = classifier or default_classifier()
        self.version = f"{DST_SCHEMA_VERSION}+{self.classifier.version}"
        self.read = lru_cache(maxsize=cache_size)(self._read) if cache_size else self._read
        if warm:  # a live call should not wait for the sentence encoder on its first unsure utterance
            self.classifier.warm_up()

    def _read(self, text: str, offer_pending: bool = False, asking_for_debtor: bool = False) -> DSTOutput:
        if not isinstance(text, str):
            raise TypeError(f"utterance must be str, got {type(text).__name__}")
        cleaned = clean(text)
        normalised = digits_for_number_words(cleaned)
        toks = tokens(normalised)
        if not toks:
            return DSTOutput(intent=Intent.OTHER, sentiment=0.0)
        contact = read_contact(normalised) if asking_for_debtor else None
        intent, confidence = self.classifier.predict(ngrams(toks, asked="?" in cleaned), cleaned)
        flags = read_flags(normalised)
        ruled = self._ruled_intent(normalised, toks, flags, intent, offer_pending)
        if ruled is not None:  # a rule read it: the classifier's doubt does not apply
            intent, confidence = ruled, 1.0
        offered = self._offers_a_sum(intent, normalised, toks)
        said, period = read_money(cleaned, normalised) if offered else (NOTHING_SAID, None)
        return DSTOutput(
            intent=intent,
            sentiment=sentiment(toks),
            amount=said.amount,
            period=period,
            amount_unclear=said.unclear,
            flags=flags,
            confidence=confidence,
            contact=contact,
            question=read_question(normalised),
        )

    @staticmethod
    def _offers_a_sum(intent: Intent, normalised: str, toks: list[str]) -> bool:
        if intent in _OFFER_INTENTS:
            return True
        if intent is Intent.REFUSE:
            return _CAN_PAY.search(normalised) is not None or _CORRECTS.search(normalised) is not None
        if intent not in _MAY_OFFER_INTENTS:  # hostile, dispute, cease: no pattern to run
            return False
        on_its_own = len(toks) <= BARE_SUM_TOKENS and not _FACT_WORDS.intersection(toks)
        return on_its_own or _CAN_PAY.search(normalised) is not None

    @staticmethod
    def _ruled_intent(
        normalised: str, toks: list[str], flags: frozenset[Flag], intent: Intent, offer_pending: bool
    ) -> Intent | None:
        """The intent where a rule decides it: a clear cease phrase, a hard dispute, a short yes or no to an offer."""
        # the question about what paying brings is cut out only where a request was found at all
        asks_to_stop = _CEASE.search(normalised) and _CEASE.search(_ASKS_WHAT_PAYING_BRINGS.sub(" ", normalised))
        if asks_to_stop or Flag.WRITTEN_ONLY in flags:
            return Intent.CEASE
        if flags & _HARD_DISPUTE_FLAGS and intent is not Intent.CEASE:
            return Intent.DISPUTE
        if offer_pending and len(toks) <= SHORT_ANSWER_TOKENS:
            words = set(toks)
            if toks[0] in _AFFIRM_HEADS and words <= _AFFIRM:
                return Intent.COMMIT
            if toks[0] in _DENY_HEADS and words <= _DENY:
                return Intent.REFUSE
        return None
