"""What the agent expects to hear, at run time: a checkpoint's debtor model evaluated in numpy (no torch).

A policy trained with Deep Dyna-Q over the debtor model (`training.train --algo ddq --world-model debtor`) carries
that model in its checkpoint. For the action the agent takes, it gives the distribution over the debtor's next act
(agent_runtime.contracts.expectation), which the turn event records and the console shows beside the action values.
Only the per-turn model (the current state and action, the trainer's default) is read here: a recurrent one would need
the whole call replayed through a GRU on every turn, so such a checkpoint simply shows no expectation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.expectation import ACT_CLASSES, DEBTOR_MODEL_KIND, ExpectedReply

log = logging.getLogger(__name__)
_DIGITS = 4


class DebtorExpectation:
    def __init__(self, weights: Mapping[str, np.ndarray], model: str):
        """`weights`: the debtor model's state dict as numpy arrays (`encoder.0.*` and `heads.<part>.*`)."""
        self.model = model
        self.encoder = _linear(weights, "encoder.0")
        self.heads = {part: _linear(weights, f"heads.{part}") for part in ACT_CLASSES}
        for part, (matrix, _) in self.heads.items():
            if matrix.shape[1] != len(ACT_CLASSES[part]):
                raise ValueError(
                    f"the debtor model's {part} head has {matrix.shape[1]} classes, the contract has "
                    f"{len(ACT_CLASSES[part])}"
                )

    @classmethod
    def of_checkpoint(cls, metadata, world_weights: Mapping[str, np.ndarray] | None, model: str):
        """The expectation a checkpoint carries (policy.metadata.CheckpointMetadata and its world-model weights), or
        None where it carries no per-turn debtor model."""
        world = metadata.world_model
        if world is None or world.kind != DEBTOR_MODEL_KIND or not world_weights:
            return None
        if world.hyperparameters.get("recurrent"):
            log.info("the checkpoint's debtor model is recurrent: turns are logged without an expected reply")
            return None
        return cls(world_weights, model)

    def probabilities(self, state: np.ndarray, action: int) -> dict[str, np.ndarray]:
        """Per part of the act (ACT_CLASSES), the probability of each class after `action` in `state`."""
        one_hot = np.zeros(N_ACTIONS, np.float32)
        one_hot[action] = 1.0
        matrix, bias = self.encoder
        encoded = np.tanh(np.concatenate([np.asarray(state, np.float32), one_hot]) @ matrix + bias)
        features = np.concatenate([encoded, one_hot])
        odds = {}
        for part, (matrix, bias) in self.heads.items():
            logits = (features @ matrix + bias).astype(np.float64)
            exponentials = np.exp(logits - logits.max())
            odds[part] = exponentials / exponentials.sum()
        return odds

    def expect(self, state: np.ndarray, action: int) -> ExpectedReply:
        """The distribution over the debtor's next act after `action` in `state`, as the turn event records it."""
        parts = {
            part: {name: round(float(p), _DIGITS) for name, p in zip(ACT_CLASSES[part], odds, strict=True)}
            for part, odds in self.probabilities(state, action).items()
        }
        ends = parts.pop("ends")["ends"]
        return ExpectedReply(model=self.model, ends=ends, **parts)


def _linear(weights: Mapping[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return np.asarray(weights[f"{name}.weight"], np.float32).T.copy(), np.asarray(
            weights[f"{name}.bias"], np.float32
        )
    except KeyError as exc:
        raise ValueError(f"the debtor model's weights lack {exc.args[0]}") from None
