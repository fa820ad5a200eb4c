"""Train the DST's intent classifier: `python -m training.train_dst [--c 4.0] [--seed 0]`.

Training data: every `data/dst/train*.jsonl` (hand-written utterances, clean and STT-style, answers to offers,
answering machines' greetings (`train_voicemail.jsonl`: other, never a request to stop calls),
utterances written by three more authors in a caller's words (`train_written.md`, `train_written_v2.md`,
`train_written_v3.md`), and those spoken by three voices and transcribed by tiny.en: `training.asr_transcripts`)
plus every debtor template of the simulator, each also in STT style. Held-out sets are read only once retired: a
set whose final measurement is made (and whose misses have chosen fixes since) teaches the next round, with its
recogniser transcripts (`RETIRED_HELDOUT`; `heldout_v5` and `heldout_v6` share today's labelling conventions, the
older sets do not). The other `data/dst/heldout*.jsonl` are never read here.
Two heads are trained on the same utterances and weights: one over word n-grams, one over the sentence encoder's
embedding (`agent_runtime.dst.encoder`; about 25,000 utterances to encode, several minutes on one core, shown with a
progress bar). Writes `runs/dst/intent_model.npz` and prints the n-gram head's cross-validated macro-F1 on the
training data. The model the runtime ships, `agent_runtime/dst/intent_model.npz`, is replaced only when named:
`--out agent_runtime/dst/intent_model.npz`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import tyro
from tqdm import tqdm

from agent_runtime.contracts.dst import INTENTS, Intent
from agent_runtime.dst.classifier import EmbeddingHead, IntentClassifier
from agent_runtime.dst.encoder import default_encoder
from agent_runtime.dst.text import clean, features, to_stt_style
from simulator import utterances as say
from training.cli import Seed, within

TRAIN_DIR = Path("data/dst")
TEMPLATE_AMOUNTS = ("$75", "120 dollars", "fifty", "200 bucks", "three hundred and twenty")
# held-out sets after their final measurement, labelled by the conventions of today's sets
RETIRED_HELDOUT = ("heldout_v5", "heldout_v6")


@dataclass
class Args:
    c: Annotated[float, within(float, 0, low_open=True)] = 4.0
    """inverse regularisation strength of the logistic regression"""
    seed: Seed = 0
    train_dir: Path = TRAIN_DIR
    """every train*.jsonl in this folder is read, and the retired held-out sets (RETIRED_HELDOUT) with their
    transcripts"""
    out: Path = Path("runs/dst/intent_model.npz")
    """the model file; the shipped one is replaced only when named: --out agent_runtime/dst/intent_model.npz"""
    cv_folds: Annotated[int, within(int, 2)] = 5
    """folds of the cross-validated macro-F1"""
    asr_weight: Annotated[float, within(float, 0)] = 0.5
    """weight of the recogniser transcripts (*_asr*.jsonl): their wording is noisy, their labels are not"""


def simulator_examples() -> list[tuple[str, Intent]]:
    groups: list[tuple[tuple[str, ...], Intent]] = [(texts, intent) for intent, texts in say.COMMON.items()]
    groups += [
        (say.SOFT_DISPUTE, Intent.DISPUTE),
        (say.LEGAL_DISPUTE, Intent.DISPUTE),
        (say.SAD_HARDSHIP, Intent.HARDSHIP),
        (say.AVOIDANT_STALL, Intent.STALL),
        (say.ANGRY_HOSTILE, Intent.HOSTILE),
        (say.CANT_AFFORD, Intent.REFUSE),
        (say.STATED_MONTHLY, Intent.WILLING),
        (say.STATED_LUMP, Intent.WILLING),
        (say.COMMIT_OWN_MONTHLY, Intent.COMMIT),
        (say.COMMIT_FULL, Intent.COMMIT),
    ]
    groups += [(texts, Intent.HARDSHIP) for texts in say.HARDSHIP_BY_EVENT.values()]
    examples = []
    for texts, intent in groups:
        for i, text in enumerate(texts):
            text = text.format(amount=TEMPLATE_AMOUNTS[i % len(TEMPLATE_AMOUNTS)])
            examples += [(text, intent), (to_stt_style(text), intent)]
    return examples


def load_examples(path: Path) -> list[tuple[str, Intent]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(row["text"], Intent(row["intent"])) for row in rows]


def training_files(folder: Path) -> list[Path]:
    retired = [
        path
        for name in RETIRED_HELDOUT
        for path in sorted(folder.glob(f"{name}.jsonl")) + sorted(folder.glob(f"{name}_asr*.jsonl"))
    ]
    return sorted(folder.glob("train*.jsonl")) + retired


def main(args: Args) -> None:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if not args.train_dir.is_dir():
        raise SystemExit(f"error: --train-dir {args.train_dir} is no folder")
    files = training_files(args.train_dir)
    weighted = [(e, args.asr_weight if "_asr" in path.name else 1.0) for path in files for e in load_examples(path)]
    weighted += [(e, 1.0) for e in simulator_examples()]
    texts = [t for (t, _), _ in weighted]
    labels = [i.value for (_, i), _ in weighted]
    weights = np.array([w for _, w in weighted])
    vectorizer = CountVectorizer(analyzer=features, binary=True, min_df=1)
    x = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=args.c, max_iter=3000, random_state=args.seed)
    folds = StratifiedKFold(n_splits=args.cv_folds, shuffle=True, random_state=args.seed)
    predicted = cross_val_predict(model, x, labels, cv=folds, params={"sample_weight": weights})
    print(
        json.dumps(
            {
                "files": [str(f) for f in files],
                "examples": len(texts),
                "features": x.shape[1],
                "cv_macro_f1": round(float(f1_score(labels, predicted, average="macro")), 4),
            }
        )
    )
    model.fit(x, labels, sample_weight=weights)
    encoder = default_encoder()
    cleaned = [clean(text) for text in texts]
    embedded = {s: encoder.encode(s) for s in tqdm(sorted(set(cleaned)), desc="encoding", unit="utt")}
    head = LogisticRegression(C=args.c, max_iter=3000, random_state=args.seed)
    head.fit(np.stack([embedded[s] for s in cleaned]), labels, sample_weight=weights)  # the same classes: same labels
    vocabulary = [None] * len(vectorizer.vocabulary_)
    for feature, index in vectorizer.vocabulary_.items():
        vocabulary[index] = feature
    missing = {i.value for i in INTENTS} - set(model.classes_)
    if missing:
        raise SystemExit(f"training data lacks intents {sorted(missing)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    IntentClassifier(
        vocabulary,
        model.coef_.T.astype(np.float32),
        model.intercept_.astype(np.float32),
        list(model.classes_),
        EmbeddingHead(head.coef_.T.astype(np.float32), head.intercept_.astype(np.float32)),
    ).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main(tyro.cli(Args))
