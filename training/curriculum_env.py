"""The persona curriculum as an environment: the debtor env whose persona mix widens with the learner's success.

Stages: cooperative -> + sad/overwhelmed -> + avoidant -> + angry. Training advances to the next stage when the
rolling success rate of the last 50 training episodes reaches the stage's threshold: 90 % of what the fixed
best-practice script achieves on that stage's persona mix (measured once on validation seeds; the 10 % allows for
exploration). `training.train --env debtor-curriculum` trains on it; `training.curriculum` compares it with no
curriculum.
"""

from __future__ import annotations

from collections import deque
from functools import cache
from typing import Any

from simulator.env import DebtorEnv
from simulator.personas import Persona
from training.runs import VALIDATION_SEED_START

STAGES: tuple[tuple[Persona, ...], ...] = (
    (Persona.COOPERATIVE,),
    (Persona.COOPERATIVE, Persona.SAD),
    (Persona.COOPERATIVE, Persona.SAD, Persona.AVOIDANT),
    (Persona.COOPERATIVE, Persona.SAD, Persona.AVOIDANT, Persona.ANGRY),
)
WINDOW = 50
EXPLORATION_ALLOWANCE = 0.9
BASELINE_EPISODES = 200


@cache
def persona_baselines(episodes: int = BASELINE_EPISODES) -> dict[Persona, float]:
    """The best-practice script's success per persona on validation seeds (the simulator's own yardstick)."""
    from agent_runtime.policy_source import ScriptedPolicy, best_practice_script
    from training.evaluate import evaluate

    env, script = DebtorEnv(), ScriptedPolicy(best_practice_script)
    rates = {}
    for persona in Persona:
        env.personas = (persona,)
        rates[persona] = evaluate(lambda _: script, episodes, VALIDATION_SEED_START, env=env)["success_rate"]
    return rates


def stage_thresholds() -> tuple[float, ...]:
    rates = persona_baselines()
    return tuple(EXPLORATION_ALLOWANCE * sum(rates[p] for p in stage) / len(stage) for stage in STAGES)


class CurriculumDebtorEnv(DebtorEnv):
    """The debtor env whose persona mix widens as the learner's rolling success passes each stage's threshold."""

    def __init__(self, *, thresholds: tuple[float, ...] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.thresholds = thresholds or stage_thresholds()
        self.stage = 0
        self.personas = STAGES[0]
        self.advanced_at: list[int] = []  # training episodes at which each later stage began
        self._episodes = 0
        self._recent: deque[bool] = deque(maxlen=WINDOW)

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        state, reward, terminated, truncated, info = super().step(action)
        if terminated:
            self._episodes += 1
            self._recent.append(bool(info["success"]))
            full = len(self._recent) == WINDOW
            if full and self.stage < len(STAGES) - 1 and sum(self._recent) / WINDOW >= self.thresholds[self.stage]:
                self.stage += 1
                self.personas = STAGES[self.stage]
                self.advanced_at.append(self._episodes)
                self._recent.clear()
        return state, reward, terminated, truncated, info
