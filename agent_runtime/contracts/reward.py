"""The reward: one pure function of (state, action, next state, outcome, call facts).

The simulator trainer and `training.replay` call this same function; events store facts, never rewards, so a
change here re-scores old logs.
"""

from __future__ import annotations

import numpy as np

from agent_runtime.contracts.actions import PRESSURE_ACTIONS, Action
from agent_runtime.contracts.dst import Intent
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.outcome import Outcome, OutcomeKind
from agent_runtime.contracts.state import FEATURE_INDEX, last_intent_of

REWARD_VERSION = "reward.v1"
GAMMA = 0.99  # the discount the shaping term assumes; learners should use the same
TURN_COST = 0.05
VIOLATION_PENALTY = 5.0
SUCCESS_BONUS = 1.0
RECOVERY_WEIGHT = 4.0
FAILURE_REWARD = {
    OutcomeKind.REFUSAL: -1.0,
    OutcomeKind.HANG_UP: -1.0,
    OutcomeKind.TURN_LIMIT: -1.0,
    OutcomeKind.CEASE: -1.0,
    OutcomeKind.DISPUTE: -0.5,
}
SHAPING_SCALE = 0.5
_SENTIMENT = FEATURE_INDEX["sentiment_last"]


def potential(state: np.ndarray) -> float:
    """Phi(s): the debtor's current mood. Shaping with it is potential-based, so it cannot be farmed."""
    return SHAPING_SCALE * float(state[_SENTIMENT])


def violates_compliance(state: np.ndarray, action: Action) -> bool:
    """Pressure proposed after the debtor disputed or asked to cease (the guard blocks it; the policy pays)."""
    return action in PRESSURE_ACTIONS and last_intent_of(state) in (Intent.DISPUTE, Intent.CEASE)


def outcome_reward(outcome: Outcome, facts: CallFacts) -> float:
    if outcome.truncated or outcome.unreached:
        raise ValueError(f"a call that ended {outcome.kind.value} has no terminal reward: no strategy led to it")
    if outcome.kind is OutcomeKind.COMMITMENT:
        return SUCCESS_BONUS + RECOVERY_WEIGHT * outcome.recovery(facts)
    return FAILURE_REWARD[outcome.kind]


def reward_terms(
    state: np.ndarray, action: Action, next_state: np.ndarray, outcome: Outcome | None, facts: CallFacts
) -> dict[str, float]:
    """The reward's parts (turn cost, compliance penalty, mood shaping, the call's outcome); they sum to the reward."""
    next_potential = 0.0 if outcome is not None else potential(next_state)
    return {
        "turn_cost": -TURN_COST,
        "compliance": -VIOLATION_PENALTY if violates_compliance(state, action) else 0.0,
        "shaping": GAMMA * next_potential - potential(state),
        "outcome": outcome_reward(outcome, facts) if outcome is not None else 0.0,
    }


def compute_reward(
    state: np.ndarray, action: Action, next_state: np.ndarray, outcome: Outcome | None, facts: CallFacts
) -> float:
    """Reward of proposing `action` in `state`; `outcome` is set when the call ended at `next_state`."""
    return sum(reward_terms(state, action, next_state, outcome, facts).values())
