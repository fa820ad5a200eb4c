"""Networks: the Q-network (an MLP over the observation) and the layer stack it shares with the world models."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def mlp(in_size: int, hidden: Sequence[int], out_size: int, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_size, width), activation()]
        in_size = width
    layers.append(nn.Linear(in_size, out_size))
    return nn.Sequential(*layers)


class QNetwork(nn.Module):
    def __init__(self, obs_size: int, n_actions: int, hidden: Sequence[int] = (128, 128)):
        super().__init__()
        self.obs_size, self.n_actions, self.hidden = obs_size, n_actions, tuple(hidden)
        self.net = mlp(obs_size, hidden, n_actions)
        self.layers = [layer for layer in self.net if isinstance(layer, nn.Linear)]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        # The same arithmetic as self.net(obs), without a module call per layer: the learner runs this four times
        # per gradient step on tiny batches, where the calls cost as much as the matrix products.
        *hidden, last = self.layers
        for layer in hidden:
            obs = F.relu(F.linear(obs, layer.weight, layer.bias))
        return F.linear(obs, last.weight, last.bias)
