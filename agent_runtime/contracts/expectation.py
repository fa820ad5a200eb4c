"""What the agent expects to hear: the debtor's next act as a debtor model predicts it, and that prediction as logged.

A debtor model (training.debtor_model, Deep Dyna-Q's world model) gives, for the state and the agent's action, a
distribution over the debtor's next act in four parts. This module owns the classes of each part, so that the model
that learns them, the runtime that reads them out of a checkpoint and the turn event that records them agree:
- `intent`: the intent the DST will read in the reply, or `no_words` (a hang-up in silence);
- `amount`: a sum in the reply relative to the offer on the table (the balance when none is), bucketed;
- `sentiment`: whether the DST's sentiment goes down, stays or goes up against the last reply;
- `ends`: whether the call ends with that reply (a hang-up, a cease request, a booked commitment).
"""

from __future__ import annotations

import bisect
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from agent_runtime.contracts.dst import INTENTS, DSTOutput
from agent_runtime.contracts.offers import OfferTerms

DEBTOR_MODEL_KIND = "debtor"  # the world-model kind a checkpoint's metadata names for a debtor model
NO_WORDS = "no_words"
INTENT_CLASSES: tuple[str, ...] = (*(intent.value for intent in INTENTS), NO_WORDS)
AMOUNT_EDGES = (0.25, 0.75, 1.1)  # the upper edges of the buckets of a sum relative to the offer's payment
AMOUNT_CLASSES: tuple[str, ...] = ("none", "under 25 %", "25-75 %", "75-110 %", "over 110 %")
AMOUNT_RANGES = ((0.05, 0.25), (0.25, 0.75), (0.75, 1.1), (1.1, 1.5))  # what an imagined sum is drawn from, per bucket
SENTIMENT_STEP = 0.1  # a change of the DST's sentiment smaller than this is "the same"
SENTIMENT_CLASSES: tuple[str, ...] = ("down", "same", "up")
ENDS_CLASSES: tuple[str, ...] = ("continues", "ends")
ACT_CLASSES: dict[str, tuple[str, ...]] = {
    "intent": INTENT_CLASSES,
    "amount": AMOUNT_CLASSES,
    "sentiment": SENTIMENT_CLASSES,
    "ends": ENDS_CLASSES,
}


def act_labels(
    reading: DSTOutput | None, previous_sentiment: float, terms: OfferTerms | None, balance: float, ended: bool
) -> dict[str, int]:
    """The debtor's act in a reply, as the class index of each part (`reading` None: a reply without words)."""
    if reading is None:
        return {"intent": INTENT_CLASSES.index(NO_WORDS), "amount": 0, "sentiment": 1, "ends": int(ended)}
    amount = 0
    if reading.amount is not None:
        reference = terms.instalment if terms is not None else balance
        amount = 1 + bisect.bisect_right(AMOUNT_EDGES, reading.amount / max(reference, 1.0))
    change = reading.sentiment - previous_sentiment
    sentiment = 0 if change <= -SENTIMENT_STEP else 2 if change >= SENTIMENT_STEP else 1
    return {"intent": INTENTS.index(reading.intent), "amount": amount, "sentiment": sentiment, "ends": int(ended)}


Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class ExpectedReply(BaseModel):
    """A debtor model's distribution over the debtor's next act after the policy's proposal (event schema 7)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    model: str = Field(min_length=1, max_length=200)  # which debtor model: the policy version that carries it
    intent: dict[str, Probability]
    amount: dict[str, Probability]
    sentiment: dict[str, Probability]
    ends: Probability  # the probability that the call ends with the reply
