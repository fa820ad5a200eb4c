"""Checkpoint metadata: what a checkpoint must say about itself so that a mismatch is caught at load time.

Kept free of torch so that trainers, CLIs and the runtime can read and check it cheaply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CHECKPOINT_FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: missing, damaged, incomplete or with non-finite weights."""


class CheckpointMismatchError(ValueError):
    pass


class WorldModelMetadata(BaseModel):
    kind: str  # e.g. "mlp", "ensemble"
    hyperparameters: dict = Field(default_factory=dict)
    predicts: Literal["state", "act"] = "state"
    """what the model predicts: the next state vector (policy.world_models: planning can search over it) or the
    other party's next act (a domain model above policy/, e.g. the debtor model, read by the runtime)"""

    @classmethod
    def of(cls, model) -> WorldModelMetadata | None:
        """The metadata of a world model (anything with `kind` and `hyperparameters`, optionally `predicts`), None
        for no model."""
        if model is None:
            return None
        return cls(kind=model.kind, hyperparameters=model.hyperparameters, predicts=getattr(model, "predicts", "state"))


class CheckpointMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format_version: int = CHECKPOINT_FORMAT_VERSION
    algorithm: str  # "dqn" | "ddq"
    hyperparameters: dict
    obs_spec_version: str  # the state-spec version for the debtor env, "gymnasium:<id>" otherwise
    action_set_version: str
    obs_size: int = Field(ge=1)
    n_actions: int = Field(ge=1)
    world_model: WorldModelMetadata | None = None
    provenance: dict = Field(default_factory=dict)  # env, seed, steps, episodes, events used, parent checkpoint
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def spaces(self) -> dict:
        """The observation and action spaces this checkpoint declares, as `check_compatible` takes them."""
        return {key: getattr(self, key) for key in ("obs_spec_version", "action_set_version", "obs_size", "n_actions")}

    def check_compatible(
        self, *, obs_spec_version: str, action_set_version: str, obs_size: int, n_actions: int
    ) -> None:
        """Raise CheckpointMismatchError naming every field that differs from what the caller expects."""
        expected = {
            "format_version": CHECKPOINT_FORMAT_VERSION,
            "obs_spec_version": obs_spec_version,
            "action_set_version": action_set_version,
            "obs_size": obs_size,
            "n_actions": n_actions,
        }
        mismatches = [
            f"{name}: checkpoint has {getattr(self, name)!r}, expected {value!r}"
            for name, value in expected.items()
            if getattr(self, name) != value
        ]
        if mismatches:
            raise CheckpointMismatchError("checkpoint does not match: " + "; ".join(mismatches))
