"""Bounded exploration and the off-policy estimators that need it."""

import numpy as np
import pytest

from agent_runtime.contracts.actions import N_ACTIONS, Action
from agent_runtime.contracts.dst import Intent
from agent_runtime.contracts.state import FEATURE_INDEX, STATE_SIZE
from agent_runtime.engine import DISPUTE_ANSWERS
from agent_runtime.exploration import NO_EXPLORATION, Exploration
from training.ope import LoggedCall, estimate

CALM = np.zeros(STATE_SIZE, dtype=np.float32)
DISPUTING = CALM.copy()
DISPUTING[FEATURE_INDEX[f"intent_last_{Intent.DISPUTE.value}"]] = 1.0
VALUES = np.array([1.0, 0.9, -2.0, 0.7, -1.0, -3.0, 0.2, 0.95, -0.5])


def test_exploration_draws_only_near_the_best_and_logs_the_probability():
    rule = Exploration(epsilon=0.3, margin=0.35)
    p = rule.distribution(0, VALUES, CALM)
    candidates = {0, 1, 3, 7}  # within 0.35 of the best (1.0)
    assert set(np.flatnonzero(p)) == candidates
    assert p.sum() == pytest.approx(1.0) and p[0] == pytest.approx(0.7 + 0.3 / 4)
    rng = np.random.default_rng(0)
    draws = [rule.choose(0, VALUES, CALM, rng) for _ in range(4000)]
    assert {a for a, _ in draws} == candidates
    for action, propensity in draws[:50]:
        assert propensity == pytest.approx(p[action])
    share_greedy = sum(a == 0 for a, _ in draws) / len(draws)
    assert abs(share_greedy - p[0]) < 0.03


def test_exploration_never_proposes_what_the_guard_would_override():
    rule = Exploration(epsilon=1.0, margin=float("inf"))
    p = rule.distribution(int(Action.VALIDATE_THEN_OFFER), VALUES, DISPUTING)
    assert {Action(a) for a in np.flatnonzero(p)} <= set(DISPUTE_ANSWERS)


def test_no_exploration_without_values_unless_uniform():
    assert Exploration(0.5, 0.5).choose(3, None, CALM, np.random.default_rng(0)) == (3, 1.0)
    uniform = Exploration(0.5, float("inf")).distribution(3, None, CALM)
    assert uniform[3] == pytest.approx(0.5 + 0.5 / N_ACTIONS) and np.count_nonzero(uniform) == N_ACTIONS
    assert NO_EXPLORATION.choose(2, VALUES, CALM, np.random.default_rng(0)) == (2, 1.0)


@pytest.mark.parametrize("bad", [{"epsilon": 1.5}, {"epsilon": -0.1}, {"margin": -1.0}])
def test_bad_exploration_settings_are_refused(bad):
    with pytest.raises(ValueError):
        Exploration(**bad)


def _bandit_calls(n: int, rng: np.random.Generator, model_error: float) -> list[LoggedCall]:
    """One-decision calls: the behaviour proposes action 0 or 1 half and half; action 1 pays 1 + noise, action 0
    pays 0 + noise. The candidate proposes action 1 with probability 0.9: its true value is 0.9."""
    calls = []
    for _ in range(n):
        action = int(rng.integers(2))
        reward = float(action) + rng.normal(0, 0.5)
        target = 0.9 if action == 1 else 0.1
        q = np.array([0.0, 1.0]) + model_error
        calls.append(LoggedCall(np.array([target]), np.array([0.5]), np.array([reward]), np.array([q[action]]),
                                np.array([0.1 * q[0] + 0.9 * q[1]])))  # fmt: skip
    return calls


@pytest.mark.parametrize("model_error", [0.0, 0.4])
def test_estimators_find_a_known_value_and_cover_it(model_error):
    rng = np.random.default_rng(7)
    covered = {"IS": 0, "WIS": 0, "DR": 0}
    for trial in range(40):
        for e in estimate(_bandit_calls(300, rng, model_error), seed=trial, samples=400):
            covered[e.estimator] += e.low <= 0.9 <= e.high
            assert abs(e.value - 0.9) < 0.25
    assert all(count >= 34 for count in covered.values()), covered  # about 95 % of 40, with room for chance


def test_a_wrong_model_does_not_bias_the_doubly_robust_estimate():
    rng = np.random.default_rng(3)
    calls = _bandit_calls(20_000, rng, model_error=1.5)
    dr = next(e for e in estimate(calls, samples=200) if e.estimator == "DR")
    assert abs(dr.value - 0.9) < 0.03
