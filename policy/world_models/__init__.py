"""World models for Dyna-style imagination and decision-time planning: (history, a) -> (s', r, end).

`--world-model` picks one by name: mlp (the default, as in DDQ), ensemble, probabilistic, recurrent (a GRU over the
episode's history) and transformer. All share the WorldModel interface of `base`.
"""

from __future__ import annotations

from policy.metadata import WorldModelMetadata
from policy.world_models.base import Imagined, Prediction, WorldModel
from policy.world_models.ensemble import EnsembleWorldModel
from policy.world_models.mlp import MLPWorldModel
from policy.world_models.probabilistic import ProbabilisticWorldModel
from policy.world_models.sequence import RecurrentWorldModel, TransformerWorldModel

WORLD_MODELS: dict[str, type[WorldModel]] = {
    model.kind: model
    for model in (
        MLPWorldModel,
        EnsembleWorldModel,
        ProbabilisticWorldModel,
        RecurrentWorldModel,
        TransformerWorldModel,
    )
}

__all__ = ["WORLD_MODELS", "Imagined", "Prediction", "WorldModel", "load_world_model", "make_world_model"]


def make_world_model(kind: str, obs_size: int, n_actions: int, **hyperparameters) -> WorldModel:
    if kind not in WORLD_MODELS:
        raise ValueError(f"unknown world model {kind!r}; choose from {sorted(WORLD_MODELS)}")
    return WORLD_MODELS[kind](obs_size, n_actions, **hyperparameters)


def load_world_model(metadata: WorldModelMetadata, state: dict, obs_size: int, n_actions: int) -> WorldModel:
    """Rebuild a checkpoint's world model from its metadata and weights; a mismatch names the model and the cause."""
    model = make_world_model(metadata.kind, obs_size, n_actions, **metadata.hyperparameters)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"world model {metadata.kind!r} does not match its weights: {exc}") from None
    model.eval()
    return model
