"""Offline training from logged events: `python -m training.replay --events PATH.db|URL --algo dqn|ddq
[--init CHECKPOINT] --out RUN_DIR [--updates N] [--seed S]`.

`--events` is a SQLite file (an outbox, the recorder's file) or the recorder's PostgreSQL store as a postgresql:// URL
(read through a server-side cursor; give the password in PGPASSWORD or ~/.pgpass rather than in the URL, which a
command line shows to every user; the run's provenance names the database without it).

Reads the events with the contract's typed parser (any schema version), rebuilds the transitions of every complete
call with the shared reward function (events store facts, never rewards), trains DQN or DDQ on them, and writes
RUN_DIR/checkpoint.pt with its provenance (which events file, how many calls and transitions),
RUN_DIR/metrics.jsonl and RUN_DIR/summary.json. Only whole calls are used: a call with an event that does not
parse (malformed, or of a schema version this code does not know), of another state-spec version, without its
call_opened or call_closed, with a turn event missing, or logged twice is skipped and counted under its reason;
the counts end the run's output (on stderr) and its provenance. A call the agent's side cut short (`interrupted`,
`error`) gives its transitions up to the last answered decision, with no terminal reward.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import tyro
from tqdm import tqdm

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.events import UnknownSchemaVersionError
from agent_runtime.contracts.state import CHECKPOINT_SPACES, STATE_SIZE
from agent_runtime.contracts.transitions import IncompleteCall, Transition, call_transitions
from agent_runtime.events.store import StoredEventError, describe_source, is_database_url, read_events
from agent_runtime.files import sha256_of
from policy.buffers import ReplayBuffer
from policy.checkpoint import load_checkpoint, save_checkpoint
from policy.ddq import DDQConfig, Imagination
from policy.dqn import DQNConfig, QLearner, config_dict, seed_everything, train_offline
from policy.metadata import CheckpointMetadata, WorldModelMetadata
from training.evaluate import greedy_evaluator
from training.run_outputs import MetricsWriter, write_summary
from training.runs import VALIDATION_EPISODES, VALIDATION_SEED_START, RunSummary
from training.train import training_metrics


@dataclass
class Args:
    events: Annotated[str, tyro.conf.arg(metavar="PATH|URL")]
    """an events database: an agent's outbox or the recorder's central file, or its postgresql:// URL"""
    out: Path = Path("runs/replay")
    algo: Literal["dqn", "ddq"] = "ddq"
    init: Path | None = None
    """start from this checkpoint: its weights, network sizes, discount and advantage-learning alpha"""
    updates: int = 20_000
    seed: int = 0
    lr: float = 3e-4
    k: int = 5
    real_ratio: float = 0.75
    eval_every: int = 5_000
    """greedy evaluation on the simulator's validation seeds every N updates (0: only at the end)"""
    eval_episodes: int = VALIDATION_EPISODES
    progress: bool = True


@dataclass
class Transitions:
    obs: list[np.ndarray] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    next_obs: list[np.ndarray] = field(default_factory=list)
    dones: list[bool] = field(default_factory=list)
    calls: int = 0
    events: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # calls left out, by reason

    def __len__(self) -> int:
        return len(self.actions)

    def add_call(self, rows: list[Transition]) -> None:
        self.calls += 1
        for row in rows:
            self.obs.append(row.state)
            self.actions.append(row.action)
            self.rewards.append(row.reward)
            self.next_obs.append(row.next_state)
            self.dones.append(row.done)

    def report(self) -> str:
        reasons = "; ".join(f"{reason}: {count}" for reason, count in self.skipped.most_common()) or "none"
        return f"{self.events} events, {self.calls} calls used, {self.skipped.total()} skipped ({reasons})"


def unreadable_reason(error: StoredEventError) -> str:
    """Why a call with an event that does not parse is skipped: a schema version this code does not know is named
    (newer code may read it); any other defect makes a malformed event."""
    return str(error.cause) if isinstance(error.cause, UnknownSchemaVersionError) else "malformed event"


def whole_calls(
    path: Path | str, skipped: Counter[str], progress: bool = False, events_read: Counter[str] | None = None
) -> Iterator[list[Transition]]:
    """The transitions of every whole call at `path` (a SQLite file, or a PostgreSQL URL as a str), call by call;
    every other call is counted in `skipped` under its reason (and every event read in `events_read["events"]`)."""
    errors: list[StoredEventError] = []
    seen: set[str] = set()
    stream = tqdm(read_events(path, errors=errors), disable=not progress, desc="events", unit="ev", miniters=10_000)
    for call_id, group in groupby(stream, key=lambda e: e.call_id):
        events = list(group)  # rows come call by call, so this call's unreadable ones are in `errors` by now
        seen.add(call_id)
        if events_read is not None:
            events_read["events"] += len(events)
        error = next((e for e in errors if e.call_id == call_id), None)
        if error is not None:
            skipped[unreadable_reason(error)] += 1
            continue
        try:
            yield call_transitions(events)
        except IncompleteCall as exc:
            skipped[str(exc)] += 1
    # the calls none of whose events parsed, each under its first error
    unseen = {error.call_id: error for error in reversed(errors) if error.call_id not in seen}
    skipped.update(map(unreadable_reason, unseen.values()))


def load_transitions(path: Path | str, progress: bool = False) -> Transitions:
    """The transitions of every whole call at `path`; every other call is skipped and counted under its reason."""
    data, read = Transitions(), Counter()
    for rows in whole_calls(path, data.skipped, progress, read):
        data.add_call(rows)
    data.events = read["events"]
    return data


INHERITED = ("hidden", "gamma", "advantage_learning")


def events_source(events: Path | str) -> Path | str:
    """`--events` as the readers take it: a URL stays a str, anything else is a path."""
    return events if is_database_url(events) else Path(events)


def run(args: Args) -> RunSummary:
    start = time.perf_counter()
    source = events_source(args.events)
    name = describe_source(source)  # a URL without its password
    data = load_transitions(source, args.progress)
    if not len(data):
        raise SystemExit(f"no complete call in {name}: {data.report()}")
    cls = DDQConfig if args.algo == "ddq" else DQNConfig
    config = cls(
        seed=args.seed,
        total_steps=args.updates,
        learning_rate=args.lr,
        eval_episodes=args.eval_episodes,
        eval_seed=VALIDATION_SEED_START,
        learning_starts=0,
    )
    if isinstance(config, DDQConfig):
        # Offline, K imagined transitions per 1 + K updates, as the replay figures were measured; one step per real
        # step won online (docs/experiments.md, "What holds DDQ back here") and is untested on logged calls.
        config = replace(config, k=args.k, real_ratio=args.real_ratio, planning_updates=True)
    parent = None
    if args.init is not None:
        parent, weights, _ = load_checkpoint(args.init, **CHECKPOINT_SPACES)
        # What the Q-values mean (discount, action-gap correction) and the network's shape carry over.
        inherited = {key: parent.hyperparameters[key] for key in INHERITED if key in parent.hyperparameters}
        config = replace(config, **{**inherited, "hidden": tuple(inherited.get("hidden", config.hidden))})
    seed_everything(args.seed)
    learner = QLearner(STATE_SIZE, N_ACTIONS, config)
    if parent is not None:
        learner.q_network.load_state_dict(weights)
        learner.sync_target()
    real = ReplayBuffer(max(len(data), 1), STATE_SIZE)
    for row in zip(data.obs, data.actions, data.rewards, data.next_obs, data.dones, strict=True):
        real.add(*row)
    imagination = Imagination(STATE_SIZE, N_ACTIONS, config) if isinstance(config, DDQConfig) else None
    evaluate = greedy_evaluator(args.eval_episodes, VALIDATION_SEED_START)
    writer = MetricsWriter(args.out)

    def greedy(state: np.ndarray) -> int:
        return int(learner.q_values(state).argmax())

    ddq = args.algo == "ddq"  # events carry no persona, so the run's metrics have no persona label
    telemetry = training_metrics(
        f"replay-{args.algo}",
        args.seed,
        args.k if ddq else 0,
        args.real_ratio if ddq else 1.0,
        "mlp" if ddq else "none",
        simulated=False,
        pushgateway=None,
    )

    def record_eval(updates: int) -> dict:
        evaluation = {"kind": "eval", "real_episodes": data.calls, "real_steps": updates, **evaluate(greedy)}
        writer.on_eval(evaluation)
        if telemetry is not None:
            telemetry.on_eval(evaluation)
        return evaluation

    record_eval(0)
    rng = np.random.default_rng(args.seed)
    bar = tqdm(total=args.updates, disable=not args.progress, desc="updates", unit="upd")

    def on_progress(done: int, losses: dict[str, float]) -> None:
        bar.update(1000)
        if args.eval_every and done % args.eval_every == 0 and done < args.updates:
            record_eval(done)

    train_offline(learner, real, args.updates, rng, imagination=imagination, on_progress=on_progress)
    bar.close()
    final = record_eval(args.updates)
    writer.close()
    world_model = imagination.model if imagination else None
    metadata = CheckpointMetadata(
        algorithm=args.algo,
        hyperparameters=config_dict(config),
        **CHECKPOINT_SPACES,
        world_model=WorldModelMetadata.of(world_model),
        provenance={
            "source": "events",
            "events_file": name,
            "events_sha256": None if is_database_url(source) else sha256_of(source),  # a live database has none
            "events_read": data.events,
            "calls_used": data.calls,
            "calls_skipped": dict(data.skipped),
            "transitions": len(data),
            "updates": args.updates,
            "seed": args.seed,
            "parent_checkpoint": str(args.init) if args.init else None,
            "parent_provenance": parent.provenance if parent else None,
        },
    )
    checkpoint = save_checkpoint(
        args.out / "checkpoint.pt",
        metadata,
        learner.q_network.state_dict(),
        world_model.state_dict() if world_model is not None else None,
    )
    summary = RunSummary(
        algo=f"replay-{args.algo}",
        env="events",
        seed=args.seed,
        hyperparameters=config_dict(config),
        eval_episodes=final["eval_episodes"],
        eval_mean_return=final["eval_mean_return"],
        eval_success_rate=final["eval_success_rate"],
        eval_recovery_rate=final["eval_recovery_rate"],
        per_persona=final["per_persona"],
        real_episodes=data.calls,
        real_steps=len(data),
        wall_seconds=round(time.perf_counter() - start, 2),
        checkpoint=str(checkpoint),
    )
    write_summary(args.out, summary)
    print(f"{name}: {data.report()}", file=sys.stderr)  # stdout is the summary's JSON
    return summary


def main(args: Args) -> None:
    summary = run(args)
    print(summary.model_dump_json(indent=2, exclude_none=True, exclude={"hyperparameters", "per_persona"}))


if __name__ == "__main__":
    main(tyro.cli(Args))
