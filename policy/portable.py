"""Checkpoints without torch: safetensors files that a runtime can load with numpy alone.

`policy.checkpoint.save_checkpoint` writes one beside every `.pt` checkpoint (same name, `.safetensors`). The tensors
are the Q-network's (`q_network.<name>`) and, where one was trained, the world model's (`world_model.<name>`); the
checkpoint's metadata travels as JSON in the file's header, so a mismatch is caught at load as for a `.pt` file.
Both readers refuse weights that contain NaN or inf: such a network acts as a constant policy, which nothing
downstream could tell from a trained one. `policy.inference.load_weights` reads either kind.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from pydantic import ValidationError
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from policy.metadata import CheckpointError, CheckpointMetadata

SUFFIX = ".safetensors"
_METADATA_KEY = "checkpoint_metadata"
_PARTS = ("q_network", "world_model")

Weights = dict[str, np.ndarray]


def portable_path(path: Path) -> Path:
    return Path(path).with_suffix(SUFFIX)


def require_finite(weights: Mapping[str, np.ndarray], path: Path, part: str) -> None:
    bad = [name for name, value in weights.items() if not np.isfinite(np.asarray(value, dtype=np.float64)).all()]
    if bad:
        raise CheckpointError(f"{path}: the {part} weights contain NaN or inf ({', '.join(sorted(bad))}); refusing it")


def write_portable(
    path: Path, metadata: CheckpointMetadata, q_network: Mapping[str, np.ndarray], world_model: Mapping | None = None
) -> Path:
    """Write atomically (temp file + rename), like the `.pt` checkpoint it stands beside."""
    path = Path(path)
    tensors = {f"q_network.{name}": np.ascontiguousarray(value) for name, value in q_network.items()}
    for name, value in (world_model or {}).items():
        tensors[f"world_model.{name}"] = np.ascontiguousarray(value)
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(tensors, tmp, metadata={_METADATA_KEY: metadata.model_dump_json()})
    tmp.chmod(0o644)  # safetensors creates it private; a checkpoint is shipped and read by other users
    tmp.replace(path)
    return path


def read_portable(path: Path) -> tuple[CheckpointMetadata, Weights, Weights | None]:
    try:
        tensors = load_file(path)
        with safe_open(path, framework="numpy") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors checkpoint ({exc})") from None
    if _METADATA_KEY not in header:
        raise CheckpointError(f"{path} carries no checkpoint metadata in its header")
    try:
        metadata = CheckpointMetadata.model_validate(json.loads(header[_METADATA_KEY]))
    except (ValidationError, ValueError) as exc:
        raise CheckpointError(f"{path} has invalid metadata: {exc}") from None
    parts: dict[str, Weights] = {part: {} for part in _PARTS}
    for name, value in tensors.items():
        part, _, key = name.partition(".")
        if part not in parts:
            raise CheckpointError(f"{path} holds an unexpected tensor {name!r}")
        parts[part][key] = value
    if not parts["q_network"]:
        raise CheckpointError(f"{path} lacks q_network weights")
    for part, weights in parts.items():
        require_finite(weights, path, part)
    return metadata, parts["q_network"], parts["world_model"] or None
