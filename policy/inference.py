"""Inference for the runtime: load a checkpoint, then `act(state) -> (action, q_values)` in numpy.

The forward pass is a few small matrix products, so it runs in numpy (microseconds, no torch threads on the
event loop); torch is only needed to read the checkpoint file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from policy.metadata import CheckpointMetadata


class InvalidObservationError(ValueError):
    pass


class GreedyPolicy:
    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]], metadata: CheckpointMetadata):
        self.layers = layers
        self.metadata = metadata
        self.obs_size = metadata.obs_size

    @classmethod
    def load(
        cls, path: Path, *, obs_spec_version: str, action_set_version: str, obs_size: int, n_actions: int
    ) -> GreedyPolicy:
        from policy.checkpoint import load_checkpoint

        metadata, q_state, _ = load_checkpoint(
            path,
            obs_spec_version=obs_spec_version,
            action_set_version=action_set_version,
            obs_size=obs_size,
            n_actions=n_actions,
        )
        return cls.from_state(q_state, metadata)

    @classmethod
    def from_state(cls, q_state: dict, metadata: CheckpointMetadata) -> GreedyPolicy:
        weights = sorted(k for k in q_state if k.endswith(".weight"))
        weights.sort(key=lambda k: int(k.split(".")[-2]))
        layers = [
            (q_state[k].numpy().T.astype(np.float32), q_state[k[:-6] + "bias"].numpy().astype(np.float32))
            for k in weights
        ]
        return cls(layers, metadata)

    def q_values(self, state: np.ndarray) -> np.ndarray:
        """Q-values of one state (obs_size,) or of a batch (n, obs_size)."""
        x = np.asarray(state, dtype=np.float32)
        if x.ndim not in (1, 2) or x.shape[-1] != self.obs_size:
            raise InvalidObservationError(f"observation has shape {x.shape}, the policy expects ({self.obs_size},)")
        if not np.isfinite(x).all():
            bad = np.flatnonzero(~np.isfinite(x)).tolist()
            raise InvalidObservationError(f"observation has NaN or inf at positions {bad}")
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return x

    def act(self, state: np.ndarray) -> tuple[int, np.ndarray]:
        q = self.q_values(state)
        return int(q.argmax()), q
