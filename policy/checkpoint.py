"""Checkpoints: the Q-network's weights (and the world model's, where one is used) plus their metadata.

Loading a corrupt file, one with NaN or inf weights or one that does not match what the caller expects fails with a
message naming the problem; nothing is half-loaded. Every save also writes the torch-free copy of `policy.portable`
beside the `.pt` file, which is what a runtime without torch loads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import torch
from pydantic import ValidationError

from policy.metadata import CheckpointError, CheckpointMetadata, CheckpointMismatchError
from policy.portable import portable_path, require_finite, write_portable

__all__ = ["CheckpointError", "CheckpointMismatchError", "average_checkpoints", "load_checkpoint", "save_checkpoint"]


def _numpy(state: dict) -> dict:
    return {name: value.detach().cpu().numpy() for name, value in state.items()}


def save_checkpoint(path: Path, metadata: CheckpointMetadata, q_network: dict, world_model: dict | None = None) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves a truncated checkpoint behind; the portable
    copy is written first, so a `.pt` file always has its `.safetensors` twin."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"metadata": metadata.model_dump(mode="json"), "q_network": q_network}
    if world_model is not None:
        payload["world_model"] = world_model
    write_portable(portable_path(path), metadata, _numpy(q_network), _numpy(world_model) if world_model else None)
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
    require_finite(_numpy(payload["q_network"]), path, "q_network")
    if payload.get("world_model"):
        require_finite(_numpy(payload["world_model"]), path, "world_model")
    return metadata, payload["q_network"], payload.get("world_model")


def average_checkpoints(paths: Sequence[Path], out: Path) -> Path:
    """Weight averaging (as in SWA, Izmailov et al. 2018): write the element-wise mean of the Q-networks of
    `paths`, which must declare the same spaces and sizes.

    Snapshots of one low-learning-rate run lie in one basin; their mean estimates Q with less noise than any one of
    them, which is what decides near-tied actions. The metadata and world model are the last path's; the
    provenance names every source.
    """
    if not paths:
        raise CheckpointError("no checkpoints to average")
    metadata, _, world_model = load_checkpoint(paths[-1])
    states = [load_checkpoint(path, **metadata.spaces())[1] for path in paths]
    if any(state.keys() != states[0].keys() for state in states) or any(
        state[key].shape != states[0][key].shape for state in states for key in state
    ):
        raise CheckpointMismatchError("checkpoints to average have different network sizes")
    average = {key: torch.stack([state[key].float() for state in states]).mean(dim=0) for key in states[0]}
    metadata = metadata.model_copy(deep=True)
    metadata.provenance.update(selected_by="weight average", averaged_from=[str(path) for path in paths])
    return save_checkpoint(out, metadata, average, world_model)
