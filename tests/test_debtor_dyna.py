"""Deep Dyna-Q over the debtor model: nothing imagined for K = 0 or an untrusted model, K turns from real branches
otherwise, and the real call never touched; from the trainer's command to calls that log what the agent expects."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agent_runtime.cards import turn_card
from agent_runtime.contracts.actions import N_ACTIONS, Action
from agent_runtime.contracts.events import TurnEvent
from agent_runtime.contracts.expectation import ACT_CLASSES
from agent_runtime.contracts.state import CHECKPOINT_SPACES, STATE_SIZE
from agent_runtime.expectation import DebtorExpectation
from policy.buffers import ReplayBuffer
from policy.dqn import DQNConfig, QLearner
from policy.metadata import CheckpointError, CheckpointMetadata, WorldModelMetadata
from tests.test_debtor_model import certain
from training.debtor_dyna import DebtorDynaConfig, DebtorImagination
from training.debtor_model import DebtorModel, RecordingDebtorEnv, collect_calls


def started_call() -> RecordingDebtorEnv:
    env = RecordingDebtorEnv()
    env.reset(seed=5)
    env.step(int(Action.ASK_ABOUT_SITUATION))
    return env


def test_k_zero_is_plain_dqn_and_an_untrusted_model_imagines_nothing():
    env, learner, rng = started_call(), QLearner(STATE_SIZE, N_ACTIONS, DQNConfig()), np.random.default_rng(0)
    real = ReplayBuffer(100, STATE_SIZE)
    plain = DebtorImagination(env, DebtorDynaConfig(k=0, min_calls=1))
    env.calls = collect_calls(3, 0, lambda state, rng: 0)
    assert plain.after_real_step(real, learner, 0.1, rng) == 1
    assert plain.model is None and not plain.pool and plain.imagined_steps == 0
    untrusted = DebtorImagination(env, DebtorDynaConfig(k=4, min_calls=10_000))
    assert untrusted.after_real_step(real, learner, 0.1, rng) == 1
    assert untrusted.imagined_steps == 0 and len(untrusted.pool) == 1


def test_a_trusted_model_imagines_k_turns_from_real_branches_and_leaves_the_real_call_alone():
    env, learner, rng = started_call(), QLearner(STATE_SIZE, N_ACTIONS, DQNConfig()), np.random.default_rng(0)
    turns, state = env.engine.turns, env.engine.state().copy()
    imagination = DebtorImagination(env, DebtorDynaConfig(k=4, min_calls=10_000, planning_updates=True))
    imagination.model, imagination.trusted = certain(DebtorModel(hidden=8), intent=0, ends=1), True
    assert imagination.after_real_step(ReplayBuffer(100, STATE_SIZE), learner, 0.0, rng) == 5
    imagined = imagination.imagined.all()
    assert imagination.imagined_steps == len(imagined) == 4
    assert np.allclose(imagined.obs, state) and imagined.dones.all() and np.isfinite(imagined.rewards).all()
    assert env.engine.turns == turns and np.array_equal(env.engine.state(), state)


def test_the_simulated_debtor_imagines_from_a_copy_of_the_call_with_luck_of_its_own():
    env, learner = started_call(), QLearner(STATE_SIZE, N_ACTIONS, DQNConfig())
    turns, state, debtor_turn = env.engine.turns, env.engine.state().copy(), env.debtor.turn
    real_luck = env.debtor.rng.bit_generator.state
    imagination = DebtorImagination(
        env, DebtorDynaConfig(k=40, horizon=3, simulated_debtor=True, planning_updates=True)
    )
    assert imagination.trusted and imagination.model is None  # nothing to fit: it is the debtor
    # epsilon 0: every branch takes the same greedy action from the one pooled state, so only the debtor's luck varies
    assert imagination.after_real_step(ReplayBuffer(100, STATE_SIZE), learner, 0.0, np.random.default_rng(0)) == 41
    imagined = imagination.imagined.all()
    assert 40 <= len(imagined) <= 120 and np.isfinite(imagined.rewards).all()
    first_turns = imagined.obs == env.engine.state()
    assert len(set(imagined.actions[first_turns.all(axis=1)])) == 1
    assert len({tuple(row) for row in imagined.next_obs[first_turns.all(axis=1)]}) > 3  # the replies differ
    assert env.engine.turns == turns and np.array_equal(env.engine.state(), state)
    assert env.debtor.turn == debtor_turn and env.debtor.rng.bit_generator.state == real_luck
    # the same seed imagines the same; without planning updates the learner keeps its one step, on mixed batches
    again = DebtorImagination(env, DebtorDynaConfig(k=40, horizon=3, simulated_debtor=True))
    assert again.after_real_step(ReplayBuffer(100, STATE_SIZE), learner, 0.0, np.random.default_rng(0)) == 1
    assert np.array_equal(again.imagined.all().next_obs, imagined.next_obs)


def test_the_runtime_reads_the_debtor_model_as_torch_computes_it():
    torch.manual_seed(3)
    model = DebtorModel(hidden=16)
    weights = {name: value.numpy() for name, value in model.state_dict().items()}
    metadata = CheckpointMetadata(
        algorithm="ddq", hyperparameters={}, **CHECKPOINT_SPACES, world_model=WorldModelMetadata.of(model)
    )
    assert metadata.world_model.predicts == "act"
    expectation = DebtorExpectation.of_checkpoint(metadata, weights, "v")
    state = np.random.default_rng(0).uniform(-1, 1, STATE_SIZE).astype(np.float32)
    action = int(Action.OFFER_PAYMENT_PLAN)
    expected = expectation.expect(state, action)
    inputs = torch.zeros(1, 1, STATE_SIZE + N_ACTIONS)
    inputs[0, 0, :STATE_SIZE], inputs[0, 0, STATE_SIZE + action] = torch.from_numpy(state), 1.0
    with torch.no_grad():
        odds = {part: torch.softmax(logits[0, 0], -1).tolist() for part, logits in model(inputs).items()}
    for part in ("intent", "amount", "sentiment"):
        assert list(getattr(expected, part)) == list(ACT_CLASSES[part])
        assert list(getattr(expected, part).values()) == pytest.approx(odds[part], abs=1e-4)
    assert expected.ends == pytest.approx(odds["ends"][1], abs=1e-4)
    recurrent = metadata.model_copy(update={"world_model": WorldModelMetadata.of(DebtorModel(8, recurrent=True))})
    assert DebtorExpectation.of_checkpoint(recurrent, weights, "v") is None  # the runtime reads per-turn models only
    with pytest.raises(ValueError, match=r"lack heads\.ends\.weight"):
        DebtorExpectation({k: v for k, v in weights.items() if k != "heads.ends.weight"}, "v")


def test_ddq_over_the_debtor_model_from_the_trainer_and_calls_that_log_what_the_agent_expects_to_hear(tmp_path):
    from agent_runtime.events.store import read_events
    from agent_runtime.simulate import options
    from agent_runtime.simulate import run as simulate
    from agent_runtime.web.server import offered_policies
    from policy.checkpoint import load_checkpoint
    from policy.planning import load_planning_policy
    from training.train import Args, refuse_bad_options, run

    out = tmp_path / "run"
    args = Args(
        algo="ddq",
        world_model="debtor",
        k=2,
        episodes=60,
        learning_starts=50,
        seed=0,
        out=out,
        eval_episodes=5,
        progress=False,
    )
    summary = run(args)
    assert summary.real_episodes == 60 and summary.hyperparameters["learning_starts"] == 50
    checkpoint = out / "checkpoint.pt"
    metadata, _, world = load_checkpoint(checkpoint, **CHECKPOINT_SPACES)
    assert metadata.world_model.kind == "debtor" and metadata.world_model.predicts == "act"
    DebtorModel(**metadata.world_model.hyperparameters).load_state_dict(world)  # strict: every weight is there
    with pytest.raises(SystemExit, match="needs --env debtor"):
        refuse_bad_options(Args(algo="ddq", world_model="debtor", env="gymnasium:CartPole-v1", steps=10))
    with pytest.raises(CheckpointError, match="model of the next act"):
        load_planning_policy(checkpoint, "tree:2", **CHECKPOINT_SPACES)
    assert offered_policies(str(checkpoint)) == [str(checkpoint), "scripted:best_practice"]  # no planning offered

    import asyncio

    asyncio.run(simulate(options(calls=2, text=True, policy=str(checkpoint), out=tmp_path / "sim")))
    turns = [e for e in read_events(tmp_path / "sim" / "events.db") if isinstance(e, TurnEvent)]
    decided = [t for t in turns if t.proposed_action is not None]
    assert decided and all(t.expected_reply is not None for t in decided)
    assert all(t.expected_reply is None for t in turns if t.proposed_action is None)
    expected = decided[0].expected_reply
    assert expected.model == "checkpoint.pt" and sum(expected.intent.values()) == pytest.approx(1, abs=1e-3)
    assert turn_card(decided[0])["expected_reply"]["ends"] == expected.ends


def test_an_ensemble_of_debtor_models_drops_the_imagined_turns_its_members_disagree_on():
    from training.train import debtor_imagination

    assert [debtor_imagination(kind) for kind in ("debtor", "debtor:3", "mlp", "simulator")] == [
        {"ensemble": 1},
        {"ensemble": 3},
        None,
        {"simulated_debtor": True},
    ]
    with pytest.raises(ValueError, match="debtor:N with N >= 1"):
        debtor_imagination("debtor:0")
    env, learner, rng = started_call(), QLearner(STATE_SIZE, N_ACTIONS, DQNConfig()), np.random.default_rng(0)
    env.calls = collect_calls(30, 0, lambda state, rng: int(rng.integers(N_ACTIONS)))
    imagination = DebtorImagination(env, DebtorDynaConfig(k=6, min_calls=20, ensemble=3, fit_epochs=2))
    imagination._refit()
    assert len(imagination.members) == 3 and imagination.model is imagination.members[0]
    assert 0 < imagination.disagreement_limit < 1
    members = [m.state_dict()["heads.intent.bias"] for m in imagination.members]
    assert not torch.equal(members[0], members[1])  # bootstrap resamples, seeds of their own
    imagination.trusted = True
    imagination.disagreement_limit = -1.0  # every imagined turn is disputed
    imagination.after_real_step(ReplayBuffer(100, STATE_SIZE), learner, 0.1, rng)
    assert imagination.imagined_steps == 0 and imagination.dropped_steps == 6
    imagination.disagreement_limit = float("inf")
    imagination.after_real_step(ReplayBuffer(100, STATE_SIZE), learner, 0.1, rng)
    assert imagination.imagined_steps == 6


def test_a_warm_start_fills_the_buffer_with_the_same_script_calls_for_every_seed_and_the_debtor_model_learns_them():
    from training.debtor_dyna import train_debtor_ddq
    from training.train import Args, best_practice, build_config, refuse_bad_options

    script = best_practice()
    played: dict[int, list[int]] = {}

    def runs(seed: int):
        calls: list[int] = []

        def choose(state):
            calls.append(len(calls))
            return script(state)

        config = build_config(
            Args(algo="ddq", world_model="debtor", k=2, episodes=5, learning_starts=0, seed=seed, warm_start=55)
        )
        config.eval_episodes = 2  # on an env of its own: evaluations add no calls to the model's data
        result, imagination = train_debtor_ddq(config, warm_start=choose)
        played[seed] = calls
        return result, imagination

    result, imagination = runs(0)
    assert result.real_episodes == 5  # the warm-start calls are not part of the budget
    assert len(imagination.env.calls) == 55 + 5 and imagination.model is not None  # fitted on them from the start
    runs(1)
    assert len(played[0]) == len(played[1]) > 55  # the same script calls whatever the training seed
    with pytest.raises(SystemExit, match="needs a debtor env"):
        refuse_bad_options(Args(env="gymnasium:CartPole-v1", steps=10, warm_start=3))


def test_the_refit_interval_reaches_either_kind_of_world_model():
    from policy.ddq import DDQConfig
    from training.debtor_dyna import train_debtor_ddq
    from training.train import Args, build_config

    mlp = build_config(Args(algo="ddq", world_model="mlp", world_model_refit_every=40, episodes=1))
    assert mlp.world_model_train_interval == 40
    assert build_config(Args(algo="ddq", episodes=1)).world_model_train_interval == DDQConfig.world_model_train_interval
    config = DDQConfig(total_episodes=2, eval_episodes=2, learning_starts=1, k=1)
    _, imagination = train_debtor_ddq(config, refit_every=40, progress=False)
    assert imagination.config.refit_every == 40
    _, default = train_debtor_ddq(config, progress=False)
    assert default.config.refit_every == DebtorDynaConfig.refit_every == 500
