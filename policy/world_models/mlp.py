"""The default world model (as in DDQ): one deterministic MLP over [s, one-hot(a)] with heads for s' - s, r and end."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from policy.buffers import Batch, Histories
from policy.networks import mlp
from policy.world_models.base import Prediction, WorldModel, deterministic_losses, point_prediction


class MLPHeads(nn.Module):
    """Trunk over [s, one-hot(a)] and the three heads; also one member of the ensemble."""

    def __init__(self, obs_size: int, n_actions: int, hidden: Sequence[int], outputs: int = 1):
        super().__init__()
        self.trunk = mlp(obs_size + n_actions, hidden[:-1], hidden[-1])
        self.delta_head = nn.Linear(hidden[-1], obs_size * outputs)
        self.reward_head = nn.Linear(hidden[-1], outputs)
        self.done_head = nn.Linear(hidden[-1], 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = F.relu(self.trunk(x))
        return self.delta_head(h), self.reward_head(h), self.done_head(h).squeeze(1)


def markov_inputs(model: WorldModel, histories: Histories, actions) -> torch.Tensor:
    """[current state, one-hot(action)]: the last step of the window without its valid flag."""
    return model.inputs(histories, actions)[:, -1, :-1]


class MLPWorldModel(WorldModel):
    kind = "mlp"

    def __init__(self, obs_size: int, n_actions: int, hidden: Sequence[int] = (128, 128), lr: float = 1e-3):
        super().__init__(obs_size, n_actions, hidden=list(hidden), lr=lr)
        self.net = MLPHeads(obs_size, n_actions, hidden)
        self.make_optimizer(lr)

    def loss(self, histories: Histories, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        delta, reward, done_logit = self.net(markov_inputs(self, histories, batch.actions))
        return deterministic_losses(delta, reward.squeeze(1), done_logit, batch)

    def predict(self, histories: Histories, actions: np.ndarray) -> Prediction:
        with torch.no_grad():
            delta, reward, done_logit = self.net(markov_inputs(self, histories, actions))
        return point_prediction(histories.current, delta, reward.squeeze(1), done_logit)
