"""Checkpoints: the Q-network's weights (and the world model's, where one is used) plus their metadata.

Loading a corrupt file or one that does not match what the caller expects fails with a message naming the
problem; nothing is half-loaded.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch
from pydantic import ValidationError

from policy.metadata import CheckpointMetadata, CheckpointMismatchError

__all__ = ["CheckpointError", "CheckpointMismatchError", "load_checkpoint", "save_checkpoint"]


class CheckpointError(ValueError):
    pass


def save_checkpoint(path: Path, metadata: CheckpointMetadata, q_network: dict, world_model: dict | None = None) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves a truncated checkpoint behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"metadata": metadata.model_dump(mode="json"), "q_network": q_network}
    if world_model is not None:
        payload["world_model"] = world_model
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)
    return path


def load_checkpoint(path: Path, **expected) -> tuple[CheckpointMetadata, dict, dict | None]:
    """(metadata, q_network state, world_model state or None); `expected` goes to check_compatible."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or "metadata" not in payload or "q_network" not in payload:
        raise CheckpointError(f"{path} lacks metadata or q_network weights")
    try:
        metadata = CheckpointMetadata.model_validate(payload["metadata"])
    except ValidationError as exc:
        raise CheckpointError(f"{path} has invalid metadata: {exc.errors()[0]['msg']}") from None
    if expected:
        metadata.check_compatible(**expected)
    return metadata, payload["q_network"], payload.get("world_model")
