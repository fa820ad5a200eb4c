"""Write the torch-free twin of checkpoints: `python -m training.export CHECKPOINT.pt [...]`.

Training writes `X.safetensors` beside every `X.pt` it saves (policy.checkpoint); this makes one for a `.pt` file
from before that, such as a committed checkpoint. The runtime loads the `.safetensors` file with numpy alone.
"""

from __future__ import annotations

from pathlib import Path

import tyro

from policy.checkpoint import load_checkpoint
from policy.inference import load_weights
from policy.portable import portable_path, write_portable


def export(path: Path) -> Path:
    metadata, q_network, world_model = load_checkpoint(path)
    numpy = {name: value.numpy() for name, value in q_network.items()}
    world = {name: value.numpy() for name, value in world_model.items()} if world_model else None
    out = write_portable(portable_path(path), metadata, numpy, world)
    load_weights(out, **metadata.spaces())  # read back: same metadata, finite weights
    return out


def main(checkpoints: tyro.conf.Positional[list[Path]]) -> None:
    for path in checkpoints:
        print(f"{path} -> {export(path)}")


if __name__ == "__main__":
    tyro.cli(main)
