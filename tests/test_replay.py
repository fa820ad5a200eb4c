import asyncio
import json
import sqlite3
import subprocess
import sys
from itertools import groupby

import numpy as np
import pytest

from agent_runtime.contracts.events import CallClosed, TurnEvent
from agent_runtime.contracts.state import StateSpecMismatchError
from agent_runtime.contracts.transitions import call_transitions
from agent_runtime.events.store import read_events
from simulator.env import DebtorEnv
from training.baselines import make_policy
from training.call_log import Args as LogArgs
from training.call_log import log_calls
from training.replay import Args, load_transitions, run


def reached_calls(path) -> set[str]:
    """The calls that reached the debtor and got a policy decision (the others ended in the contact phase)."""
    return {e.call_id for e in read_events(path) if isinstance(e, TurnEvent) and e.proposed_action is not None}


def unreached_calls(path) -> set[str]:
    return {e.call_id for e in read_events(path) if isinstance(e, CallClosed)} - reached_calls(path)


@pytest.fixture(scope="module")
def events_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("events") / "events.db"
    asyncio.run(log_calls(LogArgs(policy="scripted:best_practice", epsilon=0.3, calls=60, seed=5, events=path)))
    return path


def simulator_episodes(spec: str, seeds: range) -> list[list[tuple]]:
    """(s, a, r, s', done) of each seed's episode, straight from the gymnasium env and the shared reward."""
    env = DebtorEnv()
    policy = make_policy(spec, env, 0)
    episodes = []
    for seed in seeds:
        state, _ = env.reset(seed=seed)
        policy.reset()
        steps, done = [], False
        while not done:
            action = policy.act(state)[0]
            next_state, reward, done, _, _ = env.step(action)
            steps.append((state, action, reward, next_state, done))
            state = next_state
        episodes.append(steps)
    return episodes


def test_replay_of_simulate_events_rebuilds_the_simulators_transitions_and_rewards(tmp_path):
    """Events store facts only: replay must rebuild from `simulate --text`'s events exactly the transitions and
    rewards the simulator itself produced for the same debtors."""
    command = [sys.executable, "-m", "agent_runtime", "simulate", "--text", "--calls", "25", "--seed", "300"]
    command += ["--policy", "scripted:best_practice", "--out", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = simulator_episodes("scripted:best_practice", range(300, 325))
    events_file = tmp_path / "events.db"
    data, reached, unreached = load_transitions(events_file), reached_calls(events_file), unreached_calls(events_file)
    assert len(reached) + len(unreached) == 25 and len(unreached) >= 1  # someone else, or a machine, answered some
    assert data.calls == len(reached) and data.skipped == {"no policy decision in the call": len(unreached)}
    indices = sorted(int(call_id.rsplit("-", 1)[1]) for call_id in reached)
    assert len(data) == sum(len(expected[i]) for i in indices)
    for call_id, events in groupby(read_events(events_file), key=lambda e: e.call_id):
        if call_id not in reached:
            continue
        rebuilt, simulated = call_transitions(list(events)), expected[int(call_id.rsplit("-", 1)[1])]
        assert len(rebuilt) == len(simulated)
        for (s, a, r, s2, end, _), (state, action, reward, next_state, done_) in zip(rebuilt, simulated, strict=True):
            np.testing.assert_array_equal(s, state)
            np.testing.assert_array_equal(s2, next_state)
            assert (a, end) == (action, done_) and r == pytest.approx(reward, abs=1e-6)


def test_every_call_closes_once_and_counts_its_turn_events(events_db):
    events = list(read_events(events_db))
    closed = [e for e in events if isinstance(e, CallClosed)]
    assert len(closed) == 60 and len({e.call_id for e in closed}) == 60
    unreached = [e for e in closed if e.outcome.kind.value in ("third_party", "wrong_number", "voicemail")]
    assert unreached and all(not e.outcome.success and e.outcome.follow_ups for e in unreached)
    for close in closed:
        turns = [e for e in events if isinstance(e, TurnEvent) and e.call_id == close.call_id]
        assert close.turns == len(turns) and turns[-1].ends_call


def test_transitions_chain_states_and_end_with_done(events_db):
    data, reached = load_transitions(events_db), reached_calls(events_db)
    assert data.calls == len(reached) and data.skipped == {"no policy decision in the call": 60 - len(reached)}
    dones = np.array(data.dones)
    assert dones.sum() == len(reached)
    for i in range(len(data) - 1):  # inside a call, s' of one transition is s of the next
        if not data.dones[i]:
            np.testing.assert_array_equal(data.next_obs[i], data.obs[i + 1])


def _copy(events_db, path):
    path.write_bytes(events_db.read_bytes())
    return path


def _call_ids(db, n: int) -> list[str]:
    """The first n calls that reached the debtor (their turns hold policy decisions)."""
    query = (
        "SELECT DISTINCT call_id FROM events WHERE type = 'turn' AND json_extract(payload, '$.proposed_action') "
        "IS NOT NULL ORDER BY call_id LIMIT ?"
    )
    return [r[0] for r in db.execute(query, (n,))]


def test_incomplete_and_malformed_calls_are_skipped_and_counted(events_db, tmp_path):
    broken = _copy(events_db, tmp_path / "broken.db")
    with sqlite3.connect(broken) as db:
        first, second, third = _call_ids(db, 3)
        db.execute("DELETE FROM events WHERE call_id = ? AND type = 'call_closed'", (first,))
        db.execute(
            "UPDATE events SET payload = json_set(payload, '$.state', json('[1, 2]')) "
            "WHERE call_id = ? AND type = 'turn'",
            (second,),
        )
        db.execute(
            "UPDATE events SET payload = json_set(payload, '$.turn', -4) WHERE call_id = ? AND type = 'turn'", (third,)
        )
    data, reached = load_transitions(broken), reached_calls(events_db)
    assert data.calls == len(reached) - 3
    assert data.skipped == {
        "missing call_opened or call_closed": 1,
        "a state vector has the wrong size or non-finite values": 1,
        "malformed event": 1,
        "no policy decision in the call": 60 - len(reached),
    }


def test_a_call_cut_short_keeps_its_answered_decisions_without_a_terminal_reward(events_db, tmp_path):
    cut = _copy(events_db, tmp_path / "cut.db")
    with sqlite3.connect(cut) as db:
        (call,) = _call_ids(db, 1)
        before = load_transitions(events_db)
        db.execute(
            "UPDATE events SET payload = json_set(payload, '$.outcome.kind', 'interrupted', '$.outcome.success', "
            "json('false'), '$.outcome.recovery', 0, '$.outcome.committed_value', 0, '$.outcome.terms', json('null')) "
            "WHERE call_id = ? AND type = 'call_closed'",
            (call,),
        )
    after = load_transitions(cut)
    assert after.calls == before.calls
    decisions = sum(
        1 for e in read_events(events_db) if isinstance(e, TurnEvent) and e.call_id == call and e.proposed_action
    )
    assert len(after) == len(before) - 1  # the last decision had no answer
    assert sum(after.dones) == sum(before.dones) - 1  # and the call has no terminal transition
    assert decisions >= 1


def test_events_of_the_first_schema_version_are_still_read(events_db, tmp_path):
    old = _copy(events_db, tmp_path / "old.db")
    with sqlite3.connect(old) as db:
        db.execute(
            "UPDATE events SET schema_version = 1, payload = json_remove(json_set(payload, '$.schema_version', 1), "
            "'$.dst_version', '$.templates_version', '$.reason')"
        )
        assert db.execute("SELECT count(*) FROM events WHERE payload LIKE '%dst_version%'").fetchone()[0] == 0
    new, upgraded = load_transitions(events_db), load_transitions(old)
    assert upgraded.calls == new.calls and upgraded.rewards == new.rewards


def test_events_of_another_state_spec_are_refused(events_db, tmp_path):
    other = _copy(events_db, tmp_path / "other.db")
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
    reached = len(reached_calls(events_db))
    assert summary.real_episodes == reached and summary.eval_success_rate is not None
    metadata, _, world_model = load_checkpoint(tmp_path / "replayed" / "checkpoint.pt")
    provenance = metadata.provenance
    assert provenance["calls_used"] == reached and provenance["transitions"] == summary.real_steps
    assert provenance["parent_checkpoint"].endswith("checkpoint.pt") and len(provenance["events_sha256"]) == 64
    assert world_model is not None and metadata.world_model.kind == "mlp"
    assert (tmp_path / "replayed" / "checkpoint.safetensors").is_file()  # the runtime's torch-free twin
    # the parent's discount and action-gap correction define its Q-values, so the replayed run keeps them
    assert metadata.hyperparameters["gamma"] == 0.95 and metadata.hyperparameters["advantage_learning"] == 0.5
    evals = [json.loads(line) for line in (tmp_path / "replayed" / "metrics.jsonl").read_text().splitlines()]
    assert [e["real_steps"] for e in evals] == [0, 300]


def test_replay_of_an_empty_database_fails_clearly(tmp_path):
    empty = tmp_path / "empty.db"
    asyncio.run(log_calls(LogArgs(calls=0, events=empty)))
    with pytest.raises(SystemExit, match="no complete call"):
        run(Args(events=empty, out=tmp_path / "out", progress=False))
