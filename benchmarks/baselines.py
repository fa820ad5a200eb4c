"""Baselines on the held-out evaluation seeds: `python -m benchmarks.baselines [--episodes 2000]`.

Uniform random, every constant action, both scripts and the oracle; success, recovery and mean return, overall
and per persona. Writes results/baselines.json and prints a Markdown table (the README's).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from simulator.personas import PERSONAS
from training.baselines import BASELINE_SPECS, make_policy
from training.evaluate import evaluate
from training.runs import EVAL_EPISODES, EVAL_SEED_START


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=EVAL_EPISODES)
    parser.add_argument("--seed", type=int, default=EVAL_SEED_START)
    parser.add_argument("--policies", nargs="+", default=list(BASELINE_SPECS))
    parser.add_argument("--out", type=Path, default=Path("results/baselines.json"))
    args = parser.parse_args()
    results = {
        spec: evaluate(lambda env, spec=spec: make_policy(spec, env, args.seed), args.episodes, args.seed)
        for spec in args.policies
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"episodes": args.episodes, "seed": args.seed, "results": results}, indent=2) + "\n")
    personas = [p.value for p in PERSONAS]
    print("| policy | success | recovery | mean return | turns | " + " | ".join(personas) + " |")
    print("|---|---|---|---|---|" + "---|" * len(personas))
    for spec, r in results.items():
        cells = " | ".join(f"{r['per_persona'][p]['success_rate']:.0%}" for p in personas)
        print(
            f"| `{spec}` | {r['success_rate']:.1%} | {r['recovery_rate']:.1%} | {r['mean_return']:+.2f} | "
            f"{r['mean_turns']:.1f} | {cells} |"
        )


if __name__ == "__main__":
    main()
