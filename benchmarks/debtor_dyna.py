"""Deep Dyna-Q over the debtor model against DQN at a fixed budget of real calls, a first look (not the full study):

    python -m benchmarks.debtor_dyna [--k 0 5] [--seeds 0 1 2] [--steps 3000] [--eval-calls 500] [--planning-updates]

Each run trains on the debtor simulator for --steps real steps (about five per call) with `policy.dqn.train`, K = 0
(plain DQN) or K imagined turns per real step from `training.debtor_dyna`, and scores the final greedy policy on
--eval-calls held-out calls. Runs are cached one file each under runs/debtor_dyna (rerun to resume); writes
results/debtor_dyna.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tqdm import tqdm

from policy.ddq import DDQConfig
from training.debtor_dyna import train_debtor_ddq
from training.evaluate import greedy_evaluator
from training.stats import mean_ci

EVAL_SEED = 900_000


def run(k: int, seed: int, steps: int, eval_calls: int, planning_updates: bool) -> dict:
    config = DDQConfig(
        k=k,
        total_steps=steps,
        learning_starts=200,
        seed=seed,
        eval_every_episodes=0,
        planning_updates=planning_updates,
    )
    start = time.perf_counter()
    result, imagination = train_debtor_ddq(config, evaluate=greedy_evaluator(eval_calls, EVAL_SEED))
    return {
        "k": k,
        "seed": seed,
        "real_steps": result.real_steps,
        "real_calls": result.real_episodes,
        "imagined_steps": result.imagined_steps,
        "model_trusted": imagination.trusted,
        "debtor_model_losses": imagination.losses,
        "success_rate": result.final_eval["eval_success_rate"],
        "mean_return": result.final_eval["eval_mean_return"],
        "wall_seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, nargs="+", default=[0, 5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--eval-calls", type=int, default=500)
    parser.add_argument("--planning-updates", action="store_true", help="1 + K gradient steps per real step")
    parser.add_argument("--runs", type=Path, default=Path("runs/debtor_dyna"))
    parser.add_argument("--out", type=Path, default=Path("results/debtor_dyna.json"))
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    results = []
    for k, seed in tqdm([(k, seed) for k in args.k for seed in args.seeds], desc="runs"):
        schedule = "-plan" if args.planning_updates and k else ""
        cached = args.runs / f"k{k}{schedule}-seed{seed}-steps{args.steps}-eval{args.eval_calls}.json"
        if not cached.exists():
            cached.write_text(json.dumps(run(k, seed, args.steps, args.eval_calls, args.planning_updates), indent=2))
        results.append(json.loads(cached.read_text()))
    summary = {
        f"K={k}": {
            "success_rate": mean_ci([r["success_rate"] for r in results if r["k"] == k]),
            "per_seed": {r["seed"]: r["success_rate"] for r in results if r["k"] == k},
            "real_calls": mean_ci([r["real_calls"] for r in results if r["k"] == k]),
            "wall_seconds": mean_ci([r["wall_seconds"] for r in results if r["k"] == k]),
        }
        for k in args.k
    }
    report = {
        "command": f"python -m benchmarks.debtor_dyna --k {' '.join(map(str, args.k))} --seeds "
        f"{' '.join(map(str, args.seeds))} --steps {args.steps} --eval-calls {args.eval_calls}"
        + (" --planning-updates" if args.planning_updates else ""),
        "summary": summary,
        "runs": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
