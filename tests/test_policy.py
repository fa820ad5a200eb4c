import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from agent_runtime.contracts.actions import ACTION_SET_VERSION
from agent_runtime.contracts.state import STATE_SIZE, STATE_SPEC_VERSION
from policy.buffers import Batch, ReplayBuffer
from policy.checkpoint import CheckpointError, average_checkpoints, load_checkpoint, save_checkpoint
from policy.ddq import DDQConfig, Imagination, train_ddq
from policy.dqn import DQNConfig, QLearner, train
from policy.inference import GreedyPolicy, InvalidObservationError
from policy.metadata import CheckpointMetadata, CheckpointMismatchError
from policy.schedules import linear_schedule
from simulator.env import DebtorEnv

SMALL = dict(learning_starts=32, batch_size=16, hidden=(16,), eval_episodes=5, target_update_interval=20)


def test_replay_buffer_wraps_and_samples_what_was_added():
    buffer = ReplayBuffer(capacity=3, obs_size=2)
    for i in range(5):
        buffer.add(np.full(2, i, np.float32), i % 2, float(i), np.full(2, i + 1, np.float32), i == 4)
    assert len(buffer) == 3 and buffer.position == 2
    assert sorted(buffer.rewards.tolist()) == [2.0, 3.0, 4.0]  # the two oldest were overwritten
    batch = buffer.sample(50, np.random.default_rng(0))
    assert set(batch.rewards.tolist()) <= {2.0, 3.0, 4.0}
    assert np.all(batch.next_obs[:, 0] == batch.obs[:, 0] + 1)
    assert np.all(batch.dones == (batch.rewards == 4.0))
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(2, 2).sample(1, np.random.default_rng(0))


def test_linear_schedule():
    assert linear_schedule(1.0, 0.1, 0.5, 0.0) == 1.0
    assert linear_schedule(1.0, 0.1, 0.5, 0.25) == pytest.approx(0.55)
    assert linear_schedule(1.0, 0.1, 0.5, 0.9) == pytest.approx(0.1)


def test_double_dqn_target_matches_a_hand_computed_example():
    learner = QLearner(obs_size=1, n_actions=2, config=DQNConfig(gamma=0.9, hidden=()))
    with torch.no_grad():  # online: Q(s) = [s, 2s]; target: Q(s) = [10s, 1s]
        learner.q_network.net[0].weight.copy_(torch.tensor([[1.0], [2.0]]))
        learner.q_network.net[0].bias.zero_()
        learner.target_network.net[0].weight.copy_(torch.tensor([[10.0], [1.0]]))
        learner.target_network.net[0].bias.zero_()
    target = learner.td_target(torch.tensor([1.0, 1.0]), torch.tensor([[3.0], [3.0]]), torch.tensor([0.0, 1.0]))
    # online argmax at s'=3 is action 1 (6 > 3); the target network values it at 3, not at its own max 30.
    assert target.tolist() == pytest.approx([1.0 + 0.9 * 3.0, 1.0])
    learner.config.double_q = False  # the original DQN's target (SB3's): the target network's own maximum
    target = learner.td_target(torch.tensor([1.0, 1.0]), torch.tensor([[3.0], [3.0]]), torch.tensor([0.0, 1.0]))
    assert target.tolist() == pytest.approx([1.0 + 0.9 * 30.0, 1.0])


def test_advantage_learning_lowers_only_the_targets_of_actions_worse_than_the_greedy_one():
    learner = QLearner(obs_size=1, n_actions=2, config=DQNConfig(hidden=(), advantage_learning=0.5))
    with torch.no_grad():  # target network: Q(s) = [10s, 1s], so at s = 2 the values are [20, 2]
        learner.target_network.net[0].weight.copy_(torch.tensor([[10.0], [1.0]]))
        learner.target_network.net[0].bias.zero_()
    penalty = learner.action_gap_penalty(torch.tensor([[2.0], [2.0]]), torch.tensor([[0], [1]]))
    assert penalty.tolist() == pytest.approx([0.0, 0.5 * (20.0 - 2.0)])


def test_update_moves_q_towards_the_target():
    torch.manual_seed(0)
    learner = QLearner(obs_size=2, n_actions=2, config=DQNConfig(hidden=(8,), learning_rate=1e-2))
    batch = Batch(
        np.ones((8, 2), np.float32),
        np.zeros(8, np.int64),
        np.full(8, 5.0, np.float32),
        np.ones((8, 2), np.float32),
        np.ones(8, np.float32),
    )
    before = learner.update(batch)["losses/td_loss"]
    for _ in range(200):
        after = learner.update(batch)["losses/td_loss"]
    assert after < before / 10
    assert learner.q_values(np.ones(2, np.float32))[0] == pytest.approx(5.0, abs=0.2)


def _debtor_weights(result) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in result.learner.q_network.parameters()]


def test_ddq_with_k_zero_is_exactly_dqn():
    dqn = train(DebtorEnv, DQNConfig(seed=3, total_episodes=40, **SMALL))
    ddq, imagination = train_ddq(DebtorEnv, DDQConfig(seed=3, total_episodes=40, k=0, **SMALL))
    assert imagination.imagined_steps == 0 and imagination.model is None
    assert dqn.real_steps == ddq.real_steps
    for a, b in zip(_debtor_weights(dqn), _debtor_weights(ddq), strict=True):
        np.testing.assert_array_equal(a, b)


def test_ddq_imagines_k_transitions_per_real_step_and_mixes_batches():
    config = DDQConfig(
        seed=1, total_episodes=30, k=3, real_ratio=0.5, world_model_updates=5, planning_updates=True, **SMALL
    )
    result, imagination = train_ddq(DebtorEnv, config)
    trained_steps = result.real_steps - config.learning_starts
    assert imagination.imagined_steps == 3 * trained_steps  # horizon 1
    assert result.learner.updates == 4 * trained_steps  # 1 + K gradient steps per real step
    plain_updates = DDQConfig(**(config.__dict__ | {"planning_updates": False}))
    result, imagination = train_ddq(DebtorEnv, plain_updates)
    trained_steps = result.real_steps - config.learning_starts
    assert imagination.imagined_steps == 3 * trained_steps and result.learner.updates == trained_steps
    real = ReplayBuffer(100, STATE_SIZE)
    real.add(np.zeros(STATE_SIZE, np.float32), 0, 7.0, np.zeros(STATE_SIZE, np.float32), True)
    batch = imagination.sample(real, 16, np.random.default_rng(0))
    assert len(batch) == 16 and int((batch.rewards == 7.0).sum()) == 8


def test_imagination_rejects_bad_settings():
    with pytest.raises(ValueError, match="real_ratio"):
        Imagination(4, 2, DDQConfig(total_episodes=1, real_ratio=0.0))
    with pytest.raises(ValueError, match="horizon"):
        Imagination(4, 2, DDQConfig(total_episodes=1, horizon=0))


@pytest.mark.parametrize("algo", ["dqn", "ddq"])
def test_training_is_deterministic_under_a_seed(algo):
    def run():
        if algo == "dqn":
            return train(DebtorEnv, DQNConfig(seed=5, total_episodes=30, **SMALL))
        return train_ddq(DebtorEnv, DDQConfig(seed=5, total_episodes=30, k=2, world_model_updates=5, **SMALL))[0]

    first, second = run(), run()
    assert first.final_eval == second.final_eval
    for a, b in zip(_debtor_weights(first), _debtor_weights(second), strict=True):
        np.testing.assert_array_equal(a, b)


def test_trains_on_a_generic_gymnasium_env():
    result = train(lambda: gym.make("CartPole-v1"), DQNConfig(seed=0, total_steps=300, **SMALL))
    assert result.real_steps == 300 and result.final_eval["eval_episodes"] == 5
    assert "eval_success_rate" not in result.final_eval


def test_learning_rate_decays_linearly_to_its_floor_over_the_budget_and_stays_constant_without_one():
    def last_learning_rate(**overrides) -> float:
        config = DQNConfig(seed=0, total_steps=300, learning_rate=1e-3, **SMALL, **overrides)
        return train(lambda: gym.make("CartPole-v1"), config).learner.optimizer.lr

    # the last training phase comes after 299 of the 300 steps
    assert last_learning_rate(end_learning_rate=1e-4) == pytest.approx(1e-3 + (1e-4 - 1e-3) * 299 / 300)
    assert last_learning_rate() == 1e-3


def _metadata(**overrides) -> CheckpointMetadata:
    fields = dict(
        algorithm="dqn",
        hyperparameters={"hidden": [16]},
        obs_spec_version=STATE_SPEC_VERSION,
        action_set_version=ACTION_SET_VERSION,
        obs_size=STATE_SIZE,
        n_actions=9,
    )
    return CheckpointMetadata(**{**fields, **overrides})


EXPECTED = dict(
    obs_spec_version=STATE_SPEC_VERSION, action_set_version=ACTION_SET_VERSION, obs_size=STATE_SIZE, n_actions=9
)


def test_checkpoint_round_trip_and_inference_matches_torch(tmp_path):
    learner = QLearner(STATE_SIZE, 9, DQNConfig(hidden=(32, 16)))
    path = save_checkpoint(tmp_path / "c.pt", _metadata(), learner.q_network.state_dict())
    metadata, _q_state, world = load_checkpoint(path, **EXPECTED)
    assert metadata.algorithm == "dqn" and world is None
    policy = GreedyPolicy.load(path, **EXPECTED)
    state = np.random.default_rng(0).uniform(-1, 1, STATE_SIZE).astype(np.float32)
    action, q = policy.act(state)
    np.testing.assert_allclose(q, learner.q_values(state), rtol=1e-5, atol=1e-6)
    assert action == int(learner.q_values(state).argmax())


def test_mismatched_checkpoint_names_the_mismatch(tmp_path):
    learner = QLearner(STATE_SIZE, 9, DQNConfig(hidden=(8,)))
    path = save_checkpoint(tmp_path / "c.pt", _metadata(obs_spec_version="state.v0"), learner.q_network.state_dict())
    with pytest.raises(CheckpointMismatchError, match=r"obs_spec_version.*state\.v0"):
        GreedyPolicy.load(path, **EXPECTED)
    with pytest.raises(CheckpointMismatchError, match="n_actions"):
        load_checkpoint(path, **{**EXPECTED, "obs_spec_version": "state.v0", "n_actions": 10})


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04garbage"])
def test_corrupt_checkpoint_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_averaged_checkpoint_holds_the_mean_weights_and_refuses_other_sizes(tmp_path):
    torch.manual_seed(0)
    networks = [QLearner(STATE_SIZE, 9, DQNConfig(hidden=(8,))).q_network.state_dict() for _ in range(3)]
    paths = [save_checkpoint(tmp_path / f"c{i}.pt", _metadata(), state) for i, state in enumerate(networks)]
    metadata, average, _ = load_checkpoint(average_checkpoints(paths, tmp_path / "mean.pt"), **EXPECTED)
    for key, value in average.items():
        assert torch.allclose(value, (networks[0][key] + networks[1][key] + networks[2][key]) / 3)
    assert metadata.provenance["averaged_from"] == [str(p) for p in paths]
    wider = save_checkpoint(
        tmp_path / "wide.pt", _metadata(), QLearner(STATE_SIZE, 9, DQNConfig(hidden=(16,))).q_network.state_dict()
    )
    with pytest.raises(CheckpointMismatchError, match="network sizes"):
        average_checkpoints([paths[0], wider], tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


def test_checkpoint_with_bad_metadata_is_a_clear_error(tmp_path):
    path = tmp_path / "c.pt"
    torch.save({"metadata": {"algorithm": "dqn"}, "q_network": {}}, path)
    with pytest.raises(CheckpointError, match="invalid metadata"):
        load_checkpoint(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_inference_rejects_non_finite_observations(tmp_path, bad):
    learner = QLearner(STATE_SIZE, 9, DQNConfig(hidden=(8,)))
    policy = GreedyPolicy.load(
        save_checkpoint(tmp_path / "c.pt", _metadata(), learner.q_network.state_dict()), **EXPECTED
    )
    state = np.zeros(STATE_SIZE, np.float32)
    state[3] = bad
    with pytest.raises(InvalidObservationError, match=r"NaN or inf at positions \[3\]"):
        policy.act(state)
    with pytest.raises(InvalidObservationError, match="shape"):
        policy.act(np.zeros(5, np.float32))


def test_train_cli_writes_the_run_outputs(tmp_path):
    from training.train import Args, run

    summary = run(
        Args(algo="ddq", episodes=25, seed=2, out=tmp_path, k=2, eval_every=10, eval_episodes=5, progress=False)
    )
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    episodes = [r for r in lines if r["kind"] == "episode"]
    evals = [r for r in lines if r["kind"] == "eval"]
    assert len(episodes) == 25 and [e["real_episodes"] for e in evals] == [10, 20]
    assert {"return", "action_counts", "epsilon", "persona", "success", "q_stats"} <= set(episodes[-1])
    assert summary.real_episodes == 25 and summary.eval_success_rate is not None
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["real_steps"] == episodes[-1]["real_steps"]
    metadata, _, world_model = load_checkpoint(tmp_path / "checkpoint.pt", **EXPECTED)
    assert metadata.world_model.kind == "mlp" and world_model is not None
    assert metadata.provenance["real_episodes"] == 25
    best, _, _ = load_checkpoint(tmp_path / "best.pt", **EXPECTED)
    assert best.provenance["selected_at_real_episodes"] in (10, 20, 25)

    from training.report import Args as ReportArgs
    from training.report import main as report

    written = report(ReportArgs(runs=[tmp_path], out=tmp_path / "plots", rollouts=5))
    assert [p.name for p in written] == [
        "learning_curves.png",
        "actions_by_persona.png",
        "actions_over_training.png",
        "q_values.png",
        "feature_action_values.png",
    ]
    assert all(p.read_bytes().startswith(b"\x89PNG") and p.stat().st_size > 10_000 for p in written)


def test_persona_mix_shapes_training_calls_only_and_options_reach_the_config(tmp_path):
    import tyro

    from simulator.personas import Persona
    from training.train import Args, env_factory, run

    args = tyro.cli(Args, args=["--personas", "sad", "sad", "--gamma", "0.9", "--advantage-learning", "0.3"])
    assert args.personas == (Persona.SAD, Persona.SAD)
    summary = run(Args(**{**vars(args), "episodes": 6, "out": tmp_path, "eval_episodes": 12, "progress": False}))
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert {r["persona"] for r in lines if r["kind"] == "episode"} == {"sad"}
    assert len(summary.per_persona) > 1  # greedy evaluations still meet every persona
    assert summary.hyperparameters["gamma"] == 0.9 and summary.hyperparameters["advantage_learning"] == 0.3
    with pytest.raises(ValueError, match="debtor env"):
        env_factory("gymnasium:CartPole-v1", personas=(Persona.SAD,))


def test_snapshots_keep_the_weights_of_every_evaluation(tmp_path):
    from training.train import Args, run

    run(Args(episodes=12, seed=1, out=tmp_path, eval_every=5, eval_episodes=3, snapshots=True, progress=False))
    names = sorted(p.name for p in (tmp_path / "snapshots").glob("*.pt"))
    assert names == ["episode000005.pt", "episode000010.pt", "episode000012.pt"]
    metadata, weights, _ = load_checkpoint(tmp_path / "snapshots" / "episode000010.pt", **EXPECTED)
    assert metadata.provenance["selected_at_real_episodes"] == 10 and weights


def test_init_warm_starts_from_a_checkpoint_and_refuses_a_mismatched_one(tmp_path):
    from training.train import Args, run

    run(Args(algo="dqn", episodes=3, seed=0, out=tmp_path / "first", progress=False, eval_episodes=2))
    start = load_checkpoint(tmp_path / "first" / "checkpoint.pt")[1]
    # 3 more calls stay below learning_starts: no gradient step, so the weights are exactly the ones loaded
    run(
        Args(
            episodes=3,
            seed=1,
            out=tmp_path / "warm",
            init=tmp_path / "first" / "checkpoint.pt",
            progress=False,
            eval_episodes=2,
            start_epsilon=0.1,
        )
    )
    metadata, warm, _ = load_checkpoint(tmp_path / "warm" / "checkpoint.pt")
    assert metadata.provenance["initialised_from"].endswith("checkpoint.pt")
    for key in start:
        torch.testing.assert_close(start[key], warm[key])
    run(Args(env="gymnasium:CartPole-v1", steps=50, seed=0, out=tmp_path / "cartpole", progress=False, eval_episodes=1))
    with pytest.raises(CheckpointMismatchError, match="obs_spec_version"):
        run(Args(episodes=1, out=tmp_path / "bad", init=tmp_path / "cartpole" / "checkpoint.pt", progress=False))


def test_warm_start_episodes_need_a_policy():
    with pytest.raises(ValueError, match="warm_start policy"):
        train(lambda: gym.make("CartPole-v1"), DQNConfig(seed=0, total_steps=50, warm_start_episodes=2, **SMALL))


def test_seeding_turns_deterministic_algorithms_on_without_importing_torchs_compiler():
    probe = (
        "import sys, torch; from policy.dqn import seed_everything; seed_everything(0); "
        "print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(), "
        "'torch._inductor' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False", "False"]  # strict, and 1.5-2 s of imports spared
