"""A ReLU MLP's forward pass in numpy: the runtime's policy (no torch) and the learner's action choice use it."""

from __future__ import annotations

import numpy as np


def mlp_forward(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """The output for layers of (weight as (in, out), bias), ReLU between them."""
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return x
