"""DQN (double-DQN targets, target network, Huber loss, gradient clipping, epsilon-greedy, replay buffer).

Read top to bottom: the hyperparameters, the learner (one gradient step), then the training loop. The loop is
generic over any gymnasium env with Box observations and Discrete actions, and DDQ (policy/ddq.py) runs the
same loop with an `Imagination` plugged in; with K=0 that plug-in does nothing, so DDQ(K=0) is exactly DQN.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Protocol

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from policy.buffers import Batch, ReplayBuffer
from policy.flat import FlatAdam, FlatParameters
from policy.networks import QNetwork
from policy.numpy_mlp import mlp_forward
from policy.schedules import linear_schedule


class Imagination(Protocol):
    """Extra experience plugged into the loop (policy.ddq.Imagination: a world model's imagined transitions)."""

    k: int  # imagined transitions per real step
    updates_per_real_step: int  # the multiplier of gradient_steps once imagining (1 + k with planning updates)
    imagined_steps: int
    losses: dict[str, float]

    def after_real_step(
        self, real: ReplayBuffer, learner: QLearner, epsilon: float, rng: np.random.Generator
    ) -> int: ...

    def sample(self, real: ReplayBuffer, batch_size: int, rng: np.random.Generator) -> Batch: ...


@dataclass
class DQNConfig:
    seed: int = 0
    total_steps: int | None = None
    """budget in real env steps (one of total_steps / total_episodes)"""
    total_episodes: int | None = None
    """budget in real episodes"""
    learning_rate: float = 1e-3
    end_learning_rate: float | None = None
    """learning rate at the end of the budget, reached linearly from learning_rate (None: constant). A step size
    that decays lets the final weights settle instead of wandering with the noise of every batch"""
    buffer_size: int = 50_000
    gamma: float = 0.99
    batch_size: int = 64
    hidden: tuple[int, ...] = (128, 128)
    start_epsilon: float = 1.0
    end_epsilon: float = 0.05
    exploration_fraction: float = 0.3
    """fraction of the budget over which epsilon decays linearly"""
    learning_starts: int = 500
    """real steps collected before the first gradient step"""
    train_frequency: int = 1
    """real steps between training phases"""
    gradient_steps: int = 1
    """gradient steps per training phase (DDQ with planning updates multiplies it by 1 + K)"""
    target_update_interval: int = 250
    """real env steps between updates of the target network (as in CleanRL and SB3)"""
    tau: float = 1.0
    """target update rate: 1 copies the online network, < 1 is a Polyak (soft) update"""
    max_grad_norm: float = 10.0
    double_q: bool = True
    """double-DQN target: the online network picks the next action, the target network values it; False: the target
    network's own maximum (the original DQN, as Stable-Baselines3 does)"""
    advantage_learning: float = 0.0
    """advantage-learning coefficient alpha (Bellemare et al. 2016, "Increasing the Action Gap"): the target drops
    by alpha * (max_b Q(s, b) - Q(s, a)), which keeps the greedy policy and widens the gaps to worse actions so
    that estimation noise flips fewer near-tied choices; 0 is plain double DQN"""
    warm_start_episodes: int = 0
    """episodes of a given policy (train's `warm_start`) played into the replay buffer before training, as Deep Dyna-Q
    warm-starts from a rule-based agent's dialogues; they count neither toward the budget nor toward learning_starts"""
    warm_start_seed: int = 600_000
    """first seed of the warm-start episodes (the same episodes for every training seed)"""
    eval_every_episodes: int = 0
    """greedy evaluation every N real episodes (0: only at the end)"""
    eval_episodes: int = 100
    eval_seed: int = 900_000
    """first seed of the greedy evaluations made during training (see training.runs.VALIDATION_SEED_START)"""

    def budget_progress(self, steps: int, episodes: int) -> float:
        if self.total_steps:
            return steps / self.total_steps
        return episodes / self.total_episodes

    def validate(self) -> None:
        if (self.total_steps is None) == (self.total_episodes is None):
            raise ValueError("set exactly one of total_steps and total_episodes")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    # the same switch as torch.use_deterministic_algorithms(True), which also imports torch._inductor to set its
    # config: 1.5-2 s at the start of every run, for a compiler nothing here uses
    torch.set_deterministic_debug_mode("error")


# ---------------------------------------------------------------------------------------------- ALGO LOGIC
@torch.no_grad()
def td_loss_gradients(
    network: QNetwork, obs: torch.Tensor, actions: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean Huber loss (beta 1) of Q(obs, actions) against `target`, and Q(obs, actions); the loss's gradient
    is written into the network's `.grad`s, bit for bit what autograd would write (tests/test_flat.py)."""
    layer_inputs: list[torch.Tensor] = []
    q = network(obs, layer_inputs)
    predicted = q.gather(1, actions).squeeze(1)
    loss = F.smooth_l1_loss(predicted, target)
    # the loss's gradient as ATen computes it, back through the gather, then the network's own backward
    loss_grad = torch.clamp(predicted - target, -1.0, 1.0).mul_(1.0 / len(predicted))
    network.backward(layer_inputs, torch.zeros_like(q).scatter_(1, actions, loss_grad.unsqueeze(1)))
    return loss, predicted


class QLearner:
    """The online and target Q-networks and one double-DQN gradient step."""

    def __init__(self, obs_size: int, n_actions: int, config: DQNConfig):
        self.config = config
        self.q_network = QNetwork(obs_size, n_actions, config.hidden)
        self.target_network = QNetwork(obs_size, n_actions, config.hidden)
        self.target_network.load_state_dict(self.q_network.state_dict())
        self.online = FlatParameters(self.q_network)
        self.target = FlatParameters(self.target_network)
        self.optimizer = FlatAdam(self.online, lr=config.learning_rate)
        # numpy views of the online weights (updated in place by the optimizer): one state's Q-values in numpy take
        # a few microseconds, torch's dispatch for the same three products costs ten times that
        self.numpy_layers = [
            (layer.weight.detach().numpy().T, layer.bias.detach().numpy()) for layer in self.q_network.layers
        ]
        self.updates = 0

    def set_learning_rate(self, learning_rate: float) -> None:
        self.optimizer.lr = learning_rate

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        return mlp_forward(self.numpy_layers, np.asarray(obs, dtype=np.float32))

    def td_target(self, rewards: torch.Tensor, next_obs: torch.Tensor, dones: torch.Tensor) -> torch.Tensor:
        """Double DQN: the online network picks the next action, the target network values it (or, without
        double_q, the target network's maximum)."""
        with torch.no_grad():
            if self.config.double_q:
                next_actions = self.q_network(next_obs).argmax(dim=1, keepdim=True)
                next_values = self.target_network(next_obs).gather(1, next_actions).squeeze(1)
            else:
                next_values = self.target_network(next_obs).max(dim=1).values
            return rewards + self.config.gamma * next_values * (1.0 - dones)

    def sync_target(self) -> None:
        self.target.soft_update_from(self.online, self.config.tau)

    def action_gap_penalty(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """alpha * (max_b Q_target(s, b) - Q_target(s, a)): the advantage-learning correction (0 when alpha is 0)."""
        with torch.no_grad():
            values = self.target_network(obs)
            return self.config.advantage_learning * (values.max(dim=1).values - values.gather(1, actions).squeeze(1))

    def update(self, batch: Batch) -> dict[str, float]:
        obs, actions = torch.as_tensor(batch.obs), torch.as_tensor(batch.actions).unsqueeze(1)
        target = self.td_target(
            torch.as_tensor(batch.rewards), torch.as_tensor(batch.next_obs), torch.as_tensor(batch.dones)
        )
        if self.config.advantage_learning:
            target = target - self.action_gap_penalty(obs, actions)
        loss, predicted = td_loss_gradients(self.q_network, obs, actions, target)
        self.online.clip_grad_norm(self.config.max_grad_norm)
        self.optimizer.step()
        self.updates += 1
        return {"losses/td_loss": loss.item(), "losses/q_values": predicted.mean().item()}


# ------------------------------------------------------------------------------------------- TRAINING LOOP
class TrainingCallback(Protocol):
    def on_episode(self, record: dict) -> None: ...
    def on_eval(self, record: dict) -> None: ...


@dataclass
class TrainResult:
    learner: QLearner
    real_steps: int
    real_episodes: int
    imagined_steps: int
    wall_seconds: float
    training_seconds: float  # the wall time before the final evaluation
    final_eval: dict
    evals: list[dict] = field(default_factory=list)
    best_eval: dict | None = None  # the evaluation (periodic or final) with the highest mean return
    best_state: dict | None = None  # the Q-network's weights at that evaluation
    snapshots: list[tuple[dict, dict]] = field(default_factory=list)  # (evaluation, weights) of every evaluation


Evaluator = Callable[[Callable[[np.ndarray], int]], dict]


def mean_return_evaluator(make_env: Callable[[], gym.Env], episodes: int, seed: int) -> Evaluator:
    """Greedy evaluation for any env: mean return over seeds seed..seed+episodes-1."""

    def evaluate(act: Callable[[np.ndarray], int]) -> dict:
        env, returns = make_env(), []
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(act(obs))
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
        return {"eval_episodes": episodes, "eval_mean_return": float(np.mean(returns))}

    return evaluate


@contextmanager
def subnormals_flushed() -> Iterator[None]:
    """Subnormal floats flushed to zero while inside, as they were afterwards (it is the thread's processor state).

    Adam's moments of weights whose gradient stays 0 (dead ReLU units) decay into subnormals, which the CPU handles
    about ten times slower; flushed, they change no weight (their steps lie far below a weight's last bit) and the
    learner runs about 10 % faster."""
    already = sys.float_info.min / 2 == 0.0
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(already)


@subnormals_flushed()
def train(
    make_env: Callable[[], gym.Env],
    config: DQNConfig,
    *,
    imagination: Imagination | None = None,
    callbacks: tuple[TrainingCallback, ...] = (),
    evaluate: Evaluator | None = None,
    action_names: tuple[str, ...] | None = None,
    info_keys: tuple[str, ...] = (),
    keep_snapshots: bool = False,
    progress: bool = False,
    initial_weights: dict | None = None,
    warm_start: Callable[[np.ndarray], int] | None = None,
) -> TrainResult:
    """Train on `make_env()` until the budget is spent; DDQ passes its `imagination`.

    `evaluate` scores the greedy policy (default: mean return); `info_keys` are copied from the last step's info
    into each episode record (for the debtor env: success, recovery, outcome, persona). `initial_weights` warm-start
    the Q-network (and its target) from an earlier run's. `warm_start` is the policy whose
    `config.warm_start_episodes` episodes fill the replay buffer first.
    """
    config.validate()
    seed_everything(config.seed)
    torch.set_num_threads(1)  # small networks: one thread is fastest and keeps runs reproducible
    env = make_env()
    obs_size, n_actions = int(np.prod(env.observation_space.shape)), int(env.action_space.n)
    learner = QLearner(obs_size, n_actions, config)
    if initial_weights is not None:
        learner.q_network.load_state_dict(initial_weights)
        learner.target_network.load_state_dict(initial_weights)
    real = ReplayBuffer(config.buffer_size, obs_size)
    if config.warm_start_episodes:
        if warm_start is None:
            raise ValueError("warm_start_episodes needs a warm_start policy")
        play_into(real, env, warm_start, config.warm_start_episodes, config.warm_start_seed)
    rng = np.random.default_rng(config.seed)
    names = action_names or tuple(str(a) for a in range(n_actions))
    evaluate = evaluate or mean_return_evaluator(make_env, config.eval_episodes, config.eval_seed)

    def greedy(observation: np.ndarray) -> int:
        return int(learner.q_values(observation).argmax())

    start = time.perf_counter()
    obs, _ = env.reset(seed=config.seed)
    steps = episodes = 0
    episode_return, episode_actions, episode_q, losses = 0.0, Counter(), [], {}
    evals: list[dict] = []
    best: tuple[dict, dict] | None = None
    snapshots: list[tuple[dict, dict]] = []
    budget = config.total_steps or config.total_episodes
    bar = tqdm(total=budget, disable=not progress, unit="step" if config.total_steps else "episode")
    while True:
        progress_fraction = config.budget_progress(steps, episodes)
        epsilon = linear_schedule(
            config.start_epsilon, config.end_epsilon, config.exploration_fraction, progress_fraction
        )
        q = learner.q_values(obs)
        action = int(rng.integers(n_actions)) if rng.random() < epsilon else int(q.argmax())
        next_obs, reward, terminated, truncated, info = env.step(action)
        if not np.isfinite(next_obs).all():
            raise ValueError(f"the environment returned a non-finite observation at step {steps}: {next_obs}")
        real.add(obs, action, float(reward), next_obs, terminated)  # truncation is not an end of the MDP
        steps += 1
        episode_return += float(reward)
        episode_actions[names[action]] += 1
        episode_q.append(float(q.max()))
        obs = next_obs

        if steps > config.learning_starts and steps % config.train_frequency == 0:
            if config.end_learning_rate is not None:
                learner.set_learning_rate(
                    linear_schedule(config.learning_rate, config.end_learning_rate, 1.0, progress_fraction)
                )
            n_updates = config.gradient_steps
            if imagination is not None:
                n_updates *= imagination.after_real_step(real, learner, epsilon, rng)
            for _ in range(n_updates):
                batch = (
                    imagination.sample(real, config.batch_size, rng)
                    if imagination
                    else real.sample(config.batch_size, rng)
                )
                losses = learner.update(batch)
            if imagination is not None:
                losses.update(imagination.losses)
        if steps % config.target_update_interval == 0:
            learner.sync_target()

        if terminated or truncated:
            episodes += 1
            record = {
                "kind": "episode",
                "episode": episodes - 1,
                "real_steps": steps,
                "imagined_steps": imagination.imagined_steps if imagination else 0,
                "return": episode_return,
                "length": sum(episode_actions.values()),
                "action_counts": dict(episode_actions),
                "epsilon": epsilon,
                "losses": dict(losses),
                "q_stats": {
                    "mean": float(np.mean(episode_q)),
                    "std": float(np.std(episode_q)),
                    "min": float(np.min(episode_q)),
                    "max": float(np.max(episode_q)),
                },
            }
            record.update({key: info[key] for key in info_keys if key in info})
            for callback in callbacks:
                callback.on_episode(record)
            if config.eval_every_episodes and episodes % config.eval_every_episodes == 0:
                evaluation = {"kind": "eval", "real_episodes": episodes, "real_steps": steps, **evaluate(greedy)}
                evals.append(evaluation)
                best = keep_best(best, evaluation, learner)
                if keep_snapshots:
                    snapshots.append((evaluation, weights_of(learner)))
                for callback in callbacks:
                    callback.on_eval(evaluation)
            obs, _ = env.reset()
            episode_return, episode_actions, episode_q = 0.0, Counter(), []
            if not config.total_steps:
                bar.update(1)
        if config.total_steps:
            bar.update(1)
        if config.total_steps and steps >= config.total_steps:
            break
        if config.total_episodes and episodes >= config.total_episodes:
            break
    bar.close()
    training_seconds = time.perf_counter() - start
    final = evaluate(greedy)
    final_record = {"kind": "eval", "real_episodes": episodes, "real_steps": steps, **final}
    best = keep_best(best, final_record, learner)
    if keep_snapshots:
        snapshots.append((final_record, weights_of(learner)))
    return TrainResult(
        learner,
        steps,
        episodes,
        imagination.imagined_steps if imagination else 0,
        time.perf_counter() - start,
        training_seconds,
        final,
        evals,
        best[0],
        best[1],
        snapshots,
    )


def play_into(
    buffer: ReplayBuffer, env: gym.Env, policy: Callable[[np.ndarray], int], episodes: int, first_seed: int
) -> None:
    """`episodes` episodes of `policy` on `env` (seeded first_seed, first_seed + 1, ...), every transition into
    `buffer`."""
    for episode in range(episodes):
        obs, _ = env.reset(seed=first_seed + episode)
        done = False
        while not done:
            action = policy(obs)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            buffer.add(obs, action, float(reward), next_obs, terminated)
            obs, done = next_obs, terminated or truncated


def weights_of(learner: QLearner) -> dict:
    return {k: v.clone() for k, v in learner.q_network.state_dict().items()}


def keep_best(best: tuple[dict, dict] | None, evaluation: dict, learner: QLearner) -> tuple[dict, dict]:
    if best is None or evaluation["eval_mean_return"] > best[0]["eval_mean_return"]:
        return evaluation, weights_of(learner)
    return best


def config_dict(config: DQNConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def train_offline(
    learner: QLearner,
    real: ReplayBuffer,
    updates: int,
    rng: np.random.Generator,
    *,
    imagination: Imagination | None = None,
    epsilon: float = 0.1,
    on_progress: Callable[[int, dict[str, float]], None] | None = None,
    progress_every: int = 1000,
) -> dict[str, float]:
    """Gradient steps on a fixed buffer of logged transitions (batch RL from events).

    With an imagination, every `updates_per_real_step` updates (1, or 1 + K with planning updates) count as one
    "real step": the world model is refit on its schedule and K imagined rollouts join the imagined buffer, as
    online. The target network follows
    `target_update_interval` counted in updates. Returns the last losses.
    """
    config = learner.config
    losses: dict[str, float] = {}
    group = imagination.updates_per_real_step if imagination else 1
    for update in range(updates):
        if imagination is not None and update % group == 0:
            imagination.after_real_step(real, learner, epsilon, rng)
        batch = imagination.sample(real, config.batch_size, rng) if imagination else real.sample(config.batch_size, rng)
        losses = learner.update(batch)
        if (update + 1) % config.target_update_interval == 0:
            learner.sync_target()
        if on_progress is not None and (update + 1) % progress_every == 0:
            on_progress(update + 1, losses)
    return losses
