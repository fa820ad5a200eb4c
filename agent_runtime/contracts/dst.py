"""What the dialogue-state tracker reads from one user utterance.

Versions (DST_SCHEMA_VERSION): dst.v1 is intent, sentiment, amount, period, flags and confidence; dst.v2 adds who
answered the phone (`contact`, read while the agent asks for the debtor) and the kind of question asked
(`question`). Neither enters the state vector: the policy starts after right-party contact, and questions are
answered from the call facts by the wording, not by the policy. dst.v3 adds `amount_unclear`: a sum was said as money
but cannot be taken as an amount (zero, negative, written as a power of ten, over a million, or two different sums
in one utterance), so the engine asks rather than acting on a guess; `amount` is then None. An amount (clear or
unclear) is read only where it is offered: on commit, willing or question; on hardship, a stall or small talk where
it is said as what one can pay or on its own; on a refusal that corrects or counters with it. Elsewhere a sum is a
fact, not an offer (income, rent, the balance, a past payment, a year), as the labelling conventions of the held-out
sets have it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

DST_SCHEMA_VERSION = "dst.v3"


class Intent(StrEnum):
    """Order is part of the contract: it is the order of the intent one-hot in the state vector."""

    COMMIT = "commit"  # agrees to pay or accepts an offer
    WILLING = "willing"  # open to paying, asks about options; not yet committed
    HARDSHIP = "hardship"  # financial or life difficulty
    QUESTION = "question"  # asks for facts about the debt or the call
    STALL = "stall"  # delays or avoids
    REFUSE = "refuse"  # declines to pay, without abuse
    HOSTILE = "hostile"  # abuse, threats, insults, scam/harassment accusations
    DISPUTE = "dispute"  # contests the debt
    CEASE = "cease"  # asks to stop contact
    OTHER = "other"  # greetings, acknowledgements, off-topic, nothing recognisable


INTENTS: tuple[Intent, ...] = tuple(Intent)


class Period(StrEnum):
    ONCE = "once"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


PERIODS: tuple[Period, ...] = tuple(Period)


class Flag(StrEnum):
    """A fixed set of facts the guard and the policy care about, independent of the intent."""

    MENTIONS_ATTORNEY = "mentions_attorney"  # has or will get a lawyer / attorney
    MENTIONS_BANKRUPTCY = "mentions_bankruptcy"  # filed or is filing for bankruptcy
    WRONG_PERSON = "wrong_person"  # "not me", "wrong number", "no one by that name"
    IDENTITY_THEFT = "identity_theft"  # fraud, stolen identity
    ALREADY_PAID = "already_paid"  # says the debt was paid
    ASKS_VALIDATION = "asks_validation"  # prove it, send proof / validation / verification
    ASKS_SUPERVISOR = "asks_supervisor"  # manager, supervisor
    WRITTEN_ONLY = "written_only"  # contact in writing / by mail only
    CALLBACK_REQUEST = "callback_request"  # call back later / another time


FLAGS: tuple[Flag, ...] = tuple(Flag)


class Contact(StrEnum):
    """Who answered, from their reply to "may I speak with NAME?" (dst.v2)."""

    CONFIRMS_IDENTITY = "confirms_identity"  # "speaking", "this is she", "yes that's me"
    THIRD_PARTY = "third_party"  # someone else: "he's not home", "can I take a message"
    WRONG_NUMBER = "wrong_number"  # "wrong number", "no one by that name"
    VOICEMAIL = "voicemail"  # "you've reached ..., leave a message after the tone"


class QuestionKind(StrEnum):
    """What a question asks (dst.v2): the reply answers it from the call facts before the strategy's words."""

    WHO_IS_CALLING = "who_is_calling"
    WHICH_COMPANY = "which_company"  # the agent's business or the creditor
    HOW_MUCH = "how_much"
    DEBT_ORIGIN = "debt_origin"
    REPEAT = "repeat"
    HOW_TO_PAY = "how_to_pay"
    ARE_YOU_A_ROBOT = "are_you_a_robot"


class DSTOutput(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    intent: Intent
    sentiment: float = Field(ge=-1.0, le=1.0)
    amount: float | None = Field(default=None, ge=0)
    period: Period | None = None
    flags: frozenset[Flag] = frozenset()
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    contact: Contact | None = None  # since dst.v2
    question: QuestionKind | None = None  # since dst.v2
    amount_unclear: bool = False  # since dst.v3

    def to_json_dict(self) -> dict:
        return {
            "intent": self.intent.value,
            "sentiment": round(self.sentiment, 4),
            "amount": self.amount,
            "period": self.period.value if self.period else None,
            "flags": sorted(f.value for f in self.flags),
            "confidence": round(self.confidence, 4),
            "contact": self.contact.value if self.contact else None,
            "question": self.question.value if self.question else None,
            "amount_unclear": self.amount_unclear,
        }
