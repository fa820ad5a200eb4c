import asyncio
import json
import sqlite3

import numpy as np
import pytest

from agent_runtime.contracts.state import StateSpecMismatchError
from simulator.env import DebtorEnv
from training.baselines import make_policy
from training.call_log import Args as LogArgs
from training.call_log import call_events, log_calls
from training.replay import Args, load_transitions, run


@pytest.fixture(scope="module")
def events_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("events") / "events.db"
    asyncio.run(log_calls(LogArgs(policy="scripted:best_practice", epsilon=0.3, calls=60, seed=5, events=path)))
    return path


def test_replayed_rewards_equal_the_simulator_rewards():
    """Events store facts only; the shared reward function must give back exactly what the env paid."""
    env = DebtorEnv()
    policy = make_policy("scripted:best_practice", env, 0)
    for seed in range(25):
        env.reset(seed=seed)
        returns, done, state = [], False, env._state
        while not done:
            state, reward, done, _, _ = env.step(policy(state))
            returns.append(reward)
        events = [json.loads(e.model_dump_json()) for e in call_events(env, lambda s: (policy(s), None), seed, "t")]
        from training.replay import call_transitions

        rewards = [r for _, _, r, _, _ in call_transitions(events)]
        assert rewards == pytest.approx(returns, abs=1e-6)


def test_transitions_chain_states_and_end_with_done(events_db):
    data = load_transitions(events_db)
    assert data.calls == 60 and not data.skipped
    dones = np.array(data.dones)
    assert dones.sum() == 60
    for i in range(len(data) - 1):  # inside a call, s' of one transition is s of the next
        if not data.dones[i]:
            np.testing.assert_array_equal(data.next_obs[i], data.obs[i + 1])


def test_incomplete_and_malformed_calls_are_skipped_and_counted(events_db, tmp_path):
    broken = tmp_path / "broken.db"
    broken.write_bytes(events_db.read_bytes())
    with sqlite3.connect(broken) as db:
        first, second = [r[0] for r in db.execute("SELECT DISTINCT call_id FROM events ORDER BY call_id LIMIT 2")]
        db.execute("DELETE FROM events WHERE call_id = ? AND type = 'call_closed'", (first,))
        db.execute(
            "UPDATE events SET payload = json_set(payload, '$.state', json('[1, 2]')) "
            "WHERE call_id = ? AND type = 'turn'",
            (second,),
        )
    data = load_transitions(broken)
    assert data.calls == 58
    assert sum(data.skipped.values()) == 2


def test_events_of_another_state_spec_are_refused(events_db, tmp_path):
    other = tmp_path / "other.db"
    other.write_bytes(events_db.read_bytes())
    with sqlite3.connect(other) as db:
        db.execute(
            "UPDATE events SET payload = json_set(payload, '$.state_spec_version', 'state.v0') WHERE type = 'turn'"
        )
    with pytest.raises(StateSpecMismatchError, match=r"state\.v0"):
        load_transitions(other)


def test_replay_trains_from_a_checkpoint_and_records_provenance(events_db, tmp_path):
    from policy.checkpoint import load_checkpoint
    from training.train import Args as TrainArgs
    from training.train import run as train

    train(
        TrainArgs(
            episodes=20,
            out=tmp_path / "start",
            eval_every=0,
            eval_episodes=5,
            progress=False,
            gamma=0.95,
            advantage_learning=0.5,
        )
    )
    summary = run(
        Args(
            events=events_db,
            out=tmp_path / "replayed",
            algo="ddq",
            init=tmp_path / "start" / "checkpoint.pt",
            updates=300,
            k=2,
            eval_every=0,
            eval_episodes=5,
            progress=False,
        )
    )
    assert summary.real_episodes == 60 and summary.eval_success_rate is not None
    metadata, _, world_model = load_checkpoint(tmp_path / "replayed" / "checkpoint.pt")
    provenance = metadata.provenance
    assert provenance["calls_used"] == 60 and provenance["transitions"] == summary.real_steps
    assert provenance["parent_checkpoint"].endswith("checkpoint.pt") and len(provenance["events_sha256"]) == 64
    assert world_model is not None and metadata.world_model.kind == "mlp"
    # the parent's discount and action-gap correction define its Q-values, so the replayed run keeps them
    assert metadata.hyperparameters["gamma"] == 0.95 and metadata.hyperparameters["advantage_learning"] == 0.5
    evals = [json.loads(line) for line in (tmp_path / "replayed" / "metrics.jsonl").read_text().splitlines()]
    assert [e["real_steps"] for e in evals] == [0, 300]


def test_replay_of_an_empty_database_fails_clearly(tmp_path):
    empty = tmp_path / "empty.db"
    asyncio.run(log_calls(LogArgs(calls=0, events=empty)))
    with pytest.raises(SystemExit, match="no complete call"):
        run(Args(events=empty, out=tmp_path / "out", progress=False))
