"""A linear intent classifier over word unigrams and bigrams, scored with numpy alone.

Weights live in `intent_model.npz` beside this file; `make dst-model` trains them (scikit-learn's logistic
regression) from `data/dst/train.jsonl` plus the simulator's debtor templates. The held-out set in
`data/dst/heldout*.jsonl` never enters training.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np

from agent_runtime.contracts.dst import INTENTS, Intent

MODEL_PATH = Path(__file__).with_name("intent_model.npz")


class IntentModelError(RuntimeError):
    pass


class IntentClassifier:
    def __init__(self, vocabulary: list[str], coef: np.ndarray, intercept: np.ndarray, classes: list[str]):
        if coef.shape != (len(vocabulary), len(classes)) or intercept.shape != (len(classes),):
            raise IntentModelError(
                f"intent model shapes disagree: coef {coef.shape}, intercept {intercept.shape}, "
                f"{len(vocabulary)} features, {len(classes)} classes"
            )
        unknown = set(classes) - {i.value for i in INTENTS}
        if unknown:
            raise IntentModelError(f"intent model has classes outside the contract: {sorted(unknown)}")
        self.index = {feature: i for i, feature in enumerate(vocabulary)}
        self.coef = coef.astype(np.float64)
        self.intercept = intercept.astype(np.float64)
        self.classes = [Intent(c) for c in classes]
        digest = hashlib.sha256("\n".join([*vocabulary, *classes]).encode())
        for array in (self.coef, self.intercept):
            digest.update(np.ascontiguousarray(array).tobytes())
        self.version = f"intent-{digest.hexdigest()[:12]}"  # recorded in every turn event

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> IntentClassifier:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(list(data["vocabulary"]), data["coef"], data["intercept"], list(data["classes"]))
        except (OSError, KeyError, ValueError) as exc:
            raise IntentModelError(
                f"cannot load the intent model {path}: {exc}; rebuild it with `make dst-model`"
            ) from None

    def save(self, path: Path = MODEL_PATH) -> None:
        vocabulary = sorted(self.index, key=self.index.__getitem__)
        np.savez_compressed(
            path,
            vocabulary=np.array(vocabulary),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
            classes=np.array([c.value for c in self.classes]),
        )

    def predict(self, feats: list[str]) -> tuple[Intent, float]:
        """The most likely intent and its probability."""
        index = self.index
        rows = list({index[f] for f in feats if f in index})
        scores = self.intercept + self.coef[rows].sum(axis=0) if rows else self.intercept
        best = int(scores.argmax())
        exp = np.exp(scores - scores[best])
        return self.classes[best], float(1.0 / exp.sum())


@cache
def default_classifier() -> IntentClassifier:
    return IntentClassifier.load()
