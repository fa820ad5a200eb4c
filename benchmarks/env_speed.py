"""Debtor-simulator throughput, with the DST cache on and off: `python -m benchmarks.env_speed [--steps 50000]`.

Runs a uniform-random policy (text generation and DST in the loop) on one core and prints env steps/s as JSON.
Also reports how often the DST read the simulated debtor's intent correctly.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from simulator.env import DebtorEnv


def run(steps: int, cache_size: int, stt_noise: float, seed: int) -> dict:
    env = DebtorEnv(dst_cache_size=cache_size, stt_noise=stt_noise)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    episode, done_steps, agree = seed, 0, 0
    start = time.perf_counter()
    while done_steps < steps:
        _, _, done, _, info = env.step(int(rng.integers(9)))
        done_steps += 1
        reading = info["reading"]
        agree += reading is not None and reading.intent is info["debtor_intent"]
        if done:
            episode += 1
            env.reset(seed=episode)
    seconds = time.perf_counter() - start
    return {
        "dst_cache": cache_size > 0,
        "stt_noise": stt_noise,
        "steps": steps,
        "steps_per_second": round(steps / seconds),
        "episodes": episode - seed,
        "dst_agrees_with_debtor_intent": round(agree / steps, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for cache_size, noise in ((65_536, 0.0), (0, 0.0), (65_536, 0.1)):
        print(json.dumps(run(args.steps, cache_size, noise, args.seed)))


if __name__ == "__main__":
    main()
