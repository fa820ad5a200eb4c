"""Policy inference latency on CPU: `python -m benchmarks.inference_latency [--checkpoint PATH] [--calls 20000]`.

Times `GreedyPolicy.act(state)` on real simulator states, one call at a time, and prints p50/p99/max in
microseconds as JSON. Without --checkpoint it saves an untrained network of the default size first.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.state import CHECKPOINT_SPACES, STATE_SIZE
from policy.checkpoint import save_checkpoint
from policy.dqn import DQNConfig, QLearner, config_dict
from policy.inference import GreedyPolicy
from policy.metadata import CheckpointMetadata
from simulator.env import DebtorEnv

EXPECTED = CHECKPOINT_SPACES


def untrained_checkpoint(folder: Path) -> Path:
    config = DQNConfig(total_episodes=1)
    learner = QLearner(STATE_SIZE, N_ACTIONS, config)
    metadata = CheckpointMetadata(algorithm="dqn", hyperparameters=config_dict(config), **EXPECTED)
    return save_checkpoint(folder / "untrained.pt", metadata, learner.q_network.state_dict())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.checkpoint or untrained_checkpoint(Path(tmp))
        policy = GreedyPolicy.load(path, **EXPECTED)
    env, rng, states = DebtorEnv(), np.random.default_rng(0), []
    for seed in range(200):
        state, _ = env.reset(seed=seed)
        done = False
        while not done:
            states.append(state)
            state, _, done, _, _ = env.step(int(rng.integers(N_ACTIONS)))
    timings = np.empty(args.calls)
    for i in range(args.calls):
        state = states[i % len(states)]
        start = time.perf_counter()
        policy.act(state)
        timings[i] = time.perf_counter() - start
    us = timings * 1e6
    print(
        json.dumps(
            {
                "calls": args.calls,
                "hidden": policy.metadata.hyperparameters.get("hidden"),
                "p50_us": round(float(np.percentile(us, 50)), 1),
                "p99_us": round(float(np.percentile(us, 99)), 1),
                "max_us": round(float(us.max()), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
