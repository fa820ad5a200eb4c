"""DQN correctness on a public benchmark: CartPole-v1 within 100k steps, greedy return over 100 episodes, 3 seeds.

    python -m benchmarks.cartpole_dqn [--seeds 0 1 2] [--steps 100000] [--workers 2]

During training a 10-episode greedy check every 10 episodes keeps the best weights (`best.pt`: what the run
reached within the budget); both those and the final weights are then scored on 100 fresh episodes (seeds from
20,000). Gymnasium's solve threshold is 475; CleanRL reports 488.69 +/- 16.11 at 500k steps. Writes
results/cartpole_dqn.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gymnasium as gym

from policy.checkpoint import load_checkpoint
from policy.dqn import mean_return_evaluator
from policy.inference import GreedyPolicy
from training.runner import run_many
from training.stats import mean_ci
from training.train import Args

SOLVED = 475.0
ENV = "CartPole-v1"
EVAL_EPISODES = 100
EVAL_SEED = 20_000


def greedy_return(checkpoint: Path) -> float:
    policy = GreedyPolicy.load(
        checkpoint,
        obs_spec_version=f"gymnasium:{ENV}",
        action_set_version=f"gymnasium:{ENV}:discrete2",
        obs_size=4,
        n_actions=2,
    )
    evaluate = mean_return_evaluator(lambda: gym.make(ENV), EVAL_EPISODES, EVAL_SEED)
    return evaluate(lambda obs: policy.act(obs)[0])["eval_mean_return"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/cartpole_dqn.json"))
    parser.add_argument("--runs", type=Path, default=Path("runs/cartpole"))
    args = parser.parse_args()
    jobs = [
        Args(
            algo="dqn",
            env=f"gymnasium:{ENV}",
            steps=args.steps,
            seed=seed,
            out=args.runs / f"seed{seed}",
            eval_every=10,
            eval_episodes=10,
        )
        for seed in args.seeds
    ]
    results = run_many(jobs, workers=args.workers)
    best = [greedy_return(job.out / "best.pt") for job in jobs]
    final = [greedy_return(job.out / "checkpoint.pt") for job in jobs]
    seeds = list(map(str, args.seeds))
    report = {
        "env": ENV,
        "algo": "dqn (double DQN, soft target updates; preset in training/train.py)",
        "steps": args.steps,
        "eval_episodes": EVAL_EPISODES,
        "eval_seed_start": EVAL_SEED,
        "solved_threshold": SOLVED,
        "best_within_budget_per_seed": dict(zip(seeds, best, strict=True)),
        "best_within_budget": mean_ci(best),
        "all_seeds_solved": all(r >= SOLVED for r in best),
        "best_found_at_real_episodes": [
            load_checkpoint(job.out / "best.pt")[0].provenance["selected_at_real_episodes"] for job in jobs
        ],
        "final_weights_per_seed": dict(zip(seeds, final, strict=True)),
        "final_weights": mean_ci(final),
        "wall_seconds": [r["summary"]["wall_seconds"] for r in results],
        "command": f"python -m benchmarks.cartpole_dqn --seeds {' '.join(seeds)} --steps {args.steps}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
