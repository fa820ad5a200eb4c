"""A probabilistic world model (as in PETS): Gaussian heads for s' - s and r, trained by negative log-likelihood.

Imagination samples from the predicted Gaussians and draws the episode end from its predicted probability. The
log-variances are kept between learned soft bounds so that they neither collapse nor explode (Chua et al. 2018).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from policy.buffers import Batch, Histories
from policy.world_models.base import Imagined, Prediction, WorldModel
from policy.world_models.mlp import MLPHeads, markov_inputs


class ProbabilisticWorldModel(WorldModel):
    kind = "probabilistic"
    stochastic = True

    def __init__(self, obs_size: int, n_actions: int, hidden: Sequence[int] = (128, 128), lr: float = 1e-3):
        super().__init__(obs_size, n_actions, hidden=list(hidden), lr=lr)
        self.net = MLPHeads(obs_size, n_actions, hidden, outputs=2)
        self.max_logvar = nn.Parameter(torch.full((obs_size + 1,), 0.5))
        self.min_logvar = nn.Parameter(torch.full((obs_size + 1,), -10.0))
        self.make_optimizer(lr)

    def _gaussian(self, histories: Histories, actions) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean and log-variance of [s' - s, r] and the end logit."""
        delta, reward, done_logit = self.net(markov_inputs(self, histories, actions))
        d = self.obs_size
        mean = torch.cat([delta[:, :d], reward[:, :1]], dim=1)
        logvar = torch.cat([delta[:, d:], reward[:, 1:]], dim=1)
        logvar = self.max_logvar - F.softplus(self.max_logvar - logvar)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar, done_logit

    def loss(self, histories: Histories, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        mean, logvar, done_logit = self._gaussian(histories, batch.actions)
        obs = torch.as_tensor(batch.obs)
        target = torch.cat([torch.as_tensor(batch.next_obs) - obs, torch.as_tensor(batch.rewards)[:, None]], dim=1)
        nll = F.gaussian_nll_loss(mean, target, logvar.exp(), reduction="none")
        state_nll, reward_nll = nll[:, :-1].mean(), nll[:, -1].mean()
        done_loss = F.binary_cross_entropy_with_logits(done_logit, torch.as_tensor(batch.dones))
        bounds = 0.01 * (self.max_logvar.sum() - self.min_logvar.sum())
        return state_nll + reward_nll + done_loss + bounds, {
            "losses/world_model_state": state_nll.item(),
            "losses/world_model_reward": reward_nll.item(),
            "losses/world_model_done": done_loss.item(),
        }

    def predict(self, histories: Histories, actions: np.ndarray) -> Prediction:
        with torch.no_grad():
            mean, logvar, done_logit = self._gaussian(histories, actions)
        std = (0.5 * logvar).exp().numpy()
        mean = mean.numpy()
        return Prediction(
            histories.current + mean[:, :-1],
            mean[:, -1],
            torch.sigmoid(done_logit).numpy(),
            next_obs_std=std[:, :-1],
            reward_std=std[:, -1],
        )

    def sample(self, histories: Histories, actions: np.ndarray, rng: np.random.Generator) -> Imagined:
        p = self.predict(histories, actions)
        n = len(actions)
        next_obs = p.next_obs + p.next_obs_std * rng.standard_normal(p.next_obs.shape).astype(np.float32)
        rewards = p.reward + p.reward_std * rng.standard_normal(n).astype(np.float32)
        dones = rng.random(n) < p.done_probability
        return Imagined(next_obs.astype(np.float32), rewards.astype(np.float32), dones, np.ones(n, bool))
