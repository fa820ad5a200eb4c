"""Is offline replay useful? Start from a simulator-trained checkpoint, log calls of an epsilon-greedy behaviour
policy against the simulator (text mode, as events), replay-train DDQ on those logs from the same checkpoint, and
compare both on the held-out evaluation seeds (2,000 calls, paired by seed, 95 % CIs).

    python -m benchmarks.replay_improvement [--start-episodes 300] [--calls 2000] [--epsilon 0.2] [--updates 20000]

Writes results/replay_improvement.json. Also reports how fast `training.replay` reads the events file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import numpy as np

from training.call_log import Args as LogArgs
from training.call_log import log_calls
from training.evaluate import evaluate_named
from training.replay import Args as ReplayArgs
from training.replay import load_transitions
from training.replay import run as replay
from training.runs import EVAL_EPISODES, EVAL_SEED_START
from training.stats import mean_ci
from training.train import Args as TrainArgs
from training.train import run as train


def held_out(checkpoint: Path) -> dict:
    result = evaluate_named(str(checkpoint), EVAL_EPISODES, EVAL_SEED_START, per_episode=True)
    del result["episode_personas"]  # the same seeds, so the same personas, for both checkpoints
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start-episodes", type=int, default=300)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--epsilon", type=float, default=0.2)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("runs/replay_improvement"))
    parser.add_argument("--out", type=Path, default=Path("results/replay_improvement.json"))
    args = parser.parse_args()
    start_dir, events = args.work / "start", args.work / "events.db"
    train(TrainArgs(algo="dqn", episodes=args.start_episodes, seed=args.seed, out=start_dir, progress=False))
    start_checkpoint = start_dir / "checkpoint.pt"
    events.unlink(missing_ok=True)
    asyncio.run(
        log_calls(
            LogArgs(
                policy=str(start_checkpoint),
                epsilon=args.epsilon,
                calls=args.calls,
                seed=args.seed + 10_000,
                events=events,
            )
        )
    )
    began = time.perf_counter()
    data = load_transitions(events)
    read_seconds = time.perf_counter() - began
    replay(
        ReplayArgs(
            events=events,
            out=args.work / "replayed",
            algo="ddq",
            init=start_checkpoint,
            updates=args.updates,
            seed=args.seed,
            progress=False,
        )
    )
    before, after = held_out(start_checkpoint), held_out(args.work / "replayed" / "checkpoint.pt")
    success_gain = np.array(after.pop("episode_successes"), float) - np.array(before.pop("episode_successes"), float)
    return_gain = np.array(after.pop("episode_returns")) - np.array(before.pop("episode_returns"))
    report = {
        "start": {"algo": "dqn", "simulator_episodes": args.start_episodes, **before},
        "replayed": {"algo": "ddq (offline, from the start checkpoint)", "updates": args.updates, **after},
        "logged": {
            "calls": data.calls,
            "events": data.events,
            "transitions": len(data),
            "epsilon": args.epsilon,
            "behaviour": "the start checkpoint, epsilon-greedy",
        },
        "paired_success_gain": mean_ci(success_gain),
        "paired_return_gain": mean_ci(return_gain),
        "improved": bool(mean_ci(success_gain)["low"] > 0),
        "events_read_per_second": round(data.events / read_seconds),
        "held_out_episodes": EVAL_EPISODES,
        "command": f"python -m benchmarks.replay_improvement --start-episodes {args.start_episodes} --calls "
        f"{args.calls} --epsilon {args.epsilon} --updates {args.updates} --seed {args.seed}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        json.dumps(
            {k: report[k] for k in ("paired_success_gain", "paired_return_gain", "improved", "events_read_per_second")},
            indent=2,
        )
    )
    print(f"held-out success: start {before['success_rate']:.1%} -> replayed {after['success_rate']:.1%}")


if __name__ == "__main__":
    main()
