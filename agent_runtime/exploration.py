"""Bounded exploration of live calls, so that logged calls can judge a policy that acts differently.

A greedy live policy logs every action with probability 1: importance sampling could then say nothing about a
candidate that would act otherwise. So, with a small probability `epsilon` (EXPLORE_EPSILON, default 5 %), a call's
policy proposes, instead of its best action, one drawn uniformly among the actions that

- the guard would execute as they are (during an open dispute only the validation answer and listening; the rest
  would be overridden, so they are never drawn), and
- the policy itself values within `margin` of its best (Q-value units; the committed policy's median gap between
  its best and second-best action is 0.27, so 0.5 admits about two), so exploring never picks what the policy
  believes is clearly worse.

The greedy action is always a candidate. Every turn event records the probability of the proposed action under
this rule (`propensity`, event schema 6); `distribution` is the whole rule, used alike by the live choice and by the
off-policy estimators (training.ope) for the candidate's own exploring behaviour. A policy without Q-values (a
script) explores only with an infinite margin (uniformly among the executable actions: `training.call_log`'s
behaviour policies); otherwise its propensity is 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agent_runtime.contracts.actions import N_ACTIONS, Action
from agent_runtime.contracts.dst import Intent
from agent_runtime.contracts.state import last_intent_of
from agent_runtime.engine import DISPUTE_ANSWERS

_ANY = tuple(Action)
_DISPUTE = tuple(sorted(DISPUTE_ANSWERS))


def executable_as_proposed(state: np.ndarray) -> tuple[Action, ...]:
    """The proposals the guard executes unchanged in this state: after a dispute, only its answers."""
    return _DISPUTE if last_intent_of(state) is Intent.DISPUTE else _ANY


@dataclass(frozen=True)
class Exploration:
    epsilon: float = 0.05
    margin: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"exploration epsilon {self.epsilon} is not a probability")
        if not self.margin >= 0.0:
            raise ValueError(f"exploration margin {self.margin} must be >= 0")

    def distribution(self, greedy: int, values: np.ndarray | None, state: np.ndarray) -> np.ndarray:
        """The probability of proposing each action, given the policy's greedy choice and its action values."""
        probabilities = np.zeros(N_ACTIONS)
        probabilities[greedy] = 1.0
        uniform = math.isinf(self.margin)  # every executable action: needs no values
        if self.epsilon == 0.0 or (values is None and not uniform):
            return probabilities
        best = -math.inf if uniform else float(np.max(values))
        executable = executable_as_proposed(state)
        candidates = {int(a) for a in executable if uniform or values[a] >= best - self.margin} | {greedy}
        probabilities *= 1.0 - self.epsilon
        probabilities[sorted(candidates)] += self.epsilon / len(candidates)
        return probabilities

    def choose(
        self, greedy: int, values: np.ndarray | None, state: np.ndarray, rng: np.random.Generator
    ) -> tuple[int, float]:
        """(the action to propose, the probability it had)."""
        probabilities = self.distribution(greedy, values, state)
        if probabilities[greedy] == 1.0:
            return greedy, 1.0
        action = int(rng.choice(N_ACTIONS, p=probabilities))
        return action, float(probabilities[action])


NO_EXPLORATION = Exploration(epsilon=0.0)
