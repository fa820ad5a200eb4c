"""Serving runtime metrics, and a text-mode simulation that exports them (no audio, no LiveKit).

    python -m telemetry.exporter --port 9464 [--calls 0] [--epsilon 0.3] [--pace 0.02]

`serve_metrics` starts the /metrics endpoint; with PROMETHEUS_MULTIPROC_DIR set (calls served by several worker
processes) it aggregates every process's metrics. The simulation drives simulated calls through the dialogue
engine with an epsilon-greedy best-practice policy and records what a live agent records: executed actions by
intent, guard overrides, outcomes, recovery, and the engine's measured latency (in text mode the end-to-end
stage is the engine's time, as there is no audio). `--calls 0` runs until stopped.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.stages import LatencyStage
from simulator.env import DebtorEnv
from telemetry.metrics import RuntimeMetrics
from training.baselines import best_practice_script


def serve_metrics(port: int, addr: str = "127.0.0.1") -> CollectorRegistry:
    """Start /metrics on addr:port; returns the registry to create metrics in (multiprocess-aware)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collector = CollectorRegistry()
        multiprocess.MultiProcessCollector(collector)
        start_http_server(port, addr=addr, registry=collector)
        return REGISTRY
    start_http_server(port, addr=addr)
    return REGISTRY


def simulate(metrics: RuntimeMetrics, calls: int, epsilon: float, pace: float, seed: int = 0) -> None:
    env, rng = DebtorEnv(), np.random.default_rng(seed)
    metrics.outbox_backlog.set(0)
    call = 0
    while calls == 0 or call < calls:
        state, info = env.reset(seed=seed + call)
        done = False
        while not done:
            proposed = int(rng.integers(N_ACTIONS)) if rng.random() < epsilon else best_practice_script(state)
            intent = info["reading"].intent.value if info["reading"] else "other"
            started = time.perf_counter()
            state, _, done, _, info = env.step(proposed)
            milliseconds = (time.perf_counter() - started) * 1000
            metrics.count_turn(
                executed=info["executed"], intent=intent, proposed=info["proposed"], guard_rule=info["guard_rule"]
            )
            metrics.observe_latencies({LatencyStage.ENGINE: milliseconds, LatencyStage.E2E: milliseconds})
            time.sleep(pace)
        outcome = env.engine.outcome
        if info.get("closing_rule") is not None:  # the turn that closed the call: a rule fired, no strategy ran
            metrics.count_turn(
                executed=None, intent=info["reading"].intent.value, proposed=None, guard_rule=info["closing_rule"]
            )
        metrics.count_call(
            outcome=outcome.kind.value, recovery=outcome.recovery(env.facts), do_not_contact=outcome.do_not_contact
        )
        call += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9464)
    parser.add_argument("--addr", default="127.0.0.1")
    parser.add_argument("--calls", type=int, default=0)
    parser.add_argument("--epsilon", type=float, default=0.3)
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between turns")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    metrics = RuntimeMetrics(serve_metrics(args.port, args.addr))
    simulate(metrics, args.calls, args.epsilon, args.pace, args.seed)


if __name__ == "__main__":
    main()
