"""Curriculum over personas, compared with no curriculum on the same budget.

    python -m training.curriculum [--algo dqn] [--seeds 5] [--episodes 600] [--workers 2] [--out DIR]

Stages: cooperative -> + sad/overwhelmed -> + avoidant -> + angry. Training advances to the next stage when the
rolling success rate of the last 50 training episodes reaches the stage's threshold: 90 % of what the fixed
best-practice script achieves on that stage's persona mix (measured once on validation seeds; the 10 % allows for
exploration). Greedy evaluations always use all four personas, so both arms are judged on the same task. The report
(DIR/report.md, DIR/results.json, PNGs) has the ablation's format.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import tyro

from simulator.env import DebtorEnv
from simulator.personas import Persona
from training.runs import VALIDATION_SEED_START
from training.train import Args as TrainArgs

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
    from training.baselines import best_practice_script
    from training.evaluate import evaluate

    env = DebtorEnv()
    rates = {}
    for persona in Persona:
        env.personas = (persona,)
        rates[persona] = evaluate(lambda _: best_practice_script, episodes, VALIDATION_SEED_START, env=env)[
            "success_rate"
        ]
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


@dataclass
class Args:
    algo: Literal["dqn", "ddq"] = "dqn"
    seeds: int = 5
    episodes: int = 600
    eval_every: int = 25
    eval_episodes: int = 200
    workers: int = 2
    backend: Literal["local", "ray"] = "local"
    out: Path = Path("runs/curriculum")
    progress: bool = True


def main(args: Args) -> dict:
    from training.ablation import run_study

    arms = {"curriculum": "debtor-curriculum", "no_curriculum": "debtor"}
    named = [
        (
            arm,
            TrainArgs(
                algo=args.algo,
                env=env,
                episodes=args.episodes,
                seed=seed,
                eval_every=args.eval_every,
                eval_episodes=args.eval_episodes,
                out=args.out / "runs" / arm / f"seed{seed}",
            ),
        )
        for arm, env in arms.items()
        for seed in range(args.seeds)
    ]
    report = run_study(
        args.out,
        f"Persona curriculum vs none ({args.algo})",
        named,
        {arm: {"algo": args.algo} for arm in arms},
        args.episodes,
        "no_curriculum",
        args.workers,
        args.backend,
        progress=args.progress,
    )
    report["thresholds"] = dict(zip(("+".join(p.value for p in s) for s in STAGES), stage_thresholds(), strict=True))
    (args.out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"thresholds: {report['thresholds']}; report: {args.out / 'report.md'}")
    return report


if __name__ == "__main__":
    main(tyro.cli(Args, description=__doc__))
