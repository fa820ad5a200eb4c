"""A linear intent classifier over word unigrams and bigrams, scored with numpy alone, with a second opinion.

Weights live in `intent_model.npz` beside this file; `make dst-model` trains them (scikit-learn's logistic
regression) from `data/dst/train*.jsonl` plus the simulator's debtor templates. The held-out sets in
`data/dst/heldout*.jsonl` never enter training.

A model may carry a second head over the sentence encoder's embedding (`agent_runtime.dst.encoder`), trained on the
same utterances. It is asked only when the n-gram head is unsure (its best intent under `ENCODER_GATE`), and then
the two heads' probabilities are multiplied and renormalised. The simulator's lines never reach it (the n-gram head
knows them all), so training and the simulator keep their speed; human wording does, about a fifth of it. On the
first held-out set the gate keeps nearly all of the second head's gain at 0.8 (`docs/experiments.md`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from agent_runtime.contracts.dst import INTENTS, Intent
from agent_runtime.dst.encoder import DIMENSIONS, SentenceEncoder, default_encoder

MODEL_PATH = Path(__file__).with_name("intent_model.npz")
ENCODER_GATE = 0.8


class IntentModelError(RuntimeError):
    pass


@dataclass(frozen=True)
class EmbeddingHead:
    """Logistic regression over the sentence encoder's embedding: scores = intercept + embedding @ coef."""

    coef: np.ndarray  # (DIMENSIONS, classes)
    intercept: np.ndarray  # (classes,)


class IntentClassifier:
    def __init__(
        self,
        vocabulary: list[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: list[str],
        embedding_head: EmbeddingHead | None = None,
        encoder: Callable[[], SentenceEncoder] = default_encoder,
        encoder_gate: float = ENCODER_GATE,
    ):
        if coef.shape != (len(vocabulary), len(classes)) or intercept.shape != (len(classes),):
            raise IntentModelError(
                f"intent model shapes disagree: coef {coef.shape}, intercept {intercept.shape}, "
                f"{len(vocabulary)} features, {len(classes)} classes"
            )
        if embedding_head is not None and (
            embedding_head.coef.shape != (DIMENSIONS, len(classes)) or embedding_head.intercept.shape != (len(classes),)
        ):
            raise IntentModelError(
                f"intent model's embedding head has coef {embedding_head.coef.shape} and intercept "
                f"{embedding_head.intercept.shape}, expected ({DIMENSIONS}, {len(classes)}) and ({len(classes)},)"
            )
        unknown = set(classes) - {i.value for i in INTENTS}
        if unknown:
            raise IntentModelError(f"intent model has classes outside the contract: {sorted(unknown)}")
        self.index = {feature: i for i, feature in enumerate(vocabulary)}
        self.coef = coef.astype(np.float64)
        self.intercept = intercept.astype(np.float64)
        self.classes = [Intent(c) for c in classes]
        self.embedding_head = embedding_head
        self.encoder = encoder  # loaded on the first unsure utterance, or by `warm_up`
        self.encoder_gate = encoder_gate  # 0 never asks the embedding head, above 1 always does
        digest = hashlib.sha256("\n".join([*vocabulary, *classes]).encode())
        head = (embedding_head.coef, embedding_head.intercept) if embedding_head else ()
        for array in (self.coef, self.intercept, *head):
            digest.update(np.ascontiguousarray(array).tobytes())
        self.version = f"intent-{digest.hexdigest()[:12]}"  # recorded in every turn event

    @classmethod
    def load(cls, path: Path = MODEL_PATH, encoder_gate: float = ENCODER_GATE) -> IntentClassifier:
        try:
            with np.load(path, allow_pickle=False) as data:
                head = (
                    EmbeddingHead(data["embedding_coef"].astype(np.float32), data["embedding_intercept"])
                    if "embedding_coef" in data
                    else None  # a model from before the encoder
                )
                vocabulary, classes = list(data["vocabulary"]), list(data["classes"])
                return cls(vocabulary, data["coef"], data["intercept"], classes, head, encoder_gate=encoder_gate)
        except (OSError, KeyError, ValueError) as exc:
            raise IntentModelError(
                f"cannot load the intent model {path}: {exc}; rebuild it with `make dst-model`"
            ) from None

    def save(self, path: Path = MODEL_PATH) -> None:
        vocabulary = sorted(self.index, key=self.index.__getitem__)
        head = self.embedding_head
        np.savez_compressed(
            path,
            vocabulary=np.array(vocabulary),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
            classes=np.array([c.value for c in self.classes]),
            **({"embedding_coef": head.coef, "embedding_intercept": head.intercept} if head else {}),
        )

    def warm_up(self) -> None:
        """Load the sentence encoder now (a live call should not wait for it on its first unsure utterance)."""
        if self.embedding_head is not None:
            self.encoder()

    def predict(self, feats: list[str], sentence: str | None = None) -> tuple[Intent, float]:
        """The most likely intent and its probability; `sentence` (the cleaned utterance) lets the embedding head
        give its opinion where the n-gram head is unsure."""
        index = self.index
        rows = list({index[f] for f in feats if f in index})
        scores = self.intercept + self.coef[rows].sum(axis=0) if rows else self.intercept
        best = int(scores.argmax())
        probability = float(1.0 / np.exp(scores - scores[best]).sum())
        head = self.embedding_head
        if head is None or sentence is None or probability >= self.encoder_gate:
            return self.classes[best], probability
        # the product of the two heads' distributions, renormalised: scores add up as log-probabilities
        embedding_scores = head.intercept + self.encoder().encode(sentence) @ head.coef
        joint = scores - np.logaddexp.reduce(scores) + embedding_scores - np.logaddexp.reduce(embedding_scores)
        best = int(joint.argmax())
        return self.classes[best], float(1.0 / np.exp(joint - joint[best]).sum())


@cache
def default_classifier() -> IntentClassifier:
    return IntentClassifier.load()
