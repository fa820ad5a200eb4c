"""What the agent expects to hear, at run time: a checkpoint's debtor model evaluated in numpy (no torch).

A policy trained with Deep Dyna-Q over the debtor model (`training.train --algo ddq --world-model debtor`) carries
that model in its checkpoint. For the action the agent takes, it gives the distribution over the debtor's next act
(agent_runtime.contracts.expectation), which the turn event records and the console shows beside the action values.
Only the per-turn model (the current state and action, the trainer's default) is read here: a recurrent one would need
the whole call replayed through a GRU on every turn, so such a checkpoint simply shows no expectation. A mixture of
kinds of debtor (`components`) is read with a belief per call (`DebtorBelief`): the kinds weighted by Bayes' rule on
what the debtor has said so far.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.expectation import ACT_CLASSES, DEBTOR_MODEL_KIND, ExpectedReply, act_labels
from agent_runtime.engine import DialogueEngine

log = logging.getLogger(__name__)
_DIGITS = 4


class DebtorExpectation:
    def __init__(self, weights: Mapping[str, np.ndarray], model: str):
        """`weights`: the debtor model's state dict as numpy arrays (`encoder.0.*`, `heads.<part>.*` and, for a
        mixture of kinds of debtor, `prior`)."""
        self.model = model
        self.encoder = _linear(weights, "encoder.0")
        self.log_prior = _log_softmax(np.asarray(weights.get("prior", np.zeros(1)), np.float64))
        self.components = len(self.log_prior)
        self.heads = {part: _linear(weights, f"heads.{part}") for part in ACT_CLASSES}
        for part, (matrix, _) in self.heads.items():
            if matrix.shape[1] != len(ACT_CLASSES[part]) * self.components:
                raise ValueError(
                    f"the debtor model's {part} head has {matrix.shape[1]} outputs, the contract has "
                    f"{len(ACT_CLASSES[part])} classes for each of its {self.components} kinds of debtor"
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

    def log_probabilities(self, state: np.ndarray, action: int) -> dict[str, np.ndarray]:
        """Per part of the act (ACT_CLASSES), (kinds of debtor, classes): the log-probability of each class after
        `action` in `state`."""
        one_hot = np.zeros(N_ACTIONS, np.float32)
        one_hot[action] = 1.0
        matrix, bias = self.encoder
        encoded = np.tanh(np.concatenate([np.asarray(state, np.float32), one_hot]) @ matrix + bias)
        features = np.concatenate([encoded, one_hot])
        odds = {}
        for part, (matrix, bias) in self.heads.items():
            odds[part] = _log_softmax((features @ matrix + bias).astype(np.float64).reshape(self.components, -1))
        return odds

    def probabilities(
        self, state: np.ndarray, action: int, belief: DebtorBelief | None = None
    ) -> dict[str, np.ndarray]:
        """Per part of the act, the probability of each class after `action` in `state`: the kinds of debtor
        weighted by the call's `belief` (without one, by how common each kind is)."""
        weights = np.exp(self.log_prior if belief is None else belief.log_weights)
        return {part: weights @ np.exp(values) for part, values in self.log_probabilities(state, action).items()}

    def expect(self, state: np.ndarray, action: int, belief: DebtorBelief | None = None) -> ExpectedReply:
        """The distribution over the debtor's next act after `action` in `state`, as the turn event records it."""
        parts = {
            part: {name: round(float(p), _DIGITS) for name, p in zip(ACT_CLASSES[part], odds, strict=True)}
            for part, odds in self.probabilities(state, action, belief).items()
        }
        ends = parts.pop("ends")["ends"]
        return ExpectedReply(model=self.model, ends=ends, **parts)


class DebtorBelief:
    """What one call has shown of its debtor: the log-weights of the model's kinds of debtor, by Bayes' rule on each
    reply to the agent's turns so far. `turn` before the engine acts, `update` once the reply has been read."""

    def __init__(self, expectation: DebtorExpectation):
        self.expectation = expectation
        self.log_weights = expectation.log_prior.copy()
        self._turn: tuple[np.ndarray, int, int, int, float] | None = None

    def turn(self, state: np.ndarray, action: int, engine: DialogueEngine) -> None:
        """The agent's turn about to be taken in `engine`: its reply is weighed at the next `update`."""
        history = engine.history
        sentiment = history.readings[-1].sentiment if history.readings else 0.0
        self._turn = (state, action, len(history.readings), len(history.offers), sentiment)

    def update(self, engine: DialogueEngine) -> None:
        """Weigh the reply to the last turn, as `engine` read it (nothing to do before the first turn)."""
        if self._turn is None or self.expectation.components == 1:
            return
        state, action, readings, offers, sentiment = self._turn
        self._turn, history = None, engine.history
        reading = history.readings[-1] if len(history.readings) > readings else None
        terms = history.offers[-1] if len(history.offers) > offers else None
        act = act_labels(reading, sentiment, terms, engine.facts.balance, engine.ended)
        odds = self.expectation.log_probabilities(state, action)
        self.log_weights = _log_softmax(self.log_weights + sum(odds[part][:, act[part]] for part in odds))


def _log_softmax(values: np.ndarray) -> np.ndarray:
    """Log-probabilities from log-weights along the last axis."""
    shifted = values - values.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _linear(weights: Mapping[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return np.asarray(weights[f"{name}.weight"], np.float32).T.copy(), np.asarray(
            weights[f"{name}.bias"], np.float32
        )
    except KeyError as exc:
        raise ValueError(f"the debtor model's weights lack {exc.args[0]}") from None
