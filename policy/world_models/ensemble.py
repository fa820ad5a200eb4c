"""An ensemble of deterministic MLP world models with MBPO-style elites and a disagreement filter.

Each member trains on its own minibatches drawn from the non-held-out transitions (every tenth buffer slot is held
out); after each fit the `elites` members with the lowest held-out loss are kept for prediction (Janner et al. 2019).
Imagination draws each transition from one random elite, as MBPO does, and marks it untrusted where the elites
disagree more than they did on `trust_quantile` of the held-out transitions: imagined experience is kept only
where the model has seen similar data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from policy.buffers import Batch, Histories, ReplayBuffer
from policy.world_models.base import Imagined, Prediction, WorldModel, deterministic_losses
from policy.world_models.mlp import MLPHeads, markov_inputs

HOLDOUT_EVERY = 10
HOLDOUT_SIZE = 1000


def training_slots(j: np.ndarray) -> np.ndarray:
    """Map 0, 1, 2, ... onto the buffer slots that are not held out (slots 1..9, 11..19, ...)."""
    return j + j // (HOLDOUT_EVERY - 1) + 1


class EnsembleWorldModel(WorldModel):
    kind = "ensemble"
    stochastic = True

    def __init__(
        self,
        obs_size: int,
        n_actions: int,
        hidden: Sequence[int] = (128, 128),
        lr: float = 1e-3,
        members: int = 5,
        elites: int = 3,
        trust_quantile: float = 0.9,
    ):
        if not 1 <= elites <= members:
            raise ValueError(f"need 1 <= elites <= members, got elites={elites}, members={members}")
        super().__init__(
            obs_size,
            n_actions,
            hidden=list(hidden),
            lr=lr,
            members=members,
            elites=elites,
            trust_quantile=trust_quantile,
        )
        self.members = nn.ModuleList(MLPHeads(obs_size, n_actions, hidden) for _ in range(members))
        self.register_buffer("elite_index", torch.arange(elites))
        self.register_buffer("trust_threshold", torch.tensor(float("inf")))
        self.make_optimizer(lr)

    def _member_outputs(self, x: torch.Tensor, members: Sequence[int]) -> tuple[torch.Tensor, ...]:
        """Stacked (member, n, ...) deltas, rewards and end logits."""
        outputs = [self.members[m](x) for m in members]
        return tuple(torch.stack([o[i] for o in outputs]) for i in range(3))

    def loss(self, histories: Histories, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Each member's loss on its own share of the batch (bootstrap-style independent minibatches)."""
        x = markov_inputs(self, histories, batch.actions)
        shares = np.array_split(np.arange(len(batch)), len(self.members))
        totals, stats = [], []
        for member, rows in zip(self.members, shares, strict=True):
            delta, reward, done_logit = member(x[rows])
            total, member_stats = deterministic_losses(delta, reward.squeeze(1), done_logit, batch.select(rows))
            totals.append(total)
            stats.append(member_stats)
        return torch.stack(totals).sum(), {k: float(np.mean([s[k] for s in stats])) for k in stats[0]}

    def fit(self, buffer: ReplayBuffer, updates: int, batch_size: int, rng: np.random.Generator) -> dict[str, float]:
        if len(buffer) < 2 * HOLDOUT_EVERY:  # too little data to hold any out: train on everything
            return super().fit(buffer, updates, batch_size * len(self.members), rng)
        trainable = len(buffer) - (len(buffer) + HOLDOUT_EVERY - 1) // HOLDOUT_EVERY
        self.train()
        stats: dict[str, float] = {}
        for _ in range(updates):
            slots = training_slots(rng.integers(0, trainable, size=batch_size * len(self.members)))
            total, stats = self.loss(*buffer.transitions(slots, self.window))
            self.optimizer.zero_grad()
            total.backward()
            self.optimizer.step()
        self.eval()
        self._choose_elites(buffer, rng)
        return stats

    def _choose_elites(self, buffer: ReplayBuffer, rng: np.random.Generator) -> None:
        held_out = np.arange(0, len(buffer), HOLDOUT_EVERY)
        if len(held_out) > HOLDOUT_SIZE:
            held_out = np.sort(rng.choice(held_out, HOLDOUT_SIZE, replace=False))
        histories, batch = buffer.transitions(held_out, self.window)
        with torch.no_grad():
            x = markov_inputs(self, histories, batch.actions)
            losses = [deterministic_losses(*_squeeze(member(x)), batch)[0].item() for member in self.members]
        self.elite_index = torch.as_tensor(np.argsort(losses, kind="stable")[: len(self.elite_index)])
        disagreement = self.predict(histories, batch.actions).disagreement
        self.trust_threshold = torch.tensor(float(np.quantile(disagreement, self.hyperparameters["trust_quantile"])))

    def _elite_predictions(self, histories: Histories, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        """Each elite's next states (elite, n, obs), rewards and end logits (elite, n), and their disagreement (n,)."""
        with torch.no_grad():
            deltas, rewards, done_logits = self._member_outputs(
                markov_inputs(self, histories, actions), self.elite_index.tolist()
            )
        next_obs = histories.current[None] + deltas.numpy()
        rewards = rewards.squeeze(2).numpy()
        disagreement = next_obs.std(axis=0).mean(axis=1) + rewards.std(axis=0)
        return next_obs, rewards, done_logits.numpy(), disagreement

    def predict(self, histories: Histories, actions: np.ndarray) -> Prediction:
        next_obs, rewards, done_logits, disagreement = self._elite_predictions(histories, actions)
        return Prediction(
            next_obs.mean(axis=0),
            rewards.mean(axis=0),
            torch.sigmoid(torch.as_tensor(done_logits)).mean(dim=0).numpy(),
            next_obs_std=next_obs.std(axis=0),
            reward_std=rewards.std(axis=0),
            disagreement=disagreement,
        )

    def sample(self, histories: Histories, actions: np.ndarray, rng: np.random.Generator) -> Imagined:
        """One random elite per transition (MBPO); untrusted where the elites disagree too much."""
        next_obs, rewards, done_logits, disagreement = self._elite_predictions(histories, actions)
        pick, rows = rng.integers(0, len(self.elite_index), size=len(actions)), np.arange(len(actions))
        return Imagined(
            next_obs[pick, rows],
            rewards[pick, rows],
            done_logits[pick, rows] > 0,
            disagreement <= self.trust_threshold.item(),
        )


def _squeeze(outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    delta, reward, done_logit = outputs
    return delta, reward.squeeze(1), done_logit
