"""World models, their histories, checkpoints and the planners over them (policy.world_models, policy.planning)."""

import numpy as np
import pytest
import torch

from agent_runtime.contracts.actions import ACTION_SET_VERSION
from agent_runtime.contracts.state import STATE_SIZE, STATE_SPEC_VERSION
from policy.buffers import Histories, ReplayBuffer
from policy.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from policy.ddq import DDQConfig, train_ddq
from policy.metadata import CheckpointMetadata, WorldModelMetadata
from policy.planning import PlanningPolicy, RolloutPlanner, TreePlanner, imagine, make_planner
from policy.world_models import WORLD_MODELS, Prediction, WorldModel, load_world_model, make_world_model
from simulator.env import DebtorEnv
from training.baselines import make_policy

KINDS = sorted(WORLD_MODELS)
SMALL_MODELS = {"hidden": (32, 32)}


def _fill(buffer: ReplayBuffer, episodes: int, length: int, rng: np.random.Generator, step) -> None:
    """Episodes of `length` steps from obs 0; `step(obs, action, previous_action) -> (next_obs, reward)`."""
    for _ in range(episodes):
        obs, previous = np.zeros(buffer.obs.shape[1], np.float32), 0
        for t in range(length):
            action = int(rng.integers(2))
            next_obs, reward = step(obs, action, previous)
            buffer.add(obs, action, reward, next_obs, t == length - 1)
            obs, previous = next_obs, action


def _counter_step(obs, action, previous):
    """obs[0] counts the steps, obs[1] is the action just taken; the reward is the previous action."""
    return np.array([obs[0] + 0.1, action], np.float32), float(previous)


def _hidden_step(obs, action, previous):
    """As _counter_step, but the state no longer shows the previous action: only the history has it."""
    return np.array([obs[0] + 0.1, 0.0], np.float32), float(previous)


# -- buffers and histories --------------------------------------------------------------------------------------
def test_buffer_links_transitions_of_one_episode_and_pads_histories():
    buffer = ReplayBuffer(100, 2)
    _fill(buffer, episodes=2, length=4, rng=np.random.default_rng(0), step=_counter_step)
    assert buffer.previous[:8].tolist() == [-1, 0, 1, 2, -1, 4, 5, 6]
    histories = buffer.histories(np.array([2, 4]), window=3)
    assert histories.valid.tolist() == [[True, True, True], [False, False, True]]
    np.testing.assert_allclose(histories.obs[0, :, 0], [0.0, 0.1, 0.2], atol=1e-6)
    assert histories.actions[0, :2].tolist() == buffer.actions[:2].tolist()
    assert not histories.obs[1, :2].any()


def test_overwriting_a_slot_cuts_the_link_to_it():
    buffer = ReplayBuffer(4, 2)
    _fill(buffer, episodes=1, length=6, rng=np.random.default_rng(0), step=_counter_step)
    # slots now hold steps 4, 5, 2, 3: step 2 (slot 2) lost its predecessor (step 1, overwritten by step 5)
    assert buffer.previous.tolist() == [3, 0, -1, 2]
    assert buffer.histories(np.array([1]), window=4).valid.sum() == 4
    assert buffer.histories(np.array([2]), window=4).valid.sum() == 1


def test_histories_advance_shifts_the_window():
    start = Histories.start(np.array([[1.0, 1.0]], np.float32), window=2)
    after = start.advance(np.array([1]), np.array([[2.0, 2.0]], np.float32))
    assert after.valid.tolist() == [[True, True]]
    assert after.obs[0, :, 0].tolist() == [1.0, 2.0] and after.actions[0, 0] == 1


# -- world models -------------------------------------------------------------------------------------------------
def _fitted(kind: str, step=_counter_step, updates: int = 300, seed: int = 0) -> tuple[WorldModel, ReplayBuffer]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    buffer = ReplayBuffer(5000, 2)
    _fill(buffer, episodes=200, length=6, rng=rng, step=step)
    model = make_world_model(kind, 2, 2, **SMALL_MODELS, lr=3e-3)
    model.fit(buffer, updates, 64, rng)
    return model, buffer


def _errors(model: WorldModel, buffer: ReplayBuffer) -> tuple[float, float]:
    idx = np.arange(len(buffer))
    p = model.predict(buffer.histories(idx, model.window), buffer.actions[idx])
    next_obs, rewards = buffer.next_obs[idx], buffer.rewards[idx]
    return float(np.mean((p.next_obs - next_obs) ** 2)), float(np.mean((p.reward - rewards) ** 2))


@pytest.mark.parametrize("kind", KINDS)
def test_every_world_model_learns_the_markov_part_of_the_dynamics(kind):
    untrained = make_world_model(kind, 2, 2, **SMALL_MODELS)
    model, buffer = _fitted(kind)
    before, after = _errors(untrained, buffer)[0], _errors(model, buffer)[0]
    assert after < 0.01 < before
    p = model.predict(buffer.histories(np.array([5]), model.window), np.array([1]))
    assert isinstance(p, Prediction) and p.next_obs.shape == (1, 2) and 0.0 <= p.done_probability[0] <= 1.0


def test_only_the_history_models_predict_a_reward_that_depends_on_the_action_before_last():
    """The reward for (s_t, a_t) is a_{t-1}, which s_t does not show: a Markov model cannot know it, a history can."""
    reward_error = {
        kind: _errors(*_fitted(kind, step=_hidden_step, updates=600))[1] for kind in ("mlp", "recurrent", "transformer")
    }
    assert reward_error["mlp"] > 0.15  # about the variance of a fair coin: it cannot know
    assert reward_error["recurrent"] < 0.05 and reward_error["transformer"] < 0.05


def test_probabilistic_model_samples_around_its_mean_under_a_seed():
    model, buffer = _fitted("probabilistic")
    histories, actions = buffer.histories(np.arange(50), 1), buffer.actions[:50]
    a = model.sample(histories, actions, np.random.default_rng(1))
    b = model.sample(histories, actions, np.random.default_rng(1))
    c = model.sample(histories, actions, np.random.default_rng(2))
    np.testing.assert_array_equal(a.next_obs, b.next_obs)
    assert not np.array_equal(a.next_obs, c.next_obs)
    assert model.predict(histories, actions).reward_std.min() > 0


def test_ensemble_keeps_its_best_members_and_distrusts_unfamiliar_states():
    model, buffer = _fitted("ensemble")
    assert len(model.elite_index) == 3 and len(set(model.elite_index.tolist())) == 3
    assert np.isfinite(model.trust_threshold.item())
    familiar = buffer.histories(np.arange(200), 1)
    unfamiliar = Histories(familiar.obs * 50.0, familiar.actions, familiar.valid)
    actions = buffer.actions[:200]
    assert model.sample(familiar, actions, np.random.default_rng(0)).trusted.mean() > 0.8
    assert model.sample(unfamiliar, actions, np.random.default_rng(0)).trusted.mean() < 0.2


def test_imagine_rolls_out_until_the_end_and_drops_untrusted_steps():
    model, buffer = _fitted("ensemble")
    starts = buffer.histories(np.arange(0, 60, 6), 1)  # ten episode starts
    batch = imagine(
        model, starts, horizon=3, choose=lambda obs: np.ones(len(obs), np.int64), rng=np.random.default_rng(0)
    )
    assert 10 <= len(batch) <= 30 and np.all(batch.actions == 1)
    model.trust_threshold = torch.tensor(-1.0)
    empty = imagine(
        model, starts, horizon=3, choose=lambda obs: np.ones(len(obs), np.int64), rng=np.random.default_rng(0)
    )
    assert len(empty) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_world_model_round_trips_through_a_checkpoint(tmp_path, kind):
    model, buffer = _fitted(kind, updates=20)
    metadata = CheckpointMetadata(
        algorithm="ddq",
        hyperparameters={},
        obs_spec_version="toy",
        action_set_version="toy",
        obs_size=2,
        n_actions=2,
        world_model=WorldModelMetadata.of(model),
    )
    path = save_checkpoint(tmp_path / "c.pt", metadata, {}, model.state_dict())
    loaded_metadata, _, state = load_checkpoint(path)
    loaded = load_world_model(loaded_metadata.world_model, state, 2, 2)
    histories = buffer.histories(np.arange(30), model.window)
    np.testing.assert_array_equal(
        model.predict(histories, buffer.actions[:30]).next_obs, loaded.predict(histories, buffer.actions[:30]).next_obs
    )


def test_world_model_weights_of_another_kind_are_a_clear_error():
    mlp = make_world_model("mlp", 2, 2)
    with pytest.raises(ValueError, match="world model 'recurrent' does not match its weights"):
        load_world_model(WorldModelMetadata(kind="recurrent"), mlp.state_dict(), 2, 2)
    with pytest.raises(ValueError, match="unknown world model 'tabular'"):
        make_world_model("tabular", 2, 2)


# -- planners -------------------------------------------------------------------------------------------------------
class ChainModel(WorldModel):
    """A known MDP on obs[0] = position: action 1 moves right (reward 0), action 0 stays (reward 1 at position 0,
    reward 5 at position 1); nothing ends. The best is to move right once, then stay."""

    kind = "chain"

    def __init__(self):
        super().__init__(1, 2)

    def predict(self, histories, actions):
        position = histories.current[:, 0]
        reward = np.where(actions == 0, np.where(position >= 1, 5.0, 1.0), 0.0)
        return Prediction((position + (actions == 1))[:, None].astype(np.float32), reward, np.zeros(len(actions)))


def test_tree_search_finds_the_delayed_reward_that_greedy_q_misses():
    zero_q = lambda obs: np.zeros((len(obs), 2))  # noqa: E731
    start = Histories.start(np.zeros((1, 1), np.float32), 1)
    one = TreePlanner(zero_q, ChainModel(), 2, gamma=0.5, depth=1).plan(start)
    two = TreePlanner(zero_q, ChainModel(), 2, gamma=0.5, depth=2).plan(start)
    assert one.action == 0 and one.values.tolist() == [1.0, 0.0]
    # stay: 1 + 0.5 * max(1, 0); move: 0 + 0.5 * max(5, 0)
    assert two.action == 1 and two.values.tolist() == [1.5, 2.5]


def test_one_step_rollout_equals_depth_one_tree():
    q = lambda obs: np.stack([obs[:, 0], 2 * obs[:, 0]], axis=1)  # noqa: E731
    start = Histories.start(np.full((1, 1), 3.0, np.float32), 1)
    tree = TreePlanner(q, ChainModel(), 2, gamma=0.9, depth=1).plan(start)
    rollout = RolloutPlanner(q, ChainModel(), 2, gamma=0.9, horizon=1).plan(start)
    np.testing.assert_allclose(tree.values, rollout.values)
    np.testing.assert_allclose(tree.values, [5 + 0.9 * 6, 0 + 0.9 * 8])


def test_uncertainty_fallback_hands_the_decision_to_the_q_network():
    model, _ = _fitted("ensemble", updates=50)
    q = lambda obs: np.tile([0.0, 1.0], (len(obs), 1))  # noqa: E731
    start = Histories.start(np.zeros((1, 2), np.float32), 1)
    model.trust_threshold = torch.tensor(-1.0)  # nothing is trusted
    result = make_planner("tree:2+fallback", q, model, 2, 0.99).plan(start)
    assert result.fell_back and result.action == 1
    with pytest.raises(ValueError, match="needs an ensemble"):
        make_planner("tree:2+fallback", q, make_world_model("mlp", 2, 2), 2, 0.99)
    with pytest.raises(ValueError, match="unknown planner"):
        make_planner("beam:2", q, model, 2, 0.99)


def test_planning_policy_carries_the_call_history_for_history_models():
    model, _ = _fitted("recurrent", updates=10)
    policy = PlanningPolicy(make_planner("tree:1", lambda obs: np.zeros((len(obs), 2)), model, 2, 0.99))
    for step in range(3):
        policy.act(np.array([0.1 * step, 0.0], np.float32))
    assert policy.history.valid[0].sum() == 3
    policy.reset()
    policy.act(np.zeros(2, np.float32))
    assert policy.history.valid[0].sum() == 1


# -- DDQ with every world model, and planning through a trained checkpoint ----------------------------------------
SMALL_DDQ = dict(
    learning_starts=32,
    batch_size=16,
    hidden=(16,),
    eval_episodes=5,
    target_update_interval=20,
    k=2,
    horizon=2,
    world_model_updates=5,
    world_model_train_interval=40,
    world_model_hidden=(16, 16),
)


@pytest.mark.parametrize("kind", KINDS)
def test_ddq_trains_with_every_world_model_and_is_deterministic(kind):
    def run():
        return train_ddq(DebtorEnv, DDQConfig(seed=3, total_episodes=25, world_model=kind, **SMALL_DDQ))

    (first, imagination), (second, _) = run(), run()
    assert imagination.model.kind == kind and first.imagined_steps > 0
    assert first.final_eval == second.final_eval and first.imagined_steps == second.imagined_steps


def test_planner_policy_from_a_ddq_checkpoint_and_a_clear_error_without_a_world_model(tmp_path):
    from training.train import Args, run

    run(Args(algo="ddq", episodes=20, seed=0, out=tmp_path / "ddq", progress=False, eval_episodes=5, k=1))
    env = DebtorEnv()
    policy = make_policy(f"{tmp_path / 'ddq' / 'best.pt'}@tree:2", env, 0)
    state, _ = env.reset(seed=1)
    assert 0 <= policy.act(state)[0] < 9
    run(Args(algo="dqn", episodes=20, seed=0, out=tmp_path / "dqn", progress=False, eval_episodes=5))
    with pytest.raises(CheckpointError, match="carries no world model"):
        make_policy(f"{tmp_path / 'dqn' / 'best.pt'}@tree:2", env, 0)
    metadata = load_checkpoint(
        tmp_path / "ddq" / "best.pt",
        obs_spec_version=STATE_SPEC_VERSION,
        action_set_version=ACTION_SET_VERSION,
        obs_size=STATE_SIZE,
        n_actions=9,
    )[0]
    assert metadata.world_model.kind == "mlp"


# -- the accuracy report ------------------------------------------------------------------------------------------
def test_end_auc_and_interval_coverage_are_right_on_known_cases():
    from sklearn.metrics import roc_auc_score

    from training.worldmodel_eval import NOMINAL_COVERAGE, auc, coverage

    rng = np.random.default_rng(0)
    labels = (rng.random(500) < 0.3).astype(np.float32)
    scores = labels * 0.5 + rng.random(500)
    assert auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    errors = rng.standard_normal(20_000) * 2.0
    np.testing.assert_allclose(coverage(errors, np.full(errors.size, 2.0)), NOMINAL_COVERAGE, atol=0.01)
    assert all(c < n for c, n in zip(coverage(errors, np.full(errors.size, 1.0)), NOMINAL_COVERAGE, strict=True))


def test_worldmodel_eval_reports_every_kind(tmp_path):
    from training.worldmodel_eval import Args, main

    report = main(
        Args(
            kinds=["mlp", "probabilistic"],
            seeds=[0],
            train_episodes=20,
            test_episodes=10,
            updates=20,
            out=tmp_path / "wm",
        )
    )
    assert set(report["results"]) == {"mlp", "probabilistic"}
    assert (
        "calibration_error" in report["results"]["probabilistic"]
        and "calibration_error" not in report["results"]["mlp"]
    )
    assert 0.0 <= report["results"]["mlp"]["end_auc"]["mean"] <= 1.0
    assert (tmp_path / "wm.json").exists() and (tmp_path / "wm.png").stat().st_size > 10_000
