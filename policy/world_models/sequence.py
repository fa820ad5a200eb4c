"""World models that read the episode's history: a GRU and a small transformer over the last `window` steps.

Each step is [s, one-hot(a), valid]; the encoder's output at the last step (the current state with the action to
evaluate) feeds the same three heads as the MLP. Histories are right-aligned, so padding comes before an episode's
first step: the GRU runs over the valid steps only (packed sequences), the transformer masks the padding out of
attention, and window columns that are padding in every row are cut before encoding (exactly the same result,
and planning early in a call encodes a few steps instead of the whole window).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from policy.buffers import Batch, Histories
from policy.world_models.base import Prediction, WorldModel, deterministic_losses, point_prediction


class SequenceWorldModel(WorldModel):
    def __init__(self, obs_size: int, n_actions: int, hidden: Sequence[int], lr: float, window: int, **extra):
        super().__init__(obs_size, n_actions, hidden=list(hidden), lr=lr, window=window, **extra)
        self.window = window
        width = hidden[-1]
        self.embed = nn.Linear(obs_size + n_actions + 1, width)
        self.delta_head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, obs_size))
        self.reward_head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))
        self.done_head = nn.Linear(width, 1)

    def encode(self, steps: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """(n, window, width) embedded steps -> (n, width) summary at the last step."""
        raise NotImplementedError

    def _heads(self, histories: Histories, actions) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        valid = torch.as_tensor(histories.valid)
        first = int(valid.any(dim=0).to(torch.int8).argmax())  # columns before it are padding in every row
        steps = F.relu(self.embed(self.inputs(histories, actions)[:, first:]))
        h = self.encode(steps, valid[:, first:])
        return self.delta_head(h), self.reward_head(h).squeeze(1), self.done_head(h).squeeze(1)

    def loss(self, histories: Histories, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        return deterministic_losses(*self._heads(histories, batch.actions), batch)

    def predict(self, histories: Histories, actions: np.ndarray) -> Prediction:
        with torch.no_grad():
            return point_prediction(histories.current, *self._heads(histories, actions))


class RecurrentWorldModel(SequenceWorldModel):
    kind = "recurrent"

    def __init__(
        self, obs_size: int, n_actions: int, hidden: Sequence[int] = (128, 128), lr: float = 1e-3, window: int = 16
    ):
        super().__init__(obs_size, n_actions, hidden, lr, window)
        self.gru = nn.GRU(hidden[-1], hidden[-1], batch_first=True)
        self.make_optimizer(lr)

    def encode(self, steps: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """The GRU's state after each row's valid steps (left-aligned and packed, so padding is never read)."""
        lengths = valid.sum(dim=1)
        width = steps.shape[1]
        shift = (torch.arange(width)[None, :] + (width - lengths)[:, None]) % width
        left_aligned = steps.gather(1, shift[..., None].expand_as(steps))
        packed = nn.utils.rnn.pack_padded_sequence(left_aligned, lengths, batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed)
        return last[-1]


class TransformerWorldModel(SequenceWorldModel):
    kind = "transformer"

    def __init__(
        self,
        obs_size: int,
        n_actions: int,
        hidden: Sequence[int] = (64, 64),
        lr: float = 1e-3,
        window: int = 16,
        layers: int = 2,
        heads: int = 4,
    ):
        super().__init__(obs_size, n_actions, hidden, lr, window, layers=layers, heads=heads)
        width = hidden[-1]
        self.position = nn.Parameter(torch.zeros(window, width))
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.make_optimizer(lr)

    def encode(self, steps: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        position = self.position[self.window - steps.shape[1] :]  # right-aligned, as the histories are
        return self.encoder(steps + position, src_key_padding_mask=~valid)[:, -1]
