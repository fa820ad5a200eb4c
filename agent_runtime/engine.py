"""The dialogue engine: one per call, framework-independent.

It owns the call's DST state, the compliance guard, the offer terms and the termination rule. The gymnasium
env wraps it with a simulated debtor, the voice runtime with speech and NLG, so training sees exactly what
the runtime executes. Each turn has two steps: `observe` the debtor's utterance (which may end the call),
then `act` on the policy's proposed action (which the guard may override).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from agent_runtime.contracts.actions import RAPPORT_ACTIONS, Action, parse_action
from agent_runtime.contracts.dst import DSTOutput, Flag, Intent
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import OfferTerms, compute_offer_terms, debtor_terms
from agent_runtime.contracts.outcome import TRUNCATING_OUTCOMES, Outcome, OutcomeKind
from agent_runtime.contracts.state import MAX_TURNS, CallHistory, build_state
from agent_runtime.dst.tracker import DialogueStateTracker

# Disputes that cannot be talked through on the phone: they end the call and go to written validation.
LEGAL_DISPUTE_FLAGS = frozenset(
    {Flag.WRONG_PERSON, Flag.IDENTITY_THEFT, Flag.ALREADY_PAID, Flag.MENTIONS_BANKRUPTCY, Flag.MENTIONS_ATTORNEY}
)
# What may answer a dispute: the validation answer, alone or with an offer, or listening. Anything else is replaced.
DISPUTE_ANSWERS = frozenset({Action.VALIDATE_THEN_OFFER, *RAPPORT_ACTIONS})


class CallEndedError(RuntimeError):
    pass


@dataclass(frozen=True)
class Observation:
    reading: DSTOutput | None  # None for a hang-up with no words
    state: np.ndarray  # what the policy sees next (the final state when the call ended)
    ended: bool
    outcome: Outcome | None
    guard_rule: GuardRule | None  # the rule that closed the call, if one did


@dataclass(frozen=True)
class Decision:
    proposed: Action
    executed: Action
    guard_rule: GuardRule | None
    terms: OfferTerms | None


class DialogueEngine:
    def __init__(self, facts: CallFacts, tracker: DialogueStateTracker, today: date, max_turns: int = MAX_TURNS):
        self.facts = facts
        self.tracker = tracker
        self.today = today
        self.max_turns = max_turns
        self.history = CallHistory()
        self.outcome: Outcome | None = None
        self._pending_offer: OfferTerms | None = None
        self._dispute_open = False

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    @property
    def turns(self) -> int:
        return len(self.history.actions)

    def state(self) -> np.ndarray:
        return build_state(self.history, self.facts)

    def observe(self, text: str, *, hang_up: bool = False) -> Observation:
        """Read the debtor's utterance (empty with hang_up=True when they just left) and apply the termination rule."""
        if self.ended:
            raise CallEndedError(f"the call already ended ({self.outcome.kind.value}); nothing more may be said")
        offer, self._pending_offer = self._pending_offer, None
        reading = None
        if text.strip() or not hang_up:
            reading = self.tracker.read(text, offer is not None)
            self.history.record_reading(reading)
        outcome, rule = self._termination(reading, offer, hang_up)
        if offer is not None and outcome is None and reading is not None and reading.intent is not Intent.COMMIT:
            self.history.record_refusal(offer)
        self.outcome = outcome
        return Observation(reading, self.state(), outcome is not None, outcome, rule)

    def _termination(
        self, reading: DSTOutput | None, offer: OfferTerms | None, hang_up: bool
    ) -> tuple[Outcome | None, GuardRule | None]:
        intent = reading.intent if reading else None
        if intent is Intent.CEASE:
            return Outcome(kind=OutcomeKind.CEASE, do_not_contact=True), GuardRule.CEASE_REQUEST
        if intent is Intent.DISPUTE and (reading.flags & LEGAL_DISPUTE_FLAGS or self.history.validation_given):
            return Outcome(kind=OutcomeKind.DISPUTE), GuardRule.DISPUTE_ESCALATED
        if intent is Intent.COMMIT:
            terms = (debtor_terms(self.facts, self.history, self.today) if reading.amount else None) or offer
            if terms is not None:
                return Outcome(kind=OutcomeKind.COMMITMENT, terms=terms), GuardRule.COMMITMENT_CONFIRMED
        if hang_up:
            refused = self.history.last_intent in (Intent.REFUSE, Intent.HOSTILE)
            return Outcome(kind=OutcomeKind.REFUSAL if refused else OutcomeKind.HANG_UP), None
        self._dispute_open = intent is Intent.DISPUTE
        if self.turns >= self.max_turns:
            return Outcome(kind=OutcomeKind.TURN_LIMIT), GuardRule.TURN_LIMIT
        return None, None

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


__all__ = ["CallEndedError", "Decision", "DialogueEngine", "Observation"]
