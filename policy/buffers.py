"""A circular replay buffer of (s, a, r, s', done) in numpy arrays."""

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
        self.position = 0  # next slot to write
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, done: bool) -> None:
        i = self.position
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.dones[i] = next_obs, float(done)
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def add_batch(self, batch: Batch) -> None:
        for row in zip(batch.obs, batch.actions, batch.rewards, batch.next_obs, batch.dones, strict=True):
            self.add(*row)

    def sample(self, n: int, rng: np.random.Generator) -> Batch:
        """n transitions drawn uniformly with replacement."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=n)
        return Batch(self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.dones[idx])

    def all(self) -> Batch:
        s = slice(0, self.size)
        return Batch(self.obs[s], self.actions[s], self.rewards[s], self.next_obs[s], self.dones[s])
