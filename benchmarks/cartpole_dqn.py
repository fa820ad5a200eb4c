"""DQN correctness on a public benchmark: CartPole-v1, 100k steps, greedy return over 100 episodes, 3 seeds.

    python benchmarks/cartpole_dqn.py [--seeds 0 1 2] [--steps 100000] [--workers 2]

Gymnasium's solve threshold is 475; CleanRL reports 488.69 +/- 16.11 at 500k steps. Writes
results/cartpole_dqn.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.runner import run_many
from training.stats import mean_ci
from training.train import Args

SOLVED = 475.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/cartpole_dqn.json"))
    parser.add_argument("--runs", type=Path, default=Path("runs/cartpole"))
    args = parser.parse_args()
    jobs = [
        Args(algo="dqn", env="gymnasium:CartPole-v1", steps=args.steps, seed=seed, out=args.runs / f"seed{seed}")
        for seed in args.seeds
    ]
    results = run_many(jobs, workers=args.workers)
    returns = [r["summary"]["eval_mean_return"] for r in results]
    report = {
        "env": "CartPole-v1",
        "algo": "dqn (double DQN, soft target updates; preset in training/train.py)",
        "steps": args.steps,
        "eval_episodes": 100,
        "per_seed": dict(zip(map(str, args.seeds), returns, strict=True)),
        "mean_return": mean_ci(returns),
        "solved_threshold": SOLVED,
        "all_seeds_solved": all(r >= SOLVED for r in returns),
        "wall_seconds": [r["summary"]["wall_seconds"] for r in results],
        "command": f"python benchmarks/cartpole_dqn.py --seeds {' '.join(map(str, args.seeds))} --steps {args.steps}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
