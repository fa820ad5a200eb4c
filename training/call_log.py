"""Log simulated calls as events, the way the live agent logs real ones (text mode, no audio).

    python -m training.call_log --policy CHECKPOINT|scripted:best_practice|... [--epsilon 0.2] --calls N \
        --seed S --events PATH.db

An epsilon-greedy behaviour policy talks to simulated debtors through the dialogue engine; every call becomes
call_opened, one turn event per debtor utterance and call_closed, written to an events database (the schema of
agent_runtime.events). `training.replay` trains on such files exactly as on the agent's own logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import tyro
from tqdm import tqdm

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.events import CallClosed, CallOpened, TurnEvent
from agent_runtime.contracts.outcome import OutcomeSummary
from agent_runtime.events.store import EventStore
from simulator.env import DebtorEnv
from training.baselines import policy_with_q_values

CLOCK_START = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


@dataclass
class Args:
    policy: str = "scripted:best_practice"
    """behaviour policy: a checkpoint path or a baseline name"""
    epsilon: float = 0.2
    """share of turns on which a uniformly random action replaces the policy's"""
    calls: int = 1000
    seed: int = 0
    events: Path = Path("data/sim_events.db")
    stt_noise: float = 0.0


def call_events(
    env: DebtorEnv, act: Callable[[np.ndarray], tuple[int, list[float] | None]], seed: int, policy_version: str
) -> list:
    """Run one call; return its events (the clock is simulated so that the same seed gives the same events)."""
    state, info = env.reset(seed=seed)
    call_id = f"sim-{seed}"
    clock = CLOCK_START + timedelta(minutes=seed)
    events: list = [
        CallOpened(
            call_id=call_id,
            at=clock,
            facts=env.facts,
            channel="simulated",
            policy_version=policy_version,
            persona=info["persona"],
        )
    ]
    text, reading, turn, done = info["debtor_text"], info["reading"], 0, False

    def turn_event(**decision) -> TurnEvent:
        return TurnEvent(
            call_id=call_id,
            turn=turn,
            at=clock,
            started_at=clock,
            user_text=text,
            dst=reading,
            state=state.tolist(),
            policy_version=policy_version,
            **decision,
        )

    while not done:
        action, q_values = act(state)
        next_state, _, done, _, step = env.step(action)
        events.append(
            turn_event(
                proposed_action=step["proposed"],
                executed_action=step["executed"],
                guard_rule=step["guard_rule"],
                q_values=q_values,
                offer=step["terms"],
                agent_text=f"[{step['executed'].label}]",
            )
        )
        state, text, reading, turn = next_state, step["debtor_text"], step["reading"], turn + 1
        clock += timedelta(seconds=15)
    if reading is not None:  # the debtor's last words, which ended the call: no policy decision follows
        events.append(
            turn_event(
                proposed_action=None,
                executed_action=None,
                guard_rule=step["closing_rule"],
                agent_text="",
                ends_call=True,
            )
        )
    outcome = env.engine.outcome
    events.append(
        CallClosed(
            call_id=call_id,
            at=clock,
            outcome=OutcomeSummary.of(outcome, env.facts),
            turns=turn,
            final_state=state.tolist(),
        )
    )
    return events


def behaviour(policy_spec: str, env: DebtorEnv, epsilon: float, rng: np.random.Generator):
    """The policy (checkpoint or baseline) with a uniformly random action on an `epsilon` share of turns."""
    choose = policy_with_q_values(policy_spec, env, 0)

    def act(state):
        action, q = choose(state)
        return (int(rng.integers(N_ACTIONS)) if rng.random() < epsilon else action), q

    return act


async def log_calls(args: Args) -> int:
    env = DebtorEnv(stt_noise=args.stt_noise)
    rng = np.random.default_rng(args.seed)
    act = behaviour(args.policy, env, args.epsilon, rng)
    store = await EventStore.open(args.events)
    written = 0
    try:
        for i in tqdm(range(args.calls), desc="calls", unit="call"):
            written += await store.append(
                call_events(env, act, args.seed + i, f"{Path(args.policy).name}+eps{args.epsilon}")
            )
    finally:
        await store.close()
    return written


def main(args: Args) -> None:
    written = asyncio.run(log_calls(args))
    print(f"wrote {written} events of {args.calls} calls to {args.events}")


if __name__ == "__main__":
    main(tyro.cli(Args))
