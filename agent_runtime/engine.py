"""The dialogue engine: one per call, framework-independent.

It owns the call's DST state, the compliance guard, the offer terms and the termination rule. The gymnasium
env wraps it with a simulated debtor, the voice runtime with speech and NLG, so training sees exactly what
the runtime executes. Each turn has two steps: `observe` the debtor's utterance (which may end the call),
then `act` on the policy's proposed action (which the guard may override).

A live call starts with the contact phase (`verify=True`), before the policy takes over: the agent asks for the
debtor by name, and only a person who confirms being the debtor (and the identifier on file, where the facts carry
one) hears that the call is about a debt. Someone else gets a callback number, a wrong number is marked not to be
called again, an answering machine gets a limited-content message; each ends the call (15 U.S.C. 1692b, 1692c(b);
12 CFR 1006.2(j)). `contact` reads these replies; nothing from them enters the call's history, so the policy's state
starts when the debtor is reached, as in the gymnasium env, whose calls begin there.

A live call also asks before it acts (`confirm=True`). Words heard or read without confidence (speech recognition
unsure, the intent classifier unsure and nothing else recognised, a sum that cannot be an amount) get "could you say
that again?" instead of a strategy, once in a row; and an agreement is read back term by term and booked only on a
yes. These questions are the engine's, not the policy's: the unclear words and the yes enter no history, so the
policy's turns and states are those of the gymnasium env (which has neither: its debtors speak clean text). Both
paths keep terms within the creditor's limits (contracts.offers): a debtor's own amount outside them is not booked,
and the agent's next turn says the limits.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np

from agent_runtime.contracts.actions import RAPPORT_ACTIONS, Action, parse_action
from agent_runtime.contracts.dst import Contact, DSTOutput, Flag, Intent
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import SPOKEN_ROUNDING, OfferTerms, compute_offer_terms, debtor_terms
from agent_runtime.contracts.outcome import TRUNCATING_OUTCOMES, FollowUp, Outcome, OutcomeKind
from agent_runtime.contracts.state import MAX_TURNS, CallHistory, build_state
from agent_runtime.dst.text import clean, digits_for_number_words
from agent_runtime.dst.tracker import DialogueStateTracker

# Disputes that cannot be talked through on the phone: they end the call and go to written validation.
LEGAL_DISPUTE_FLAGS = frozenset(
    {Flag.WRONG_PERSON, Flag.IDENTITY_THEFT, Flag.ALREADY_PAID, Flag.MENTIONS_BANKRUPTCY, Flag.MENTIONS_ATTORNEY}
)
# What may answer a dispute: the validation answer, alone or with an offer, or listening. Anything else is replaced.
DISPUTE_ANSWERS = frozenset({Action.VALIDATE_THEN_OFFER, *RAPPORT_ACTIONS})


# One unclear reply to "may I speak with NAME?" (or to the identifier question) gets the question again; a second
# one is treated as someone else: nothing is disclosed to a person who has not confirmed being the debtor.
MAX_UNCLEAR_REPLIES = 1


# Asking instead of acting on a guess. Below this classifier probability (with no question, flag or rule read)
# the intent is about as likely wrong as right on real recognition. With both floors a live call asks about 14 % of
# the held-out ASR utterances and acts on 35 misread intents instead of 64 (benchmarks.clarification; the floors
# were chosen on those utterances, so treat them as lightly used).
INTENT_CONFIDENCE_FLOOR = 0.5
# Speech recognition's confidence (exp of the mean token log-probability) below which the words are asked for
# again: under 0.25, tiny.en misread about half the held-out utterances' intents (about 5 % of them fall there).
STT_CONFIDENCE_FLOOR = 0.25
# One request to repeat; words still unclear after it are acted on (an unclear sum without its amount).
MAX_ASKS_IN_A_ROW = 1


class ContactPhase(StrEnum):
    ASKING_FOR_DEBTOR = "asking_for_debtor"
    ASKING_IDENTIFIER = "asking_identifier"
    REACHED = "reached"  # the debtor is verified and has heard the disclosure: the policy's part of the call


UNREACHED = {
    Contact.VOICEMAIL: (GuardRule.VOICEMAIL, OutcomeKind.VOICEMAIL, FollowUp.CALLBACK),
    Contact.WRONG_NUMBER: (GuardRule.DO_NOT_CALL, OutcomeKind.WRONG_NUMBER, FollowUp.DO_NOT_CALL),
    Contact.THIRD_PARTY: (GuardRule.THIRD_PARTY, OutcomeKind.THIRD_PARTY, FollowUp.CALLBACK),
}


def question_before_acting(
    text: str, reading: DSTOutput, stt_confidence: float | None, balance: float
) -> GuardRule | None:
    """What to ask before acting on these words (ask_amount, ask_again), or None when they can be acted on: a request
    to stop is honoured however it was heard; a sum that cannot be an amount, or is over the balance, is asked for
    again; so are words speech recognition doubts, and an intent the classifier doubts where nothing else (a
    question, a flag, an amount) was read."""
    if reading.intent is Intent.CEASE:
        return None
    amount = reading.amount
    if reading.amount_unclear or (amount is not None and amount > balance + SPOKEN_ROUNDING):
        return GuardRule.ASK_AMOUNT
    if not text.strip() or (stt_confidence is not None and stt_confidence < STT_CONFIDENCE_FLOOR):
        return GuardRule.ASK_AGAIN
    recognised = reading.question is not None or reading.flags or amount is not None
    if reading.confidence < INTENT_CONFIDENCE_FLOOR and not recognised:
        return GuardRule.ASK_AGAIN
    return None


class CallEndedError(RuntimeError):
    pass


@dataclass(frozen=True)
class Observation:
    reading: DSTOutput | None  # None for a hang-up with no words
    state: np.ndarray  # what the policy sees next (the final state when the call ended)
    ended: bool
    outcome: Outcome | None
    guard_rule: GuardRule | None  # the rule that closed the call, or the engine's question before acting
    terms: OfferTerms | None = None  # the terms that rule speaks of (booked, or read back for a yes)


@dataclass(frozen=True)
class Decision:
    proposed: Action
    executed: Action
    guard_rule: GuardRule | None
    terms: OfferTerms | None


class DialogueEngine:
    def __init__(
        self,
        facts: CallFacts,
        tracker: DialogueStateTracker,
        today: date,
        max_turns: int = MAX_TURNS,
        *,
        verify: bool = False,
        confirm: bool = False,
    ):
        """`verify`: start with the contact phase (a live call); without it the debtor is already reached (the
        gymnasium env, whose episodes are the policy's part of a call). `confirm`: ask before acting on unclear
        words and read agreed terms back before booking them (a live call)."""
        self.facts = facts
        self.tracker = tracker
        self.today = today
        self.max_turns = max_turns
        self.history = CallHistory()
        self.outcome: Outcome | None = None
        self.phase = ContactPhase.ASKING_FOR_DEBTOR if verify else ContactPhase.REACHED
        self._unclear = 0
        self.confirm = confirm
        self._pending_offer: OfferTerms | None = None
        self._confirming: tuple[OfferTerms, OfferTerms | None] | None = None  # (terms read back, the offer agreed to)
        self._asks_in_a_row = 0
        self._dispute_open = False
        self._outside_limits = False

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    @property
    def reached(self) -> bool:
        return self.phase is ContactPhase.REACHED

    def contact(self, text: str, *, hang_up: bool = False) -> Observation:
        """Read a reply of the contact phase; the observation's guard rule is what the agent says next (ask again,
        ask for the identifier, the disclosure, or a closing that reveals nothing about the debt)."""
        if self.ended:
            raise CallEndedError(f"the call already ended ({self.outcome.kind.value}); nothing more may be said")
        if self.reached:
            raise ValueError("the debtor is reached: the call goes on with observe and act")
        if hang_up:
            self.outcome = Outcome(kind=OutcomeKind.HANG_UP, follow_ups=(FollowUp.CALLBACK,))
            return Observation(None, self.state(), True, self.outcome, None)
        reading = self.tracker.read(text, asking_for_debtor=self.phase is ContactPhase.ASKING_FOR_DEBTOR)
        rule, outcome = self._contact_step(reading, text)
        self.outcome = outcome
        return Observation(reading, self.state(), outcome is not None, outcome, rule)

    def _contact_step(self, reading: DSTOutput, text: str) -> tuple[GuardRule, Outcome | None]:
        # whoever asks, this number is not called again; a recorded greeting asks nothing, whatever its words read as
        if reading.intent is Intent.CEASE and reading.contact is not Contact.VOICEMAIL:
            follow_ups = (FollowUp.DO_NOT_CALL,)
            return GuardRule.DO_NOT_CALL, Outcome(kind=OutcomeKind.CEASE, do_not_contact=True, follow_ups=follow_ups)
        if self.phase is ContactPhase.ASKING_IDENTIFIER:
            return self._check_identifier(text)
        contact = Contact.WRONG_NUMBER if Flag.WRONG_PERSON in reading.flags else reading.contact
        if contact in UNREACHED:
            rule, kind, follow_up = UNREACHED[contact]
            return rule, Outcome(kind=kind, follow_ups=(follow_up,))
        if contact is Contact.CONFIRMS_IDENTITY:
            if self.identifier is not None:
                self.phase = ContactPhase.ASKING_IDENTIFIER
                return GuardRule.IDENTIFIER_CHECK, None
            self.phase = ContactPhase.REACHED
            return GuardRule.DISCLOSURE, None
        return self._unclear_reply(GuardRule.RIGHT_PARTY_CHECK, GuardRule.THIRD_PARTY)

    @property
    def identifier(self) -> str | None:
        """What the person must say to be verified: the ZIP code on file, else the year of birth, else nothing."""
        if self.facts.zip_code:
            return self.facts.zip_code
        return str(self.facts.birth_year) if self.facts.birth_year else None

    def _check_identifier(self, text: str) -> tuple[GuardRule, Outcome | None]:
        """The identifier must be said (digits in any form); a ZIP code may have one digit misheard, because speech
        recognition garbles digit strings (tiny.en on espeak-ng got 11 of 20 ZIP codes exactly, 15 within one
        digit). Anything else is asked once more, then the call ends without disclosure."""
        digits = "".join(re.findall(r"\d", digits_for_number_words(clean(text))))
        if self._identifier_matches(digits):
            self.phase = ContactPhase.REACHED
            return GuardRule.DISCLOSURE, None
        return self._unclear_reply(GuardRule.IDENTIFIER_CHECK, GuardRule.VERIFICATION_FAILED)

    def _identifier_matches(self, digits: str) -> bool:
        expected = self.identifier
        if expected in digits:
            return True
        tolerance = 1 if self.facts.zip_code else 0
        windows = (digits[i : i + len(expected)] for i in range(len(digits) - len(expected) + 1))
        return any(sum(a != b for a, b in zip(window, expected, strict=True)) <= tolerance for window in windows)

    def _unclear_reply(self, again: GuardRule, give_up: GuardRule) -> tuple[GuardRule, Outcome | None]:
        self._unclear += 1
        if self._unclear <= MAX_UNCLEAR_REPLIES:
            return again, None
        return give_up, Outcome(kind=OutcomeKind.THIRD_PARTY, follow_ups=(FollowUp.CALLBACK,))

    @property
    def turns(self) -> int:
        return len(self.history.actions)

    def state(self) -> np.ndarray:
        return build_state(self.history, self.facts)

    def branch(self) -> DialogueEngine:
        """A copy of the call to imagine in (planning, Deep Dyna-Q): it changes, the call does not. Only the history
        is copied: every other attribute is replaced, never changed in place, and the contracts' models are frozen
        (the tracker keeps nothing of a call)."""
        twin = copy.copy(self)
        twin.history = self.history.copy()
        return twin

    def observe(
        self,
        text: str,
        *,
        hang_up: bool = False,
        stt_confidence: float | None = None,
        imagined: DSTOutput | None = None,
    ) -> Observation:
        """Read the debtor's utterance (empty with hang_up=True when they just left) and apply the termination rule;
        in a live call the observation may instead be the engine's question (`CLARIFYING_RULES`), with no policy
        turn. `stt_confidence`: speech recognition's confidence in the words, where it has one. `imagined`: in a
        branch, a reply a debtor model imagined as the DST's reading, taken as clearly said (no words to read)."""
        if self.ended:
            raise CallEndedError(f"the call already ended ({self.outcome.kind.value}); nothing more may be said")
        offer, self._pending_offer = self._pending_offer, None
        confirming, self._confirming = self._confirming, None
        reading = imagined
        if reading is None and (text.strip() or not hang_up):
            reading = self.tracker.read(text, offer is not None or confirming is not None)
            question = None
            if self.confirm and not hang_up:
                question = question_before_acting(text, reading, stt_confidence, self.facts.balance)
            if question is not None and self._asks_in_a_row < MAX_ASKS_IN_A_ROW:
                self._asks_in_a_row += 1
                self._pending_offer, self._confirming = offer, confirming  # what was on the table still is
                return Observation(reading, self.state(), False, None, question)
            self._asks_in_a_row = 0
            if question is GuardRule.ASK_AMOUNT:  # still no clean amount: act on the words without one
                reading = reading.model_copy(update={"amount": None, "amount_unclear": True})
        if reading is not None:
            if confirming is not None:
                terms, offer = confirming
                if reading.intent is Intent.COMMIT and reading.amount in (None, terms.instalment, terms.total):
                    return self._close(reading, Outcome(kind=OutcomeKind.COMMITMENT, terms=terms))
            self.history.record_reading(reading)
        outcome, rule = self._termination(reading, offer, hang_up)
        if rule is GuardRule.CONFIRM_TERMS:
            return Observation(reading, self.state(), False, None, rule, self._confirming[0])
        if offer is not None and outcome is None and reading is not None and reading.intent is not Intent.COMMIT:
            self.history.record_refusal(offer)
        if outcome is None:
            return Observation(reading, self.state(), False, None, rule)
        return self._close(reading, outcome, rule)

    def _close(self, reading: DSTOutput | None, outcome: Outcome, rule: GuardRule | None = None) -> Observation:
        self.outcome = outcome.model_copy(update={"follow_ups": self._follow_ups(outcome)})
        if outcome.kind is OutcomeKind.COMMITMENT:
            rule = GuardRule.COMMITMENT_CONFIRMED
        return Observation(reading, self.state(), True, self.outcome, rule, self.outcome.terms)

    def _follow_ups(self, outcome: Outcome) -> tuple[FollowUp, ...]:
        """What the call's end leaves to do: the validation notice promised to a dispute, the written confirmation
        of a commitment, writing only after a cease request."""
        follow_ups = []
        if self.history.validation_given or outcome.kind is OutcomeKind.DISPUTE:
            follow_ups.append(FollowUp.MAIL_VALIDATION_NOTICE)
        if outcome.kind is OutcomeKind.COMMITMENT:
            follow_ups.append(FollowUp.MAIL_WRITTEN_CONFIRMATION)
        if outcome.do_not_contact:
            follow_ups.append(FollowUp.DO_NOT_CONTACT)
        if Flag.ASKS_SUPERVISOR in self.history.flags_seen:
            follow_ups.append(FollowUp.SUPERVISOR_CALLBACK)
        return tuple(follow_ups)

    def _termination(
        self, reading: DSTOutput | None, offer: OfferTerms | None, hang_up: bool
    ) -> tuple[Outcome | None, GuardRule | None]:
        intent = reading.intent if reading else None
        if intent is Intent.CEASE:
            return Outcome(kind=OutcomeKind.CEASE, do_not_contact=True), GuardRule.CEASE_REQUEST
        if intent is Intent.DISPUTE and (reading.flags & LEGAL_DISPUTE_FLAGS or self.history.validation_given):
            return Outcome(kind=OutcomeKind.DISPUTE), GuardRule.DISPUTE_ESCALATED
        if intent is Intent.COMMIT:
            terms = self._agreed_terms(reading, offer)
            if terms is not None and self.confirm:
                self._confirming = (terms, offer)
                return None, GuardRule.CONFIRM_TERMS
            if terms is not None:
                return Outcome(kind=OutcomeKind.COMMITMENT, terms=terms), GuardRule.COMMITMENT_CONFIRMED
        if hang_up:
            refused = self.history.last_intent in (Intent.REFUSE, Intent.HOSTILE)
            return Outcome(kind=OutcomeKind.REFUSAL if refused else OutcomeKind.HANG_UP), None
        self._dispute_open = intent is Intent.DISPUTE
        if self.turns >= self.max_turns:
            return Outcome(kind=OutcomeKind.TURN_LIMIT), GuardRule.TURN_LIMIT
        return None, None

    def _agreed_terms(self, reading: DSTOutput, offer: OfferTerms | None) -> OfferTerms | None:
        """What an agreement agrees to: the debtor's own amount (None outside the creditor's limits, which the next
        turn says), else the offer on the table; nothing on an unclear sum."""
        if reading.amount_unclear:
            return None
        if reading.amount is None:
            return offer
        terms = debtor_terms(self.facts, self.history, self.today)
        self._outside_limits = terms is None
        return terms

    def act(self, proposed: int | str | Action) -> Decision:
        """Apply the guard to the policy's proposal, fix the terms and record the executed action."""
        proposed = parse_action(proposed)
        if self.ended:
            raise CallEndedError(f"the call already ended ({self.outcome.kind.value}); no action may follow")
        executed, rule = proposed, None
        if self._dispute_open:
            rule = GuardRule.DISPUTE_VALIDATION
            if proposed not in DISPUTE_ANSWERS:
                executed = Action.ACKNOWLEDGE_AND_REDIRECT
            self.history.validation_given = True
            self._dispute_open = False
        elif self._outside_limits:
            rule = GuardRule.OUTSIDE_LIMITS
        self._outside_limits = False
        terms = compute_offer_terms(executed, self.facts, self.history, self.today)
        self.history.record_action(executed, terms)
        self._pending_offer = terms
        return Decision(proposed, executed, rule, terms)

    def cut_short(self, kind: OutcomeKind) -> None:
        """End the call from the agent's side (interrupted, error): nobody said anything that ended it."""
        if kind not in TRUNCATING_OUTCOMES:
            raise ValueError(f"{kind.value} is the debtor's or the guard's outcome, not a call cut short")
        if not self.ended:
            self.outcome = Outcome(kind=kind)


__all__ = ["CallEndedError", "Decision", "DialogueEngine", "Observation", "question_before_acting"]
