"""The DST's sentence encoder (all-MiniLM-L6-v2 in numpy) and the second opinion it gives the intent classifier."""

import numpy as np
import pytest

from agent_runtime.contracts.dst import INTENTS, Intent
from agent_runtime.dst.classifier import ENCODER_GATE, EmbeddingHead, IntentClassifier, IntentModelError
from agent_runtime.dst.encoder import DIMENSIONS, EncoderModelError, SentenceEncoder, default_encoder, model_dir
from agent_runtime.dst.tracker import DialogueStateTracker

CLASSES = [i.value for i in INTENTS]


def test_embeddings_have_unit_length_and_place_paraphrases_together():
    encoder = default_encoder()
    job, stamps, unemployed, stop = (
        encoder.encode(t)
        for t in ("i lost my job last month", "we're on food stamps", "i'm unemployed", "stop calling me")
    )
    assert job.shape == (DIMENSIONS,) and job.dtype == np.float32
    assert abs(float(np.linalg.norm(job)) - 1.0) < 1e-5
    assert job @ unemployed > job @ stop + 0.15 and stamps @ unemployed > stamps @ stop + 0.15
    assert np.array_equal(encoder.encode("i lost my job last month"), job)  # the same text, the same bits


@pytest.mark.parametrize(
    "text", ["", "   ", "😀🔥💸", "a" * 10_000, "stop calling me " * 1_000, "我不想付钱", "\ud800 broken"]
)
def test_any_text_encodes_to_a_finite_unit_vector(text):
    embedding = default_encoder().encode(text)
    assert np.isfinite(embedding).all() and abs(float(np.linalg.norm(embedding)) - 1.0) < 1e-5


def test_weights_that_are_not_the_measured_ones_are_refused(tmp_path):
    for name in ("model.safetensors", "tokenizer.json"):
        (tmp_path / name).write_bytes((model_dir() / name).read_bytes()[:1000])
    with pytest.raises(EncoderModelError, match="sha256"):
        SentenceEncoder(tmp_path)
    with pytest.raises(EncoderModelError, match=r"no model\.safetensors"):
        SentenceEncoder(tmp_path / "missing")


class CountingEncoder:
    """The real encoder, counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return default_encoder()


def _classifier(ngram_bias: dict[str, float], embedding_bias: dict[str, float], encoder) -> IntentClassifier:
    def scores(bias):
        return np.array([bias.get(c, 0.0) for c in CLASSES], dtype=np.float32)

    head = EmbeddingHead(np.zeros((DIMENSIONS, len(CLASSES)), np.float32), scores(embedding_bias))
    return IntentClassifier(["pay"], np.zeros((1, len(CLASSES))), scores(ngram_bias), CLASSES, head, encoder)


def test_the_embedding_head_is_asked_only_when_the_ngram_head_is_unsure():
    encoder = CountingEncoder()
    sure = _classifier({"hostile": 10.0}, {"hardship": 10.0}, encoder)
    assert sure.predict(["pay"], "whatever") == (Intent.HOSTILE, pytest.approx(1.0, abs=1e-3))
    assert encoder.calls == 0
    unsure = _classifier({"hostile": 1.0, "hardship": 0.9}, {"hardship": 3.0}, encoder)
    intent, probability = unsure.predict(["pay"], "whatever")
    assert intent is Intent.HARDSHIP and encoder.calls == 1
    assert unsure.predict(["pay"])[0] is Intent.HOSTILE  # no sentence, no second opinion
    # the product of two distributions, renormalised
    ngram = np.exp([1.0 if c == "hostile" else 0.9 if c == "hardship" else 0.0 for c in CLASSES])
    embedding = np.exp([3.0 if c == "hardship" else 0.0 for c in CLASSES])
    joint = ngram * embedding / (ngram * embedding).sum()
    assert probability == pytest.approx(joint.max(), rel=1e-5) and joint.max() < ENCODER_GATE + 0.2


def test_a_model_saved_with_its_embedding_head_loads_with_it_and_an_older_one_without(tmp_path):
    classifier = _classifier({"hostile": 1.0}, {"hardship": 2.0}, CountingEncoder())
    classifier.save(tmp_path / "model.npz")
    loaded = IntentClassifier.load(tmp_path / "model.npz")
    assert loaded.version == classifier.version and loaded.embedding_head is not None
    old = IntentClassifier(["pay"], np.zeros((1, len(CLASSES))), np.zeros(len(CLASSES)), CLASSES)
    old.save(tmp_path / "old.npz")
    assert IntentClassifier.load(tmp_path / "old.npz").embedding_head is None
    with pytest.raises(IntentModelError, match="embedding head"):
        IntentClassifier(
            ["pay"],
            np.zeros((1, len(CLASSES))),
            np.zeros(len(CLASSES)),
            CLASSES,
            EmbeddingHead(np.zeros((10, len(CLASSES))), np.zeros(len(CLASSES))),
        )


def test_the_shipped_model_reads_wording_its_words_never_saw():
    tracker = DialogueStateTracker(cache_size=0)
    assert tracker.classifier.embedding_head is not None
    assert tracker.read("we're living on food stamps these days").intent is Intent.HARDSHIP
