"""Planning over the debtor model: rollouts in branches that leave the call alone, reproducible decisions, an imagined
reply that the engine takes as the DST's reading, and clear errors for a bad spec or a checkpoint without a model."""

from __future__ import annotations

import numpy as np
import pytest

from agent_runtime.contracts.actions import N_ACTIONS, Action
from agent_runtime.contracts.dst import DSTOutput, Intent
from agent_runtime.contracts.expectation import ACT_CLASSES, INTENT_CLASSES, NO_WORDS
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.debtor_planning import model_replies
from agent_runtime.expectation import DebtorBelief, DebtorExpectation
from agent_runtime.policy_source import load_policy
from simulator.env import DebtorEnv
from training.baselines import make_policy

COMMITTED = "checkpoints/debtor_policy.pt"


class NoReading:
    """A tracker that must not be asked: an imagined reply arrives as a reading."""

    version = "none"

    def read(self, *args, **kwargs):
        raise AssertionError("the DST was asked to read an imagined reply")


def test_an_imagined_reading_skips_the_dst_and_the_engine_applies_its_rules():
    env = DebtorEnv()
    env.reset(seed=4)
    branch = env.engine.branch()
    branch.tracker = NoReading()
    decision = branch.act(int(Action.OFFER_PAYMENT_PLAN))
    yes = DSTOutput(intent=Intent.COMMIT, sentiment=0.4)
    observation = branch.observe("", imagined=yes)
    assert observation.ended and observation.outcome.kind is OutcomeKind.COMMITMENT
    assert observation.outcome.terms == decision.terms
    assert not env.engine.ended and env.engine.turns == 0  # the call itself never moved


def test_rollout_planning_leaves_the_call_alone_and_decides_the_same_way_twice():
    env = DebtorEnv()
    state, _ = env.reset(seed=11)
    policy = make_policy(f"{COMMITTED}@debtor:2x4", env, seed=3)
    before, turns = env.engine.state().copy(), env.engine.turns
    action, values = policy.act(state)
    assert env.engine.turns == turns and np.array_equal(env.engine.state(), before)
    assert values.shape == (N_ACTIONS,) and np.isfinite(values).all() and 0 <= action < N_ACTIONS
    again = make_policy(f"{COMMITTED}@debtor:2x4", env, seed=3).act(state)
    assert again[0] == action and np.array_equal(again[1], values)
    greedy_values = load_policy(COMMITTED).new_call(0).act(state)[1]
    planned = np.flatnonzero(values != greedy_values)
    assert 1 <= len(planned) <= 3 and action in np.argsort(greedy_values)[::-1][:3]  # only the Q-network's best three


def test_a_margin_keeps_the_q_networks_choice_unless_the_rollouts_prefer_another_by_more():
    env = DebtorEnv()
    overridden = []
    for seed in range(12):
        state, _ = env.reset(seed=seed)
        greedy = int(load_policy(COMMITTED).new_call(0).act(state)[1].argmax())
        action, values = make_policy(f"{COMMITTED}@debtor:2x4", env, seed=3).act(state)
        if action == greedy:
            continue
        gain = values[action] - values[greedy]
        assert make_policy(f"{COMMITTED}@debtor:2x4+{gain * 1.01}", env, seed=3).act(state)[0] == greedy
        assert make_policy(f"{COMMITTED}@debtor:2x4+{gain * 0.99}", env, seed=3).act(state)[0] == action
        overridden.append(seed)
    assert overridden  # the planner overrode the Q-network on some opening, or the margin was never tested


def test_a_live_call_hands_its_engine_to_the_planner_and_logs_planned_values_and_expectations(tmp_path):
    import asyncio

    from agent_runtime.contracts.events import TurnEvent
    from agent_runtime.events.store import read_events
    from agent_runtime.simulate import options, run

    asyncio.run(run(options(calls=2, text=True, policy=f"{COMMITTED}@debtor:1", out=tmp_path)))
    decided = [e for e in read_events(tmp_path / "events.db") if isinstance(e, TurnEvent) and e.proposed_action]
    assert decided and all(e.policy_version == "debtor_policy.pt@debtor:1" for e in decided)
    assert all(len(e.q_values) == N_ACTIONS and e.expected_reply is not None for e in decided)


@pytest.mark.parametrize("spec", ["debtor:0", "debtor:x", "debtor:2x0", "debtor:2x4+", "debtor:2x4+-1", "debtor:2+nan"])
def test_a_bad_debtor_planner_spec_is_a_clear_error(spec):
    with pytest.raises(ValueError, match="use debtor:H, debtor:HxN or debtor:HxN\\+M"):
        load_policy(f"{COMMITTED}@{spec}")


def test_a_checkpoint_without_a_debtor_model_cannot_plan_over_one(debtor_checkpoint):
    with pytest.raises(ValueError, match="carries no per-turn debtor model"):
        load_policy(f"{debtor_checkpoint()}@debtor:2")


def test_a_branch_copies_every_container_of_the_history_and_shares_the_frozen_rest():
    from dataclasses import fields

    from agent_runtime.contracts.state import CallHistory

    env = DebtorEnv()
    env.reset(seed=8)
    env.step(int(Action.OFFER_PAYMENT_PLAN))
    history, branch = env.engine.history, env.engine.branch()
    for item in fields(CallHistory):
        value = getattr(history, item.name)
        assert getattr(branch.history, item.name) == value
        if isinstance(value, list | set | dict):
            assert getattr(branch.history, item.name) is not value, item.name
    assert branch.facts is env.engine.facts and branch.tracker is env.engine.tracker


def two_kinds(first: Intent, second: str) -> DebtorExpectation:
    """A mixture sure of its two kinds of debtor: the first always says `first`, the second `second` (an intent
    class)."""
    hidden, width = 2, STATE_SIZE + N_ACTIONS
    weights = {"encoder.0.weight": np.zeros((hidden, width)), "encoder.0.bias": np.zeros(hidden), "prior": np.zeros(2)}
    for part, classes in ACT_CLASSES.items():
        bias = np.zeros((2, len(classes)))
        if part == "intent":
            bias[:] = -30.0
            bias[0, INTENT_CLASSES.index(first.value)] = bias[1, INTENT_CLASSES.index(second)] = 0.0
        if part == "ends":
            bias[:, 1] = -30.0  # only a reply without words ends the call
        weights[f"heads.{part}.weight"] = np.zeros((2 * len(classes), hidden + N_ACTIONS))
        weights[f"heads.{part}.bias"] = bias.ravel()
    return DebtorExpectation(weights, "two kinds")


def test_a_rollout_over_a_mixture_holds_one_kind_of_debtor_drawn_from_the_calls_belief():
    env = DebtorEnv()
    state, _ = env.reset(seed=2)
    expectation = two_kinds(Intent.WILLING, NO_WORDS)
    replies, listen = model_replies(expectation), int(Action.EMPATHETIC_LISTENING)

    def rollout(seed: int, belief: DebtorBelief | None) -> str:
        branch, reply = env.engine.branch(), replies(np.random.default_rng(seed), belief)
        first = reply(branch, state, listen, branch.act(listen))
        if first.ended:
            return "left"
        second = reply(branch, branch.state(), listen, branch.act(listen))
        assert not second.ended and second.reading.intent is Intent.WILLING  # the willing debtor stays willing
        return "willing"

    kinds = [rollout(seed, None) for seed in range(200)]
    assert 60 < kinds.count("left") < 140  # the kinds drawn as often as the prior says: evenly
    believed = DebtorBelief(expectation)
    believed.log_weights = np.log([0.999, 0.001])
    assert [rollout(seed, believed) for seed in range(50)].count("willing") >= 48
    assert env.engine.turns == 0  # the call itself never moved


def test_a_checkpoint_with_a_mixture_plans_and_logs_what_it_expects_in_a_live_call(tmp_path):
    import asyncio

    from agent_runtime.contracts.events import TurnEvent
    from agent_runtime.events.store import read_events
    from agent_runtime.simulate import options, run
    from policy.checkpoint import load_checkpoint, save_checkpoint
    from policy.metadata import WorldModelMetadata
    from training.debtor_model import FitConfig, collect_calls, fit

    mixture = fit(collect_calls(40, 0, lambda state, rng: int(rng.integers(N_ACTIONS))), FitConfig(2, components=3))
    metadata, q_state, _ = load_checkpoint(COMMITTED)
    metadata = metadata.model_copy(update={"world_model": WorldModelMetadata.of(mixture)})
    path = save_checkpoint(tmp_path / "mixture.pt", metadata, q_state, mixture.state_dict())
    assert load_policy(str(path)).expectation.components == 3
    env = DebtorEnv()
    state, _ = env.reset(seed=11)
    planned = make_policy(f"{path}@debtor:2x4", env, seed=3).act(state)
    again = make_policy(f"{path}@debtor:2x4", env, seed=3).act(state)
    assert planned[0] == again[0] and np.array_equal(planned[1], again[1])
    asyncio.run(run(options(calls=2, text=True, policy=f"{path}@debtor:1", out=tmp_path / "calls")))
    decided = [e for e in read_events(tmp_path / "calls" / "events.db") if isinstance(e, TurnEvent) and e.q_values]
    expected = [e.expected_reply for e in decided]
    assert len(decided) > 2 and all(x is not None and x.model == "mixture.pt@debtor:1" for x in expected)
    assert len({x.ends for x in expected}) > 1
