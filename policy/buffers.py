"""A circular replay buffer of (s, a, r, s', done) in numpy arrays, and the episode histories behind each transition.

History-reading world models (policy.world_models) need the steps that led to a transition, so the buffer links each
transition to the previous one of the same episode when it is added (a transition continues the last one when the
last did not end and its next observation is this one's observation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Batch:
    obs: np.ndarray  # (n, obs_size) float32
    actions: np.ndarray  # (n,) int64
    rewards: np.ndarray  # (n,) float32
    next_obs: np.ndarray  # (n, obs_size) float32
    dones: np.ndarray  # (n,) float32: 1 where the episode ended by termination (not truncation)

    def __len__(self) -> int:
        return len(self.actions)

    @staticmethod
    def concat(parts: list[Batch]) -> Batch:
        return Batch(*(np.concatenate([getattr(p, f) for p in parts]) for f in Batch.__dataclass_fields__))

    def select(self, rows: np.ndarray) -> Batch:
        return Batch(*(getattr(self, f)[rows] for f in Batch.__dataclass_fields__))


@dataclass(frozen=True)
class Histories:
    """A batch of episodes so far, right-aligned in a window of T steps: obs[:, -1] is the current state.

    actions[:, i] is the action taken at obs[:, i]; the last column is a placeholder (predictions take the action to
    evaluate separately). valid is False on the left padding of episodes shorter than the window.
    """

    obs: np.ndarray  # (n, T, obs_size) float32
    actions: np.ndarray  # (n, T) int64
    valid: np.ndarray  # (n, T) bool

    def __len__(self) -> int:
        return len(self.obs)

    @property
    def current(self) -> np.ndarray:
        return self.obs[:, -1]

    @staticmethod
    def start(obs: np.ndarray, window: int) -> Histories:
        """Episodes that have only their current state (the start of a call, or a Markov model's whole context)."""
        n, size = obs.shape
        histories = Histories(
            np.zeros((n, window, size), np.float32), np.zeros((n, window), np.int64), np.zeros((n, window), bool)
        )
        histories.obs[:, -1], histories.valid[:, -1] = obs, True
        return histories

    def advance(self, actions: np.ndarray, next_obs: np.ndarray) -> Histories:
        """The histories after taking `actions` in the current states and landing in `next_obs` (window kept)."""
        taken = self.actions.copy()
        taken[:, -1] = actions
        return Histories(
            np.concatenate([self.obs[:, 1:], next_obs[:, None].astype(np.float32)], axis=1),
            np.concatenate([taken[:, 1:], np.zeros((len(self), 1), np.int64)], axis=1),
            np.concatenate([self.valid[:, 1:], np.ones((len(self), 1), bool)], axis=1),
        )

    def select(self, rows: np.ndarray) -> Histories:
        return Histories(self.obs[rows], self.actions[rows], self.valid[rows])

    def repeat(self, times: int) -> Histories:
        """Each history `times` times in a row (for expanding every action from the same states)."""
        return Histories(*(np.repeat(a, times, axis=0) for a in (self.obs, self.actions, self.valid)))


class ReplayBuffer:
    def __init__(self, capacity: int, obs_size: int):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_size), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_size), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self.previous = np.full(capacity, -1, dtype=np.int64)  # slot of the episode's previous transition, -1: none
        self.position = 0  # next slot to write
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, done: bool) -> None:
        i = self.position
        last = (i - 1) % self.capacity
        continues = self.size > 0 and not self.dones[last] and np.array_equal(self.next_obs[last], obs)
        self.previous[i] = last if continues and self.capacity > 1 else -1
        successor = (i + 1) % self.capacity
        if self.previous[successor] == i:  # slot i is overwritten: its old successor now starts its episode
            self.previous[successor] = -1
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.dones[i] = next_obs, float(done)
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def add_batch(self, batch: Batch) -> None:
        for row in zip(batch.obs, batch.actions, batch.rewards, batch.next_obs, batch.dones, strict=True):
            self.add(*row)

    def at(self, slots: np.ndarray | slice) -> Batch:
        """The transitions in `slots` (an index array or a slice)."""
        return Batch(self.obs[slots], self.actions[slots], self.rewards[slots], self.next_obs[slots], self.dones[slots])

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n slots uniformly with replacement."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        return rng.integers(0, self.size, size=n)

    def sample(self, n: int, rng: np.random.Generator) -> Batch:
        """n transitions drawn uniformly with replacement."""
        return self.at(self._draw(n, rng))

    def all(self) -> Batch:
        return self.at(slice(0, self.size))

    def histories(self, indices: np.ndarray, window: int) -> Histories:
        """The last `window` steps of the episode up to and including each transition in `indices`."""
        n = len(indices)
        slots = np.full((n, window), -1, dtype=np.int64)
        slots[:, -1] = indices
        for column in range(window - 2, -1, -1):
            later = slots[:, column + 1]
            slots[:, column] = np.where(later >= 0, self.previous[np.maximum(later, 0)], -1)
        valid = slots >= 0
        safe = np.maximum(slots, 0)
        return Histories(
            np.where(valid[..., None], self.obs[safe], 0.0).astype(np.float32),
            np.where(valid, self.actions[safe], 0),
            valid,
        )

    def transitions(self, slots: np.ndarray, window: int) -> tuple[Histories, Batch]:
        """The transitions in `slots` with their histories."""
        return self.histories(slots, window), self.at(slots)

    def sample_histories(self, n: int, window: int, rng: np.random.Generator) -> tuple[Histories, Batch]:
        """n transitions drawn uniformly with replacement (the same draw as `sample`), with their histories."""
        return self.transitions(self._draw(n, rng), window)
