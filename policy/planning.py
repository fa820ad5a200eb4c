"""Rollouts over a learned world model: imagined experience for DDQ and decision-time planning.

- `imagine`: branched rollouts from real states, actions from the caller (DDQ's epsilon-greedy Q-network); the
  imagination horizon > 1 of DDQ training is this loop.
- `TreePlanner`: expands all actions to `depth` levels, values the leaves with the Q-network and backs up
  r + gamma * (1 - p_end) * V(child); batched level by level (9 + 81 + 729 model rows at depth 3).
- `RolloutPlanner` (model-predictive control): for each first action, rollouts of `horizon` steps that follow the
  greedy Q-network, bootstrapped with max Q at the end; `rollouts` samples averaged for stochastic models, one
  for deterministic ones.
Both fall back to the Q-network's own choice where an ensemble's members disagree more than they did on
`trust_quantile` of the held-out data (`uncertainty_fallback`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from policy.buffers import Batch, Histories
from policy.world_models import WorldModel

QFunction = Callable[[np.ndarray], np.ndarray]  # (n, obs_size) -> (n, n_actions)


def imagine(
    model: WorldModel,
    starts: Histories,
    horizon: int,
    choose: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
) -> Batch:
    """The trusted transitions of rollouts from `starts`; a rollout stops where it ends or becomes untrusted."""
    parts: list[Batch] = []
    histories = starts
    for _ in range(horizon):
        obs = histories.current
        actions = choose(obs)
        step = model.sample(histories, actions, rng)
        keep = step.trusted
        parts.append(
            Batch(
                obs[keep],
                actions[keep],
                step.rewards[keep].astype(np.float32),
                step.next_obs[keep].astype(np.float32),
                step.dones[keep].astype(np.float32),
            )
        )
        going = keep & ~step.dones
        if not going.any():
            break
        histories = histories.advance(actions, step.next_obs).select(going)
    return Batch.concat(parts)


@dataclass
class PlanResult:
    action: int
    values: np.ndarray  # the planner's value of each first action
    fell_back: bool  # the ensemble was too unsure, so the Q-network decided


class Planner:
    def __init__(
        self,
        q_function: QFunction,
        model: WorldModel,
        n_actions: int,
        gamma: float = 0.99,
        uncertainty_fallback: bool = False,
    ):
        if uncertainty_fallback and not hasattr(model, "trust_threshold"):
            raise ValueError(f"uncertainty fallback needs an ensemble world model, not {model.kind!r}")
        self.q_function, self.model, self.n_actions, self.gamma = q_function, model, n_actions, gamma
        self.uncertainty_fallback = uncertainty_fallback

    def action_values(self, history: Histories) -> np.ndarray:
        raise NotImplementedError

    def plan(self, history: Histories) -> PlanResult:
        """The best first action for one history (a batch of one)."""
        values = self.action_values(history)
        action = int(values.argmax())
        if self.uncertainty_fallback:
            root = self.model.predict(history, np.array([action]))
            if root.disagreement[0] > self.model.trust_threshold.item():
                return PlanResult(int(self.q_function(history.current)[0].argmax()), values, True)
        return PlanResult(action, values, False)

    def every_action(self, histories: Histories) -> tuple[Histories, np.ndarray]:
        """Each history once per action, and those actions."""
        return histories.repeat(self.n_actions), np.tile(np.arange(self.n_actions), len(histories))


class TreePlanner(Planner):
    def __init__(self, *args, depth: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth = depth

    def action_values(self, history: Histories) -> np.ndarray:
        levels = []  # per level: (rewards, end probabilities) of every expanded (node, action)
        frontier = history
        for _ in range(self.depth):
            expanded, actions = self.every_action(frontier)
            p = self.model.predict(expanded, actions)
            levels.append((p.reward, p.done_probability))
            frontier = expanded.advance(actions, p.next_obs)
        value = self.q_function(frontier.current).max(axis=1)
        for rewards, ends in reversed(levels):
            backed_up = rewards + self.gamma * (1.0 - ends) * value
            value = backed_up.reshape(-1, self.n_actions).max(axis=1)
        return backed_up


class RolloutPlanner(Planner):
    def __init__(self, *args, horizon: int = 3, rollouts: int = 8, seed: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        if horizon < 1 or rollouts < 1:
            raise ValueError(f"need horizon >= 1 and rollouts >= 1, got {horizon}, {rollouts}")
        self.horizon = horizon
        self.rollouts = rollouts if self.model.stochastic else 1  # a deterministic model repeats itself
        self.rng = np.random.default_rng(seed)

    def action_values(self, history: Histories) -> np.ndarray:
        histories, actions = self.every_action(history.repeat(self.rollouts))
        returns = np.zeros(len(actions))
        alive = np.ones(len(actions))
        for step in range(self.horizon):
            sampled = self.model.sample(histories, actions, self.rng)
            returns += alive * self.gamma**step * sampled.rewards
            alive *= 1.0 - sampled.dones
            histories = histories.advance(actions, sampled.next_obs)
            q = self.q_function(histories.current)
            actions = q.argmax(axis=1)
        returns += alive * self.gamma**self.horizon * q.max(axis=1)
        return returns.reshape(self.rollouts, self.n_actions).mean(axis=0)


PLANNERS = {"tree": TreePlanner, "rollout": RolloutPlanner}


def make_planner(spec: str, q_function: QFunction, model: WorldModel, n_actions: int, gamma: float) -> Planner:
    """`tree:DEPTH`, `rollout:HORIZON`, with `+fallback` for the uncertainty-aware variant (e.g. tree:2+fallback)."""
    name, _, rest = spec.partition(":")
    size, _, flag = rest.partition("+")
    if name not in PLANNERS or not size.isdigit() or flag not in ("", "fallback"):
        raise ValueError(f"unknown planner {spec!r}: use tree:DEPTH or rollout:HORIZON, optionally +fallback")
    depth_or_horizon = {"depth": int(size)} if name == "tree" else {"horizon": int(size)}
    return PLANNERS[name](
        q_function, model, n_actions, gamma=gamma, uncertainty_fallback=flag == "fallback", **depth_or_horizon
    )


class PlanningPolicy:
    """Decision-time planning for one call at a time: `act(state) -> (action, values)`, `reset()` between calls.

    It keeps the call's history for the world models that read one (window > 1); Markov models see only the state.
    """

    def __init__(self, planner: Planner):
        self.planner = planner
        self.window = planner.model.window
        self.history: Histories | None = None
        self.last_action: int | None = None
        self.fallbacks = 0

    def reset(self) -> None:
        self.history, self.last_action = None, None

    def act(self, state: np.ndarray) -> tuple[int, np.ndarray]:
        obs = np.asarray(state, dtype=np.float32)[None]
        if self.history is None or self.window == 1:
            self.history = Histories.start(obs, self.window)
        else:
            self.history = self.history.advance(np.array([self.last_action]), obs)
        result = self.planner.plan(self.history)
        self.last_action = result.action
        self.fallbacks += result.fell_back
        return result.action, result.values


def load_planning_policy(path: Path, planner_spec: str, **expected) -> PlanningPolicy:
    """A checkpoint's Q-network and world model behind a planner; `expected` is checked as for any checkpoint.
    World models are torch modules, so planning needs torch whatever the checkpoint's format."""
    import torch

    from policy.inference import GreedyPolicy, load_weights
    from policy.metadata import CheckpointError
    from policy.world_models import load_world_model

    metadata, q_state, world_state = load_weights(path, **expected)
    if metadata.world_model is None or world_state is None:
        raise CheckpointError(f"{path} carries no world model: planning needs a checkpoint trained with --algo ddq")
    if metadata.world_model.predicts != "state":
        raise CheckpointError(
            f"{path} carries a {metadata.world_model.kind!r} model of the next act, not of the next state: planning "
            "searches over a state model (--world-model mlp, ensemble, ...)"
        )
    greedy = GreedyPolicy.from_state(q_state, metadata)
    world_state = {name: torch.from_numpy(value) for name, value in world_state.items()}
    model = load_world_model(metadata.world_model, world_state, metadata.obs_size, metadata.n_actions)
    gamma = float(metadata.hyperparameters.get("gamma", 0.99))
    return PlanningPolicy(make_planner(planner_spec, greedy.q_values, model, metadata.n_actions, gamma))
