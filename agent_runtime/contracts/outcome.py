"""How a call ends, and the two numbers reported everywhere: success and recovery."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.offers import OfferTerms


class OutcomeKind(StrEnum):
    COMMITMENT = "commitment"  # the debtor accepted concrete terms
    REFUSAL = "refusal"  # the debtor ended the call refusing to pay
    HANG_UP = "hang_up"  # the debtor left the call
    CEASE = "cease"  # the debtor asked to stop contact
    DISPUTE = "dispute"  # the debt is disputed and escalated to validation
    TURN_LIMIT = "turn_limit"  # the call ran out of turns
    # Since event schema 2: the agent's side cut the call short, so its end says nothing about the last strategy.
    INTERRUPTED = "interrupted"  # the agent stopped (worker shutdown, Ctrl-C) while the call was open
    ERROR = "error"  # the call failed (an error in speech, the engine or the session)


TRUNCATING_OUTCOMES = frozenset({OutcomeKind.INTERRUPTED, OutcomeKind.ERROR})


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: OutcomeKind
    terms: OfferTerms | None = None  # the committed terms, for a commitment
    do_not_contact: bool = False

    @property
    def committed_value(self) -> float:
        return self.terms.total if self.kind is OutcomeKind.COMMITMENT and self.terms else 0.0

    @property
    def truncated(self) -> bool:
        """The call was cut short by the agent's side: no reward for its end, and its last decision has no next
        state (replay keeps the earlier transitions, none of them terminal)."""
        return self.kind in TRUNCATING_OUTCOMES

    @property
    def success(self) -> bool:
        """Success is a commitment, whatever its size."""
        return self.kind is OutcomeKind.COMMITMENT

    def recovery(self, facts: CallFacts) -> float:
        """Committed value relative to the balance, in [0, 1]."""
        return min(1.0, self.committed_value / facts.balance)


class OutcomeSummary(BaseModel):
    """The outcome with its derived figures, as stored in the call-closed event."""

    kind: OutcomeKind
    success: bool
    recovery: float = Field(ge=0.0, le=1.0)
    committed_value: float = Field(ge=0.0)
    terms: OfferTerms | None = None
    do_not_contact: bool = False

    @classmethod
    def of(cls, outcome: Outcome, facts: CallFacts) -> OutcomeSummary:
        return cls(
            kind=outcome.kind,
            success=outcome.success,
            recovery=outcome.recovery(facts),
            committed_value=outcome.committed_value,
            terms=outcome.terms,
            do_not_contact=outcome.do_not_contact,
        )
