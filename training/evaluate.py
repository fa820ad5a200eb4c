"""Evaluate a policy on the debtor simulator.

`python -m training.evaluate --policy random|constant:NAME|scripted:NAME|oracle|CHECKPOINT --episodes N --seed S`
prints one JSON object: success_rate, recovery_rate, mean_return, mean_turns and per_persona. Episode i uses
seed S + i; the held-out evaluation seeds are the contract's EVAL_SEEDS (the default).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import tyro
from tqdm import tqdm

from agent_runtime.policy_source import CallPolicy, ScriptedPolicy
from simulator.env import DebtorEnv
from training.baselines import make_policy
from training.cli import Seed, WordErrorRate, within
from training.runs import EVAL_EPISODES, EVAL_SEED_START
from training.stats import mean_ci


@dataclass
class Args:
    policy: str = "scripted:best_practice"
    """random, constant:NAME, scripted:linear, scripted:best_practice, oracle, or a checkpoint path"""
    episodes: Annotated[int, within(int, 1)] = EVAL_EPISODES
    seed: Seed = EVAL_SEED_START
    stt_noise: WordErrorRate = 0.0
    """word error rate of STT-style noise on the debtor's text (0 = clean)"""
    progress: bool = True


def _rates(returns: list[float], successes: list[bool], recoveries: list[float], turns: list[int]) -> dict:
    return {
        "episodes": len(returns),
        "success_rate": round(float(np.mean(successes)), 4),
        "recovery_rate": round(float(np.mean(recoveries)), 4),
        "mean_return": round(float(np.mean(returns)), 4),
        "mean_turns": round(float(np.mean(turns)), 3),
    }


def evaluate(
    policy_for: Callable[[DebtorEnv], CallPolicy],
    episodes: int,
    seed: int,
    *,
    stt_noise: float = 0.0,
    progress: bool = False,
    env: DebtorEnv | None = None,
    per_episode: bool = False,
) -> dict:
    """Run `episodes` calls (seeds seed..seed+episodes-1) and summarise overall and per persona. The policy is made
once and reset at the start of every call.

    With per_episode, also the lists `episode_returns`, `episode_successes` and `episode_personas` in seed order (for
    paired tests: a seed gives the same debtor whatever the policy).
    """
    env = env or DebtorEnv(stt_noise=stt_noise)
    policy = policy_for(env)
    per: dict[str, list[list]] = defaultdict(lambda: [[], [], [], []])
    outcomes: dict[str, int] = defaultdict(int)
    personas: list[str] = []
    for episode in tqdm(range(episodes), disable=not progress, desc="evaluate", unit="call"):
        state, info = env.reset(seed=seed + episode)
        policy.reset()
        total, done, turns = 0.0, False, 0
        while not done:
            state, reward, done, _, info = env.step(policy.act(state)[0])
            total += reward
            turns += 1
        for bucket in (per[info["persona"]], per["_all"]):
            bucket[0].append(total)
            bucket[1].append(info["success"])
            bucket[2].append(info["recovery"])
            bucket[3].append(turns)
        outcomes[info["outcome"]] += 1
        personas.append(info["persona"])
    everything = per.pop("_all")
    result = _rates(*everything)
    if per_episode:
        result["episode_returns"], result["episode_successes"] = everything[0], everything[1]
        result["episode_personas"] = personas
    result["outcomes"] = dict(sorted(outcomes.items()))
    result["per_persona"] = {persona: _rates(*values) for persona, values in sorted(per.items())}
    return result


def paired_differences(learned: dict, other: dict, persona: str) -> np.ndarray:
    """Per-call return of `learned` minus `other` on the persona's calls: both are `evaluate(..., per_episode=True)`
    results over the same seeds, so each pair is the same debtor."""
    rows = [i for i, p in enumerate(learned["episode_personas"]) if p == persona]
    return np.array([learned["episode_returns"][i] - other["episode_returns"][i] for i in rows])


def paired_margin(learned: dict, constants: dict[str, dict], persona: str) -> dict:
    """Learned minus the persona's best constant action (`constants` maps names to their results), paired by seed,
    mean and 95 % CI."""
    best = max(constants, key=lambda name: constants[name]["per_persona"][persona]["mean_return"])
    differences = paired_differences(learned, constants[best], persona)
    return {"best_constant": best, "calls": len(differences), **mean_ci(differences)}


def evaluate_named(spec: str, episodes: int, seed: int, **options) -> dict:
    """`evaluate` of a named policy (see training.baselines.make_policy); a top-level function, so process pools
    can run it."""
    return evaluate(lambda env: make_policy(spec, env, seed), episodes, seed, **options)


def evaluate_timed(
    policy: str | Callable[[DebtorEnv], CallPolicy], episodes: int, seed: int, **options
) -> tuple[dict, list[float]]:
    """`evaluate` of a named policy (see training.baselines.make_policy) or of `policy(env)`, with the seconds each
    decision took; `options` go to `evaluate`."""
    policy_for = (lambda env: make_policy(policy, env, seed)) if isinstance(policy, str) else policy
    seconds: list[float] = []

    class Timed:
        def __init__(self, policy: CallPolicy):
            self.policy, self.reset = policy, policy.reset

        def act(self, state: np.ndarray) -> tuple[int, np.ndarray | None]:
            start = time.perf_counter()
            decision = self.policy.act(state)
            seconds.append(time.perf_counter() - start)
            return decision

    return evaluate(lambda env: Timed(policy_for(env)), episodes, seed, **options), seconds


def greedy_evaluator(episodes: int, seed: int, stt_noise: float = 0.0) -> Callable[[Callable[[np.ndarray], int]], dict]:
    """The trainers' greedy evaluation on the debtor simulator, in the contract's EvalRecord keys."""
    env = DebtorEnv(stt_noise=stt_noise)

    def run(greedy: Callable[[np.ndarray], int]) -> dict:
        result = evaluate(lambda _: ScriptedPolicy(greedy), episodes, seed, env=env)
        return {
            "eval_episodes": episodes,
            "eval_mean_return": result["mean_return"],
            "eval_success_rate": result["success_rate"],
            "eval_recovery_rate": result["recovery_rate"],
            "per_persona": result["per_persona"],
        }

    return run


def main(args: Args) -> dict:
    env = DebtorEnv(stt_noise=args.stt_noise)
    try:
        policy = make_policy(args.policy, env, args.seed)  # a bad spec or checkpoint: one line, before any call
    except ValueError as exc:
        raise SystemExit(f"error: --policy: {exc}") from None
    result = evaluate(lambda _: policy, args.episodes, args.seed, progress=args.progress, env=env)
    result = {"policy": args.policy, "seed": args.seed, **result}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(tyro.cli(Args))
