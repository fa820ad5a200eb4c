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
    # Since event schema 3: the debtor was never reached, so nothing about the debt was said and the policy never acted.
    THIRD_PARTY = "third_party"  # someone else answered, or the person could not confirm the identifier
    WRONG_NUMBER = "wrong_number"  # nobody of that name at this number: do not call it again
    VOICEMAIL = "voicemail"  # an answering machine: a limited-content message was left


class FollowUp(StrEnum):
    """What a call leaves to do after it (since event schema 3)."""

    MAIL_VALIDATION_NOTICE = "mail_validation_notice"  # after a dispute: written validation of the debt
    MAIL_WRITTEN_CONFIRMATION = "mail_written_confirmation"  # after a commitment: the agreed terms in writing
    CALLBACK = "callback"  # the debtor was not reached: try again later (they may call the callback number)
    DO_NOT_CALL = "do_not_call"  # the number is not the debtor's, or whoever answered asked not to be called
    DO_NOT_CONTACT = "do_not_contact"  # the debtor asked to stop contact: writing only, as the law allows
    SUPERVISOR_CALLBACK = "supervisor_callback"  # the debtor asked for a supervisor or a person: one calls back


TRUNCATING_OUTCOMES = frozenset({OutcomeKind.INTERRUPTED, OutcomeKind.ERROR})
UNREACHED_OUTCOMES = frozenset({OutcomeKind.THIRD_PARTY, OutcomeKind.WRONG_NUMBER, OutcomeKind.VOICEMAIL})


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: OutcomeKind
    terms: OfferTerms | None = None  # the committed terms, for a commitment
    do_not_contact: bool = False
    follow_ups: tuple[FollowUp, ...] = ()

    @property
    def committed_value(self) -> float:
        return self.terms.total if self.kind is OutcomeKind.COMMITMENT and self.terms else 0.0

    @property
    def unreached(self) -> bool:
        """The debtor was never reached: the call ended in the engine's contact phase, before any policy decision."""
        return self.kind in UNREACHED_OUTCOMES

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

    model_config = ConfigDict(allow_inf_nan=False)

    kind: OutcomeKind
    success: bool
    recovery: float = Field(ge=0.0, le=1.0)
    committed_value: float = Field(ge=0.0)
    terms: OfferTerms | None = None
    do_not_contact: bool = False
    follow_ups: list[FollowUp] = Field(default_factory=list)  # since event schema 3

    @classmethod
    def of(cls, outcome: Outcome, facts: CallFacts) -> OutcomeSummary:
        return cls(
            kind=outcome.kind,
            success=outcome.success,
            recovery=outcome.recovery(facts),
            committed_value=outcome.committed_value,
            terms=outcome.terms,
            do_not_contact=outcome.do_not_contact,
            follow_ups=list(outcome.follow_ups),
        )
