"""World models for Dyna-style planning: (s, a) -> (s', r, done), learned from real transitions.

`--world-model mlp` is the default; further kinds register in WORLD_MODELS under the same interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from policy.buffers import Batch
from policy.networks import mlp


class WorldModel(Protocol):
    def fit(self, data: Batch, updates: int, batch_size: int, rng: np.random.Generator) -> dict[str, float]: ...
    def predict(self, obs: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...


class MLPWorldModel(nn.Module):
    """One deterministic MLP (as in DDQ): shared trunk over [s, onehot(a)], heads for s' - s, r and done."""

    kind = "mlp"

    def __init__(self, obs_size: int, n_actions: int, hidden: Sequence[int] = (128, 128), lr: float = 1e-3):
        super().__init__()
        self.obs_size, self.n_actions = obs_size, n_actions
        self.hyperparameters = {"hidden": list(hidden), "lr": lr}
        self.trunk = mlp(obs_size + n_actions, hidden[:-1], hidden[-1])
        self.delta_head = nn.Linear(hidden[-1], obs_size)
        self.reward_head = nn.Linear(hidden[-1], 1)
        self.done_head = nn.Linear(hidden[-1], 1)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)

    def _heads(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = F.relu(self.trunk(torch.cat([obs, F.one_hot(actions, self.n_actions).float()], dim=1)))
        return self.delta_head(h), self.reward_head(h).squeeze(1), self.done_head(h).squeeze(1)

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        obs, next_obs = torch.as_tensor(batch.obs), torch.as_tensor(batch.next_obs)
        delta, reward, done_logit = self._heads(obs, torch.as_tensor(batch.actions))
        state_loss = F.mse_loss(delta, next_obs - obs)
        reward_loss = F.mse_loss(reward, torch.as_tensor(batch.rewards))
        done_loss = F.binary_cross_entropy_with_logits(done_logit, torch.as_tensor(batch.dones))
        total = state_loss + reward_loss + done_loss
        return total, {
            "losses/world_model_state": state_loss.item(),
            "losses/world_model_reward": reward_loss.item(),
            "losses/world_model_done": done_loss.item(),
        }

    def fit(self, data: Batch, updates: int, batch_size: int, rng: np.random.Generator) -> dict[str, float]:
        stats: dict[str, float] = {}
        for _ in range(updates):
            idx = rng.integers(0, len(data), size=batch_size)
            total, stats = self.loss(Batch(*(getattr(data, f)[idx] for f in Batch.__dataclass_fields__)))
            self.optimizer.zero_grad()
            total.backward()
            self.optimizer.step()
        return stats

    def predict(self, obs: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Next observations, rewards and done flags (bool) for a batch of (s, a)."""
        with torch.no_grad():
            o = torch.as_tensor(obs, dtype=torch.float32)
            delta, reward, done_logit = self._heads(o, torch.as_tensor(actions, dtype=torch.int64))
            return (o + delta).numpy(), reward.numpy(), (done_logit > 0).numpy()


WORLD_MODELS: dict[str, type] = {"mlp": MLPWorldModel}


def make_world_model(kind: str, obs_size: int, n_actions: int, **hyperparameters) -> MLPWorldModel:
    if kind not in WORLD_MODELS:
        raise ValueError(f"unknown world model {kind!r}; choose from {sorted(WORLD_MODELS)}")
    return WORLD_MODELS[kind](obs_size, n_actions, **hyperparameters)
