"""What every world model shares: (history, action) -> (next state, reward, episode end), fit on a replay buffer.

A model reads the last `window` steps of the episode (1 for the Markov models); training draws transitions with
their histories from the real buffer, so one fit loop serves every kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from policy.buffers import Batch, Histories, ReplayBuffer


@dataclass(frozen=True)
class Prediction:
    """Predictive means and, where the model has them, spreads, for a batch of (history, action)."""

    next_obs: np.ndarray  # (n, obs_size)
    reward: np.ndarray  # (n,)
    done_probability: np.ndarray  # (n,)
    next_obs_std: np.ndarray | None = None  # (n, obs_size): Gaussian heads or the spread of ensemble members
    reward_std: np.ndarray | None = None  # (n,)
    disagreement: np.ndarray | None = None  # (n,): how far ensemble members disagree (epistemic uncertainty)


@dataclass(frozen=True)
class Imagined:
    """Sampled transitions; `trusted` is False where the model is too unsure to use them (ensemble filter)."""

    next_obs: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray  # bool
    trusted: np.ndarray  # bool


class WorldModel(nn.Module):
    kind: ClassVar[str]
    stochastic: ClassVar[bool] = False  # `sample` draws random numbers (so planners average several rollouts)
    window: int = 1

    def __init__(self, obs_size: int, n_actions: int, **hyperparameters):
        super().__init__()
        self.obs_size, self.n_actions = obs_size, n_actions
        self.hyperparameters = hyperparameters

    def make_optimizer(self, lr: float) -> None:
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)

    # -- to implement ---------------------------------------------------------------------------------------
    def loss(self, histories: Histories, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def predict(self, histories: Histories, actions: np.ndarray) -> Prediction:
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------------------------
    def fit(self, buffer: ReplayBuffer, updates: int, batch_size: int, rng: np.random.Generator) -> dict[str, float]:
        """`updates` minibatch steps on transitions drawn from the buffer; returns the last step's losses."""
        self.train()
        stats: dict[str, float] = {}
        for _ in range(updates):
            total, stats = self.loss(*buffer.sample_histories(batch_size, self.window, rng))
            self.optimizer.zero_grad()
            total.backward()
            self.optimizer.step()
        self.eval()
        return stats

    def sample(self, histories: Histories, actions: np.ndarray, rng: np.random.Generator) -> Imagined:
        """Imagined transitions; deterministic models return their means (and draw no random numbers)."""
        p = self.predict(histories, actions)
        return Imagined(p.next_obs, p.reward, p.done_probability > 0.5, np.ones(len(actions), bool))

    def inputs(self, histories: Histories, actions: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(n, window, obs + one-hot action + valid flag) with the action to evaluate in the last step."""
        taken = torch.as_tensor(histories.actions).clone()
        taken[:, -1] = torch.as_tensor(actions)
        valid = torch.as_tensor(histories.valid)
        return torch.cat(
            [
                torch.as_tensor(histories.obs),
                F.one_hot(taken, self.n_actions).float() * valid[..., None],
                valid[..., None].float(),
            ],
            dim=2,
        )


def deterministic_losses(
    delta: torch.Tensor, reward: torch.Tensor, done_logit: torch.Tensor, batch: Batch
) -> tuple[torch.Tensor, dict[str, float]]:
    """MSE on s' - s and r, cross-entropy on the end flag: the loss of every point-prediction model."""
    obs = torch.as_tensor(batch.obs)
    state_loss = F.mse_loss(delta, torch.as_tensor(batch.next_obs) - obs)
    reward_loss = F.mse_loss(reward, torch.as_tensor(batch.rewards))
    done_loss = F.binary_cross_entropy_with_logits(done_logit, torch.as_tensor(batch.dones))
    return state_loss + reward_loss + done_loss, {
        "losses/world_model_state": state_loss.item(),
        "losses/world_model_reward": reward_loss.item(),
        "losses/world_model_done": done_loss.item(),
    }


def point_prediction(
    obs: np.ndarray, delta: torch.Tensor, reward: torch.Tensor, done_logit: torch.Tensor
) -> Prediction:
    return Prediction(obs + delta.numpy(), reward.numpy(), torch.sigmoid(done_logit).numpy())
