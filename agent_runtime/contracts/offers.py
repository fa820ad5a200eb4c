"""Offer terms: one deterministic calculator turns (action, call facts, history) into concrete terms.

The simulator judges these terms against the debtor's capacity, the NLG says them and the events record them.

Versions (OFFER_TERMS_VERSION): offers.v1 took a debtor's own amount as it came (in a trial "$5 a month" on a $1,200
balance booked 180 payments covering $900); offers.v2 keeps every term within the creditor's limits: no payment
under `MIN_INSTALMENT`, no plan longer than `MAX_PLAN_MONTHS`, a plan covers the whole balance and no payment exceeds
it (a sum said within `SPOKEN_ROUNDING` above the balance is the balance). A debtor's own amount outside them gives
no terms (`debtor_terms` is None) and the agent says the limits. The terms' fields are unchanged, so offers.v1 terms
in stored events still read.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import Period
from agent_runtime.contracts.facts import CallFacts


class OfferHistory(Protocol):
    """What the calculator reads of a call's history (contracts.state.CallHistory is one)."""

    stated_amount: float | None
    stated_period: Period | None
    plans_refused: int
    settlements_refused: int

    @property
    def hardship_seen(self) -> bool: ...


# Plan lengths in months, one rung longer after each refused plan; hardship starts one rung in.
PLAN_MONTHS_LADDER = (3, 6, 12, 24)
# Settlement as a fraction of the balance, lower after each refused settlement.
SETTLEMENT_FRACTION_LADDER = (0.85, 0.70, 0.55)
OFFER_TERMS_VERSION = "offers.v2"
# The creditor's limits (offers.v2). The minimum is low on purpose: with $25 about 4 % of the simulated debtors
# (small balances, little to spare) could not be offered any plan they can afford; with $10, 0.05 %.
MIN_INSTALMENT = 10.0
# People round the sums they say: "the whole 3,625" for $3,622.75 is the balance, not more than it.
SPOKEN_ROUNDING = 5.0
# A debtor's own proposal is accepted when it clears the balance within this many months...
MAX_PLAN_MONTHS = 36
# ... or, for a lump sum, when it is at least this fraction of the balance.
MIN_SETTLEMENT_FRACTION = 0.5
FIRST_PAYMENT_DAYS = 7
SETTLEMENT_DUE_DAYS = 14
PAYMENTS_PER_MONTH = {Period.WEEKLY: 52 / 12, Period.BIWEEKLY: 26 / 12, Period.MONTHLY: 1.0}
PERIOD_DAYS = {Period.WEEKLY: 7, Period.BIWEEKLY: 14, Period.MONTHLY: 30}


class OfferKind(StrEnum):
    PLAN = "plan"  # the whole balance in instalments
    SETTLEMENT = "settlement"  # one lump sum, the rest forgiven
    PARTIAL = "partial"  # the debtor's own one-off payment below settlement level; the rest stays owed


class OfferTerms(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    kind: OfferKind
    instalment: float = Field(gt=0)  # amount per payment (the whole sum for a settlement)
    period: Period
    n_payments: int = Field(ge=1)
    total: float = Field(gt=0)  # what the debtor pays in all
    first_due: date
    discount_pct: float = Field(ge=0, le=100)  # share of the balance forgiven
    debtor_proposed: bool = False  # the terms are the debtor's own stated amount

    @property
    def monthly_equivalent(self) -> float:
        """What the terms cost per month (for a settlement: the whole sum)."""
        if self.period is Period.ONCE:
            return self.total
        return self.instalment * PAYMENTS_PER_MONTH[self.period]


def within_limits(stated: float, period: Period, balance: float) -> bool:
    """Whether a debtor's own amount, paid every `period`, is terms the creditor accepts (offers.v2)."""
    if stated < MIN_INSTALMENT or stated > balance + SPOKEN_ROUNDING:
        return False
    return period is Period.ONCE or balance / (stated * PAYMENTS_PER_MONTH[period]) <= MAX_PLAN_MONTHS


def _round_up(value: float, step: float = 5.0) -> float:
    return float(math.ceil(value / step) * step)


def _own_plan(facts: CallFacts, stated: float, period: Period, today: date) -> OfferTerms:
    instalment = min(stated, facts.balance)
    return OfferTerms(
        kind=OfferKind.PLAN,
        instalment=instalment,
        period=period,
        n_payments=math.ceil(facts.balance / instalment),
        total=facts.balance,
        first_due=today + timedelta(days=FIRST_PAYMENT_DAYS),
        discount_pct=0.0,
        debtor_proposed=True,
    )


def plan_terms(facts: CallFacts, history: OfferHistory, today: date) -> OfferTerms:
    """The debtor's own instalment where it is within the limits, else the ladder's next plan."""
    stated, period = history.stated_amount, history.stated_period
    if stated and period in PAYMENTS_PER_MONTH and within_limits(stated, period, facts.balance):
        return _own_plan(facts, stated, period, today)
    rung = history.plans_refused + (1 if history.hardship_seen else 0)
    months = PLAN_MONTHS_LADDER[min(rung, len(PLAN_MONTHS_LADDER) - 1)]
    instalment = _round_up(facts.balance / months)
    return OfferTerms(
        kind=OfferKind.PLAN,
        instalment=instalment,
        period=Period.MONTHLY,
        n_payments=math.ceil(facts.balance / instalment),
        total=facts.balance,
        first_due=today + timedelta(days=FIRST_PAYMENT_DAYS),
        discount_pct=0.0,
    )


def settlement_terms(facts: CallFacts, history: OfferHistory, today: date) -> OfferTerms:
    stated = history.stated_amount
    due = today + timedelta(days=SETTLEMENT_DUE_DAYS)
    if stated and history.stated_period is Period.ONCE and stated >= MIN_SETTLEMENT_FRACTION * facts.balance:
        amount = min(stated, facts.balance)
        proposed = True
    else:
        fraction = SETTLEMENT_FRACTION_LADDER[min(history.settlements_refused, len(SETTLEMENT_FRACTION_LADDER) - 1)]
        amount = min(_round_up(facts.balance * fraction), facts.balance)
        proposed = False
    discount = round(100.0 * (1.0 - amount / facts.balance), 2)
    return OfferTerms(
        kind=OfferKind.SETTLEMENT,
        instalment=amount,
        period=Period.ONCE,
        n_payments=1,
        total=amount,
        first_due=due,
        discount_pct=max(0.0, discount),
        debtor_proposed=proposed,
    )


def debtor_terms(facts: CallFacts, history: OfferHistory, today: date) -> OfferTerms | None:
    """Terms from what the debtor said they will pay, when they commit to their own amount; None when they stated
    none or it is outside the creditor's limits."""
    stated, period = history.stated_amount, history.stated_period or Period.ONCE
    if not stated or not within_limits(stated, period, facts.balance):
        return None
    if period in PAYMENTS_PER_MONTH:
        return _own_plan(facts, stated, period, today)
    if stated >= MIN_SETTLEMENT_FRACTION * facts.balance:
        return settlement_terms(facts, history, today)
    return OfferTerms(
        kind=OfferKind.PARTIAL,
        instalment=stated,
        period=Period.ONCE,
        n_payments=1,
        total=stated,
        first_due=today + timedelta(days=FIRST_PAYMENT_DAYS),
        discount_pct=0.0,
        debtor_proposed=True,
    )


def compute_offer_terms(action: Action, facts: CallFacts, history: OfferHistory, today: date) -> OfferTerms | None:
    """Terms the action puts on the table, or None for an action that makes no offer."""
    if action in (Action.OFFER_PAYMENT_PLAN, Action.VALIDATE_THEN_OFFER):
        return plan_terms(facts, history, today)
    if action is Action.PROPOSE_SETTLEMENT:
        return settlement_terms(facts, history, today)
    return None
