"""The state spec: a named, versioned feature vector built from the call's DST history and the agent's own past.

Its version travels in every event and every checkpoint; building or loading against another version is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from agent_runtime.contracts.actions import (
    ACTION_NAMES,
    ACTION_SET_VERSION,
    N_ACTIONS,
    PRESSURE_ACTIONS,
    RAPPORT_ACTIONS,
    Action,
)
from agent_runtime.contracts.dst import FLAGS, INTENTS, PERIODS, DSTOutput, Intent, Period
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.offers import OfferKind, OfferTerms

STATE_SPEC_VERSION = "state.v1"
MAX_TURNS = 12  # agent turns per call; the turn limit of the termination rule
OFFER_COUNT_SCALE = 3.0

SEEN_INTENTS = (
    Intent.WILLING,
    Intent.HARDSHIP,
    Intent.QUESTION,
    Intent.STALL,
    Intent.REFUSE,
    Intent.HOSTILE,
    Intent.DISPUTE,
)

STATE_FEATURES: tuple[str, ...] = (
    "turn_fraction",  # agent turns taken / MAX_TURNS
    "sentiment_last",
    "sentiment_mean",
    "sentiment_trend",  # last minus the one before
    "sentiment_min",
    *(f"intent_last_{i.value}" for i in INTENTS),  # one-hot of the last utterance's intent
    *(f"intent_seen_{i.value}" for i in SEEN_INTENTS),  # 1 once the intent appeared in the call
    *(f"flag_seen_{f.value}" for f in FLAGS),  # 1 once the flag appeared in the call
    *(f"last_action_{a}" for a in ACTION_NAMES),  # one-hot of the agent's previous action
    *(f"action_fraction_{a}" for a in ACTION_NAMES),  # times executed / MAX_TURNS
    "repeated_last_action",  # the last two executed actions were the same
    "pressure_before_rapport",  # a pressure action came before any rapport action
    "plans_offered",  # / OFFER_COUNT_SCALE
    "settlements_offered",
    "plans_refused",
    "settlements_refused",
    "last_offer_total_ratio",  # total of the last offer / balance
    "stated_amount_ratio",  # the debtor's last stated amount / balance (capped at 1)
    *(f"stated_period_{p.value}" for p in PERIODS),
    "validation_given",  # the debt-validation answer was given
    "balance_scaled",  # log10(balance) / 6
    "days_overdue_scaled",  # min(days, 730) / 730
)
STATE_SIZE = len(STATE_FEATURES)
# What a debtor-policy checkpoint declares and is checked against at load (policy.metadata.check_compatible).
CHECKPOINT_SPACES = MappingProxyType(
    {
        "obs_spec_version": STATE_SPEC_VERSION,
        "action_set_version": ACTION_SET_VERSION,
        "obs_size": STATE_SIZE,
        "n_actions": N_ACTIONS,
    }
)
FEATURE_INDEX = {name: i for i, name in enumerate(STATE_FEATURES)}

_INTENT_LAST = FEATURE_INDEX["intent_last_commit"]
_INTENT_POS = {intent: i for i, intent in enumerate(INTENTS)}
_SEEN = {intent: FEATURE_INDEX[f"intent_seen_{intent.value}"] for intent in SEEN_INTENTS}
_FLAG = {flag: FEATURE_INDEX[f"flag_seen_{flag.value}"] for flag in FLAGS}
_LAST_ACTION = FEATURE_INDEX["last_action_empathetic_listening"]
_ACTION_FRACTION = FEATURE_INDEX["action_fraction_empathetic_listening"]
_STATED_PERIOD = {p: FEATURE_INDEX[f"stated_period_{p.value}"] for p in PERIODS}


@dataclass
class CallHistory:
    """Everything the state is built from. The dialogue engine owns one per call and appends to it."""

    readings: list[DSTOutput] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)  # executed actions
    offers: list[OfferTerms] = field(default_factory=list)
    plans_refused: int = 0
    settlements_refused: int = 0
    validation_given: bool = False
    pressure_before_rapport: bool = False
    stated_amount: float | None = None
    stated_period: Period | None = None
    intents_seen: set[Intent] = field(default_factory=set)
    flags_seen: set = field(default_factory=set)

    @property
    def hardship_seen(self) -> bool:
        return Intent.HARDSHIP in self.intents_seen

    @property
    def last_intent(self) -> Intent | None:
        return self.readings[-1].intent if self.readings else None

    def copy(self) -> CallHistory:
        """A history that can grow apart from this one (the readings and offers themselves are frozen: shared)."""
        return replace(
            self,
            readings=list(self.readings),
            actions=list(self.actions),
            offers=list(self.offers),
            intents_seen=set(self.intents_seen),
            flags_seen=set(self.flags_seen),
        )

    def record_reading(self, reading: DSTOutput) -> None:
        self.readings.append(reading)
        self.intents_seen.add(reading.intent)
        self.flags_seen.update(reading.flags)
        if reading.amount is not None:
            self.stated_amount = reading.amount
            self.stated_period = reading.period

    def record_action(self, action: Action, terms: OfferTerms | None) -> None:
        if action in PRESSURE_ACTIONS and not any(a in RAPPORT_ACTIONS for a in self.actions):
            self.pressure_before_rapport = True
        self.actions.append(action)
        if terms is not None:
            self.offers.append(terms)

    def record_refusal(self, terms: OfferTerms) -> None:
        if terms.kind is OfferKind.PLAN:
            self.plans_refused += 1
        else:
            self.settlements_refused += 1


def build_state(history: CallHistory, facts: CallFacts) -> np.ndarray:
    """The state vector the policy sees (float32, STATE_SIZE)."""
    x = np.zeros(STATE_SIZE, dtype=np.float32)
    x[0] = min(len(history.actions), MAX_TURNS) / MAX_TURNS
    if history.readings:
        sentiments = [r.sentiment for r in history.readings]
        x[1] = sentiments[-1]
        x[2] = sum(sentiments) / len(sentiments)
        x[3] = sentiments[-1] - sentiments[-2] if len(sentiments) > 1 else 0.0
        x[4] = min(sentiments)
        x[_INTENT_LAST + _INTENT_POS[history.readings[-1].intent]] = 1.0
    for intent in history.intents_seen:
        if intent in _SEEN:
            x[_SEEN[intent]] = 1.0
    for flag in history.flags_seen:
        x[_FLAG[flag]] = 1.0
    if history.actions:
        x[_LAST_ACTION + history.actions[-1]] = 1.0
        for action in history.actions:
            x[_ACTION_FRACTION + action] += 1.0 / MAX_TURNS
        x[FEATURE_INDEX["repeated_last_action"]] = float(
            len(history.actions) > 1 and history.actions[-1] == history.actions[-2]
        )
    x[FEATURE_INDEX["pressure_before_rapport"]] = float(history.pressure_before_rapport)
    plans = sum(1 for o in history.offers if o.kind is OfferKind.PLAN)
    x[FEATURE_INDEX["plans_offered"]] = plans / OFFER_COUNT_SCALE
    x[FEATURE_INDEX["settlements_offered"]] = (len(history.offers) - plans) / OFFER_COUNT_SCALE
    x[FEATURE_INDEX["plans_refused"]] = history.plans_refused / OFFER_COUNT_SCALE
    x[FEATURE_INDEX["settlements_refused"]] = history.settlements_refused / OFFER_COUNT_SCALE
    if history.offers:
        x[FEATURE_INDEX["last_offer_total_ratio"]] = min(1.0, history.offers[-1].total / facts.balance)
    if history.stated_amount is not None:
        x[FEATURE_INDEX["stated_amount_ratio"]] = min(1.0, history.stated_amount / facts.balance)
        if history.stated_period is not None:
            x[_STATED_PERIOD[history.stated_period]] = 1.0
    x[FEATURE_INDEX["validation_given"]] = float(history.validation_given)
    x[FEATURE_INDEX["balance_scaled"]] = math.log10(facts.balance) / 6.0
    x[FEATURE_INDEX["days_overdue_scaled"]] = min(facts.days_overdue, 730) / 730.0
    return x


def last_intent_of(state: np.ndarray) -> Intent | None:
    """Read the last utterance's intent back from a state vector (used by the pure reward function)."""
    block = state[_INTENT_LAST : _INTENT_LAST + len(INTENTS)]
    if not block.any():
        return None
    return INTENTS[int(np.argmax(block))]
