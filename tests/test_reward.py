import itertools
from datetime import date

import numpy as np
import pytest

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import DSTOutput, Intent
from agent_runtime.contracts.offers import compute_offer_terms
from agent_runtime.contracts.outcome import Outcome, OutcomeKind
from agent_runtime.contracts.reward import GAMMA, VIOLATION_PENALTY, compute_reward, potential
from agent_runtime.contracts.state import MAX_TURNS, CallHistory, build_state


def _state(facts, intent: Intent, sentiment: float) -> np.ndarray:
    history = CallHistory()
    history.record_reading(DSTOutput(intent=intent, sentiment=sentiment))
    return build_state(history, facts)


def _discounted(rewards: list[float]) -> float:
    return sum(r * GAMMA**t for t, r in enumerate(rewards))


def test_pressure_after_cease_or_dispute_is_penalised(facts):
    disputed = _state(facts, Intent.DISPUTE, 0.0)
    calm = _state(facts, Intent.QUESTION, 0.0)
    penalised = compute_reward(disputed, Action.HARD_CLOSE, calm, None, facts)
    allowed = compute_reward(disputed, Action.VALIDATE_THEN_OFFER, calm, None, facts)
    assert allowed - penalised == pytest.approx(VIOLATION_PENALTY)
    assert compute_reward(calm, Action.HARD_CLOSE, calm, None, facts) == pytest.approx(allowed)


def test_shaping_is_potential_based_so_mood_cycles_cannot_be_farmed(facts):
    happy, sad = _state(facts, Intent.WILLING, 0.9), _state(facts, Intent.HARDSHIP, -0.9)
    states = [sad, happy] * 6 + [sad]
    rewards = [compute_reward(s, Action.EMPATHETIC_LISTENING, s2, None, facts) for s, s2 in itertools.pairwise(states)]
    shaping = _discounted(rewards) - _discounted([-0.05] * len(rewards))
    # Potential-based shaping telescopes: its discounted sum is gamma^T * phi(s_T) - phi(s_0), whatever the path.
    assert shaping == pytest.approx(GAMMA ** len(rewards) * potential(states[-1]) - potential(states[0]), abs=1e-9)


def test_a_policy_that_never_closes_earns_less_than_one_that_closes_99_percent(facts):
    """The failure of a previous public attempt: stalling paid more than closing. Here it does not."""
    opening = _state(facts, Intent.QUESTION, 0.0)
    warm = _state(facts, Intent.WILLING, 0.8)
    # Never closes: keeps the debtor happy until the turn limit.
    stall = [compute_reward(opening, Action.EMPATHETIC_LISTENING, warm, None, facts)]
    stall += [compute_reward(warm, Action.EMPATHETIC_LISTENING, warm, None, facts)] * (MAX_TURNS - 2)
    stall += [compute_reward(warm, Action.EMPATHETIC_LISTENING, warm, Outcome(kind=OutcomeKind.TURN_LIMIT), facts)]
    # Closes in two turns 99 % of the time (a 6-month plan), hangs up otherwise.
    plan = compute_offer_terms(Action.OFFER_PAYMENT_PLAN, facts, CallHistory(), date(2026, 1, 5))
    first = compute_reward(opening, Action.EMPATHETIC_LISTENING, warm, None, facts)
    win = _discounted(
        [
            first,
            compute_reward(
                warm, Action.OFFER_PAYMENT_PLAN, warm, Outcome(kind=OutcomeKind.COMMITMENT, terms=plan), facts
            ),
        ]
    )
    lose = _discounted(
        [first, compute_reward(warm, Action.OFFER_PAYMENT_PLAN, warm, Outcome(kind=OutcomeKind.HANG_UP), facts)]
    )
    closer = 0.99 * win + 0.01 * lose
    assert _discounted(stall) < 0 < closer
    # Even a closer that succeeds only 30 % of the time beats never closing.
    assert 0.3 * win + 0.7 * lose > _discounted(stall)


def test_bigger_recovery_earns_more(facts):
    calm = _state(facts, Intent.WILLING, 0.0)
    history = CallHistory()
    settlement = compute_offer_terms(Action.PROPOSE_SETTLEMENT, facts, history, date(2026, 1, 5))
    plan = compute_offer_terms(Action.OFFER_PAYMENT_PLAN, facts, history, date(2026, 1, 5))
    reward = {
        t.kind: compute_reward(
            calm, Action.OFFER_PAYMENT_PLAN, calm, Outcome(kind=OutcomeKind.COMMITMENT, terms=t), facts
        )
        for t in (settlement, plan)
    }
    assert reward["plan"] > reward["settlement"] > 0
