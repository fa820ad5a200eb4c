"""Log simulated calls as events, the way the live agent logs real ones (text mode, no audio).

    python -m training.call_log --policy CHECKPOINT|scripted:best_practice|... [--epsilon 0.2] --calls N \
        --seed S --events PATH.db

An epsilon-greedy behaviour policy talks to simulated debtors through the agent's own CallController (the one
producer of events): every call becomes call_opened, one turn event per debtor utterance and call_closed, written
to an events database (the schema of agent_runtime.events). `training.replay` trains on such files exactly as on
the agent's own logs. Call `i` meets the debtor of seed S + i (as `DebtorEnv.reset(seed=S + i)` does) on a
simulated clock, so the same arguments give the same calls: a run whose calls the database already holds is
refused (`agent_runtime.simulate.require_new_calls`).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import tyro
from prometheus_client import CollectorRegistry
from tqdm import tqdm

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.policy_source import CallPolicy, PolicySource, load_policy
from agent_runtime.services import CallServices, event_outbox
from agent_runtime.simulate import require_new_calls
from simulator.calls import simulated_debtor, talk
from telemetry.metrics import RuntimeMetrics
from training.cli import WordErrorRate

CLOCK_START = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
CLOCK_STEP = timedelta(seconds=5)


@dataclass
class Args:
    policy: str = "scripted:best_practice"
    """behaviour policy: a checkpoint path or a baseline name"""
    epsilon: float = 0.2
    """share of turns on which a uniformly random action replaces the policy's"""
    calls: int = 1000
    seed: int = 0
    events: Path = Path("data/sim_events.db")
    stt_noise: WordErrorRate = 0.0


class EpsilonGreedy:
    """A call's policy with a uniformly random action on an `epsilon` share of turns (the Q-values stay the
    policy's, so the logged proposal is the action taken and the values are what the policy thought)."""

    def __init__(self, policy: CallPolicy, epsilon: float, rng: np.random.Generator):
        self.policy, self.epsilon, self.rng = policy, epsilon, rng
        self.reset = policy.reset

    def act(self, state: np.ndarray) -> tuple[int, np.ndarray | None]:
        action, values = self.policy.act(state)
        return (int(self.rng.integers(N_ACTIONS)) if self.rng.random() < self.epsilon else action), values


def behaviour(spec: str, epsilon: float, rng: np.random.Generator) -> PolicySource:
    """The policy `spec` made epsilon-greedy; one random stream for the whole run."""
    base = load_policy(spec)
    version = f"{base.version}+eps{epsilon}"
    return PolicySource(spec, version, lambda seed: EpsilonGreedy(base.new_call(seed), epsilon, rng))


def simulated_clock(start: datetime):
    """A clock that moves CLOCK_STEP each time it is read: timestamps depend on the call, not on the wall."""
    ticks = itertools.count()
    return lambda: start + next(ticks) * CLOCK_STEP


def call_id(seed: int) -> str:
    return f"sim-{seed}"


async def log_calls(args: Args) -> int:
    """Run the calls into the events database; returns how many events were written."""
    seeds = range(args.seed, args.seed + args.calls)
    this_run = set(map(call_id, seeds))
    require_new_calls(args.events, lambda stored: stored in this_run, "--seed or --events")
    rng = np.random.default_rng(args.seed)
    async with event_outbox(args.events) as outbox:
        metrics = RuntimeMetrics(CollectorRegistry())  # counted like live calls, not exported
        services = CallServices(behaviour(args.policy, args.epsilon, rng), DialogueStateTracker(), metrics, (outbox,))
        before = await outbox.store.count()
        for seed in tqdm(seeds, desc="calls", unit="call"):
            who = simulated_debtor(seed, stt_noise=args.stt_noise)
            call = who.controller(services, call_id(seed), clock=simulated_clock(CLOCK_START + timedelta(minutes=seed)))
            await talk(call, who)
        return await outbox.store.count() - before


def main(args: Args) -> None:
    written = asyncio.run(log_calls(args))
    print(f"wrote {written} events of {args.calls} calls to {args.events}")


if __name__ == "__main__":
    main(tyro.cli(Args))
