"""Inference for the runtime: load a checkpoint, then `act(state) -> (action, q_values)` in numpy.

The forward pass is a few small matrix products, so it runs in numpy (microseconds, no torch threads on the
event loop). A `.safetensors` checkpoint loads without torch (policy.portable); a `.pt` one needs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from policy.metadata import CheckpointError, CheckpointMetadata
from policy.numpy_mlp import mlp_forward
from policy.portable import SUFFIX, Weights, portable_path, read_portable


class InvalidObservationError(ValueError):
    pass


def load_weights(path: Path, **expected) -> tuple[CheckpointMetadata, Weights, Weights | None]:
    """(metadata, Q-network weights, world-model weights or None) as numpy arrays, from a `.safetensors` file
    (numpy only) or a `.pt` checkpoint (needs torch); `expected` goes to `check_compatible`. Either refuses weights
    with NaN or inf."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    if path.suffix == SUFFIX:
        metadata, q_network, world_model = read_portable(path)
        if expected:
            metadata.check_compatible(**expected)
        return metadata, q_network, world_model
    try:
        from policy.checkpoint import load_checkpoint
    except ModuleNotFoundError as exc:
        raise CheckpointError(
            f"{path} is a torch checkpoint and torch is not installed ({exc}); load {portable_path(path)} instead"
        ) from None
    metadata, q_state, world_state = load_checkpoint(path, **expected)
    world_model = {name: value.numpy() for name, value in world_state.items()} if world_state else None
    return metadata, {name: value.numpy() for name, value in q_state.items()}, world_model


class GreedyPolicy:
    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]], metadata: CheckpointMetadata):
        self.layers = layers
        self.metadata = metadata
        self.obs_size = metadata.obs_size

    @classmethod
    def load(
        cls, path: Path, *, obs_spec_version: str, action_set_version: str, obs_size: int, n_actions: int
    ) -> GreedyPolicy:
        metadata, q_state, _ = load_weights(
            path,
            obs_spec_version=obs_spec_version,
            action_set_version=action_set_version,
            obs_size=obs_size,
            n_actions=n_actions,
        )
        return cls.from_state(q_state, metadata)

    @classmethod
    def from_state(cls, q_state: dict, metadata: CheckpointMetadata) -> GreedyPolicy:
        """From a Q-network state dict (numpy arrays or CPU tensors) of linear layers `net.<i>.weight/bias`."""
        weights = sorted(k for k in q_state if k.endswith(".weight"))
        weights.sort(key=lambda k: int(k.split(".")[-2]))
        layers = [
            (np.asarray(q_state[k], dtype=np.float32).T.copy(), np.asarray(q_state[k[:-6] + "bias"], dtype=np.float32))
            for k in weights
        ]
        return cls(layers, metadata)

    def reset(self) -> None:
        """A greedy Q-network keeps nothing between decisions; here for the per-call policy interface."""

    def q_values(self, state: np.ndarray) -> np.ndarray:
        """Q-values of one state (obs_size,) or of a batch (n, obs_size)."""
        x = np.asarray(state, dtype=np.float32)
        if x.ndim not in (1, 2) or x.shape[-1] != self.obs_size:
            raise InvalidObservationError(f"observation has shape {x.shape}, the policy expects ({self.obs_size},)")
        if not np.isfinite(x).all():
            bad = np.flatnonzero(~np.isfinite(x)).tolist()
            raise InvalidObservationError(f"observation has NaN or inf at positions {bad}")
        return mlp_forward(self.layers, x)

    def act(self, state: np.ndarray) -> tuple[int, np.ndarray]:
        q = self.q_values(state)
        return int(q.argmax()), q
