import asyncio
import json
import sqlite3
import subprocess
import sys
from itertools import groupby

import numpy as np
import pytest

from agent_runtime.contracts.events import CallClosed, TurnEvent
from agent_runtime.contracts.state import STATE_SPEC_VERSION
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
        for (s, a, r, s2, end, *_), (state, action, reward, next_state, done_) in zip(rebuilt, simulated, strict=True):
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


def _long_calls(db, n: int) -> list[str]:
    """The first n calls with at least nine turn events."""
    query = (
        "SELECT call_id FROM events WHERE type = 'turn' GROUP BY call_id HAVING count(*) >= 9 ORDER BY call_id LIMIT ?"
    )
    return [r[0] for r in db.execute(query, (n,))]


def test_malformed_payloads_skip_only_their_calls_and_the_run_reports_why(events_db, tmp_path, capsys):
    broken = _copy(events_db, tmp_path / "broken.db")
    with sqlite3.connect(broken) as db:
        db.execute("PRAGMA ignore_check_constraints = ON")  # what a writer without the schema's json_valid check stores
        for call_id, payload in zip(_call_ids(db, 3), ("{not json", "[1,2,3]", "null"), strict=True):
            db.execute(
                "UPDATE events SET payload = ? WHERE rowid = (SELECT min(rowid) FROM events WHERE call_id = ? "
                "AND type = 'turn')",
                (payload, call_id),
            )
    run(
        Args(
            events=broken, out=tmp_path / "out", algo="dqn", updates=100, eval_every=0, eval_episodes=2, progress=False
        )
    )
    reached = len(reached_calls(events_db))
    report = capsys.readouterr().err.strip().rsplit("\n", 1)[-1]
    assert f"{reached - 3} calls used, {60 - reached + 3} skipped" in report
    assert "malformed event: 3" in report and f"no policy decision in the call: {60 - reached}" in report


def test_a_call_with_a_turn_event_missing_is_skipped_and_counted(events_db, tmp_path):
    """Every answered utterance is a numbered turn event, contact-phase and clarifying ones included: without one,
    the states on either side of it would pass for one decision's s and s'."""
    gaps = _copy(events_db, tmp_path / "gaps.db")
    with sqlite3.connect(gaps) as db:
        middle, tail, first = _long_calls(db, 3)
        db.execute("DELETE FROM events WHERE call_id = ? AND turn BETWEEN 3 AND 6", (middle,))  # 4 of its turns
        db.execute(  # its last two turns: the ones left are still numbered 0..n-1
            "DELETE FROM events WHERE call_id = ? AND turn >= (SELECT max(turn) - 1 FROM events WHERE call_id = ?)",
            (tail, tail),
        )
        first_turn = "SELECT json_extract(payload, '$.proposed_action') FROM events WHERE call_id = ? AND turn = 0"
        assert db.execute(first_turn, (first,)).fetchone() == (None,)  # the contact phase's: no decision is lost
        db.execute("DELETE FROM events WHERE call_id = ? AND turn = 0", (first,))
    data, reached = load_transitions(gaps), reached_calls(events_db)
    assert data.calls == len(reached) - 3
    assert data.skipped == {"turn events missing or repeated": 3, "no policy decision in the call": 60 - len(reached)}


def test_calls_of_an_unknown_schema_version_are_skipped_and_counted_older_ones_read(events_db, tmp_path):
    newer = _copy(events_db, tmp_path / "newer.db")
    with sqlite3.connect(newer) as db:
        whole, closing, older = _call_ids(db, 3)
        for call_id, version, kinds in (
            (whole, 9, ("call_opened", "turn", "call_closed")),
            (closing, 9, ("call_closed",)),
            (older, 1, ("call_opened", "turn", "call_closed")),
        ):
            db.execute(
                f"UPDATE events SET schema_version = ?, payload = json_set(payload, '$.schema_version', ?) "
                f"WHERE call_id = ? AND type IN ({','.join('?' * len(kinds))})",
                (version, version, call_id, *kinds),
            )
    data, reached = load_transitions(newer), reached_calls(events_db)
    assert data.calls == len(reached) - 2  # the version-1 call is upgraded and used
    assert data.skipped == {
        "event schema_version 9 is not supported (this code reads [1, 2, 3, 4, 5, 6, 7, 8])": 2,
        "no policy decision in the call": 60 - len(reached),
    }


def test_a_call_logged_twice_is_skipped_as_a_duplicate(events_db, tmp_path):
    twice = _copy(events_db, tmp_path / "twice.db")
    with sqlite3.connect(twice) as db:
        (call_id,) = _call_ids(db, 1)
        db.execute(  # what running a simulation twice into one file wrote before that was refused: new event ids
            "INSERT INTO events SELECT 'copy' || event_id, schema_version, type, call_id, turn, at, "
            "state_spec_version, json_set(payload, '$.event_id', 'copy' || event_id), delivered FROM events "
            "WHERE call_id = ?",
            (call_id,),
        )
    data, reached = load_transitions(twice), reached_calls(events_db)
    assert data.calls == len(reached) - 1
    assert data.skipped == {"call logged more than once": 1, "no policy decision in the call": 60 - len(reached)}


def _event_count(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]


def test_call_log_refuses_to_log_calls_the_database_already_holds(tmp_path):
    events = tmp_path / "events.db"
    asyncio.run(log_calls(LogArgs(calls=3, seed=70, events=events)))
    written = _event_count(events)
    for seed, taken in ((70, "sim-70"), (72, "sim-72")):  # the same run again, and one overlapping it
        with pytest.raises(SystemExit, match=f"already holds .*{taken}"):
            asyncio.run(log_calls(LogArgs(calls=3, seed=seed, events=events)))
    assert _event_count(events) == written
    asyncio.run(log_calls(LogArgs(calls=2, seed=73, events=events)))  # the calls that follow are new
    with sqlite3.connect(events) as db:
        opened = db.execute("SELECT count(*), count(DISTINCT call_id) FROM events WHERE type = 'call_opened'")
        assert opened.fetchone() == (5, 5)


def test_simulate_twice_into_one_database_is_refused_with_one_line(tmp_path):
    command = [sys.executable, "-m", "agent_runtime", "simulate", "--text", "--calls", "2", "--seed", "9"]
    command += ["--policy", "scripted:best_practice", "--out", str(tmp_path)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    written = _event_count(tmp_path / "events.db")
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode != 0 and written == _event_count(tmp_path / "events.db")
    (line,) = second.stderr.strip().splitlines()
    assert "already holds" in line and "sim-9-" in line


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


def test_calls_of_another_state_spec_are_skipped_and_counted(events_db, tmp_path):
    other = _copy(events_db, tmp_path / "other.db")
    with sqlite3.connect(other) as db:
        whole, opening = _call_ids(db, 2)
        for call_id, kind in ((whole, "turn"), (opening, "call_opened")):
            db.execute(
                "UPDATE events SET payload = json_set(payload, '$.state_spec_version', 'state.v0') "
                "WHERE call_id = ? AND type = ?",
                (call_id, kind),
            )
    data, reached = load_transitions(other), reached_calls(events_db)
    assert data.calls == len(reached) - 2
    assert data.skipped == {
        f"state spec state.v0 (this code builds {STATE_SPEC_VERSION})": 2,
        "no policy decision in the call": 60 - len(reached),
    }


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
