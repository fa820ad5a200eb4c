"""Outputs of every training run: `metrics.jsonl` lines and `summary.json`, defined once.

Also the one target success rate and the one held-out evaluation seed range.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RUN_SCHEMA_VERSION = 1
TARGET_SUCCESS_RATE = 0.60
# Held-out evaluation seeds: training and tuning must draw seeds below EVAL_SEED_START.
EVAL_SEED_START = 1_000_000
EVAL_EPISODES = 2_000
EVAL_SEEDS = range(EVAL_SEED_START, EVAL_SEED_START + EVAL_EPISODES)
# Greedy evaluations during training (learning curves, episodes to target) use this separate range.
VALIDATION_SEED_START = 900_000
VALIDATION_EPISODES = 200
# Choosing among a run's checkpoints after training: more validation seeds (from VALIDATION_SEED_START), so that
# per-persona means are precise enough to compare, still below the held-out range.
SELECTION_EPISODES = 2_000
# Diagnostics that must not touch the ranges above (e.g. telling a tie from a loss on a large sample) start here;
# training resets its env once from the run's seed, so no explicit seed range is used by it.
DIAGNOSTIC_SEED_START = 500_000


class QStats(BaseModel):
    mean: float
    std: float
    min: float
    max: float


class EpisodeRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["episode"] = "episode"
    schema_version: Literal[1] = RUN_SCHEMA_VERSION
    episode: int = Field(ge=0)
    real_steps: int = Field(ge=0)  # environment steps so far, this episode included
    imagined_steps: int = Field(default=0, ge=0)  # world-model transitions so far (DDQ)
    episode_return: float = Field(alias="return")
    length: int = Field(ge=0)
    success: bool | None = None
    recovery: float | None = None
    outcome: str | None = None
    persona: str | None = None  # simulated runs only
    action_counts: dict[str, int]  # action name -> times chosen this episode
    epsilon: float
    losses: dict[str, float] = Field(default_factory=dict)  # e.g. {"losses/td_loss": ...}
    q_stats: QStats | None = None


class PersonaEval(BaseModel):
    success_rate: float
    recovery_rate: float
    mean_return: float
    mean_turns: float
    episodes: int


class EvalRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["eval"] = "eval"
    schema_version: Literal[1] = RUN_SCHEMA_VERSION
    real_episodes: int = Field(ge=0)
    real_steps: int = Field(ge=0)
    eval_episodes: int = Field(ge=1)
    eval_mean_return: float
    eval_success_rate: float | None = None
    eval_recovery_rate: float | None = None
    per_persona: dict[str, PersonaEval] | None = None


class RunSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = RUN_SCHEMA_VERSION
    algo: str
    env: str
    seed: int
    hyperparameters: dict
    eval_episodes: int
    eval_mean_return: float
    eval_success_rate: float | None = None
    eval_recovery_rate: float | None = None
    per_persona: dict[str, PersonaEval] | None = None
    real_episodes: int
    real_steps: int
    episodes_to_target: int | None = None  # first eval at or above TARGET_SUCCESS_RATE, in real episodes
    wall_seconds: float
    checkpoint: str | None = None
