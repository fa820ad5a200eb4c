"""Log simulated calls as events, the way the live agent logs real ones (text mode, no audio).

    python -m training.call_log --policy CHECKPOINT|scripted:best_practice|... [--epsilon 0.2] [--margin inf] \
        --calls N --seed S --events PATH.db

A behaviour policy that explores the way live calls do (agent_runtime.exploration: on an `epsilon` share of turns
a proposal drawn among the executable actions valued within `margin` of the best; uniformly with the default
infinite margin) talks to simulated debtors through the agent's own CallController (the one producer of events),
so every turn logs the propensity of its proposal. Every call becomes call_opened, one turn event per debtor
utterance and call_closed, written to an events database (the schema of agent_runtime.events). `training.replay`
trains on such files exactly as on the agent's own logs. Call `i` meets the debtor of seed S + i (as
`DebtorEnv.reset(seed=S + i)` does) on a simulated clock, so the same arguments give the same calls: a run whose
calls the database already holds is
refused (`agent_runtime.simulate.require_new_calls`).
"""

from __future__ import annotations

import asyncio
import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import tyro
from prometheus_client import CollectorRegistry
from tqdm import tqdm

from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.exploration import Exploration
from agent_runtime.policy_source import load_policy
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
    """share of turns on which the proposal is drawn among the executable actions (agent_runtime.exploration)"""
    margin: float = math.inf
    """draw only among actions the policy values within this of its best (inf: uniformly, any policy)"""
    calls: int = 1000
    seed: int = 0
    events: Path = Path("data/sim_events.db")
    stt_noise: WordErrorRate = 0.0


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
    async with event_outbox(args.events) as outbox:
        metrics = RuntimeMetrics(CollectorRegistry())  # counted like live calls, not exported
        policy = load_policy(args.policy)
        explore = Exploration(args.epsilon, args.margin)
        services = CallServices(policy, DialogueStateTracker(), metrics, (outbox,), exploration=explore)
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
