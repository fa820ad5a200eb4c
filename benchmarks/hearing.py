"""Hearing through other voices and the telephone: per voice and channel, word error rate, DST macro-F1, amount
recall and the time of each stage, on the held-out DST utterances.

    python -m benchmarks.hearing [--voices espeak:en-us espeak:en-gb piper:joe flite:slt]
        [--channels clean telephone noisy] [--heldout data/dst/heldout.jsonl] [--limit N]
        [--vocabulary] [--work runs/hearing] [--out results/hearing.json]

Voices: espeak-ng en-us (the voice of the DST's training transcripts and of the agent), espeak-ng en-gb (the
simulated debtor in audio), Piper en_US-joe-medium (the agent's optional natural voice) and flite's slt (a voice
that nothing here trains on or speaks with; Debian's package `flite`).

Channels, each ending as 16 kHz float32 for the recogniser:
- clean: the voice's own audio resampled to 16 kHz;
- telephone: what a SIP call delivers: 8 kHz, a 300-3,400 Hz band (4th-order Butterworth) and G.711 mu-law
  (8-bit companding, mu = 255), then back to 16 kHz;
- noisy: the clean audio with pink noise at 15 dB SNR (noise seeded by the utterance's index).

Word error rate is computed after lower-casing, removing punctuation and "$", and writing number words as digits on
both sides (espeak says "$785" as words; Whisper writes digits or words as it likes). DST figures score the
tracker's reading of the transcripts with `training.dst_eval.score` (a file without amounts, such as a training
file, scores none). Recognition is the runtime's; `--vocabulary` prompts it with the call's words
(`agent_runtime.speech.whisper.DOMAIN_VOCABULARY`). Stage times
are per utterance: synthesis, the channel, recognition (tiny.en, the runtime's fitted window) and the DST (cache
off); they are only as quiet as the machine.

The transcripts are kept in WORK, one JSONL file per voice and channel, so a killed run continues where it stopped;
delete WORK to measure again. This benchmark never reads data/dst/heldout_v2.jsonl unless told to: that set is kept
for the final measurement of the DST work.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import time
import wave
from collections.abc import Callable
from functools import cache
from pathlib import Path

import jiwer
import numpy as np
from scipy.signal import butter, resample_poly, sosfilt
from tqdm import tqdm

from agent_runtime.dst.text import clean, digits_for_number_words
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.speech.whisper import DOMAIN_VOCABULARY, SAMPLE_RATE, load_model, transcribe
from training.dst_eval import score

TELEPHONE_RATE = 8_000
TELEPHONE_BAND_HZ = (300.0, 3_400.0)
MU = 255.0
NOISE_SNR_DB = 15.0


def _wav_samples(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        return pcm.astype(np.float32) / 32768.0, wav.getframerate()


def _espeak(voice: str) -> Callable[[str], tuple[np.ndarray, int]]:
    def speak(text: str) -> tuple[np.ndarray, int]:
        wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", " " + text], capture_output=True, check=True)
        return _wav_samples(wav.stdout)

    return speak


def _flite(voice: str) -> Callable[[str], tuple[np.ndarray, int]]:
    def speak(text: str) -> tuple[np.ndarray, int]:
        wav = subprocess.run(
            ["flite", "-voice", voice, "-t", text, "-o", "/dev/stdout"], capture_output=True, check=True
        )
        return _wav_samples(wav.stdout)

    return speak


@cache
def _piper_voice():
    from agent_runtime.speech.piper import default_voice

    return default_voice()


def _piper(_: str) -> Callable[[str], tuple[np.ndarray, int]]:
    def speak(text: str) -> tuple[np.ndarray, int]:
        voice = _piper_voice()
        pcm = np.concatenate([chunk.audio_int16_array for chunk in voice.synthesize(text)])
        return pcm.astype(np.float32) / 32768.0, voice.config.sample_rate

    return speak


ENGINES = {"espeak": _espeak, "flite": _flite, "piper": _piper}


def _resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    divisor = np.gcd(rate, target)
    return resample_poly(audio, target // divisor, rate // divisor).astype(np.float32)


def telephone(audio: np.ndarray) -> np.ndarray:
    """16 kHz audio as a G.711 mu-law telephone line delivers it, back at 16 kHz."""
    narrow = _resample(audio, SAMPLE_RATE, TELEPHONE_RATE)
    band = sosfilt(butter(4, TELEPHONE_BAND_HZ, btype="bandpass", fs=TELEPHONE_RATE, output="sos"), narrow)
    band = np.clip(band, -1.0, 1.0)
    companded = np.sign(band) * np.log1p(MU * np.abs(band)) / np.log1p(MU)
    code = np.round((companded + 1.0) / 2.0 * 255.0)  # 8 bits a sample
    expanded = code / 255.0 * 2.0 - 1.0
    line = np.sign(expanded) * ((1.0 + MU) ** np.abs(expanded) - 1.0) / MU
    return _resample(line.astype(np.float32), TELEPHONE_RATE, SAMPLE_RATE)


def noisy(audio: np.ndarray, seed: int, snr_db: float = NOISE_SNR_DB) -> np.ndarray:
    """The audio with pink (1/f) noise at `snr_db` below the speech's power."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(audio.size))
    frequencies = np.fft.rfftfreq(audio.size)
    spectrum[1:] /= np.sqrt(frequencies[1:])
    noise = np.fft.irfft(spectrum, n=audio.size)
    speech_power = float(np.mean(audio**2)) or 1e-12
    noise *= np.sqrt(speech_power / 10 ** (snr_db / 10) / float(np.mean(noise**2)))
    return (audio + noise).astype(np.float32)


CHANNELS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "clean": lambda audio, index: audio,
    "telephone": lambda audio, index: telephone(audio),
    "noisy": lambda audio, index: noisy(audio, index),
}


def normalise(text: str) -> str:
    text = digits_for_number_words(clean(text)).replace("$", "").replace(",", "")
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text)).strip()


def transcripts(rows: list[dict], voice: str, channel: str, model, work: Path, vocabulary: str | None) -> list[dict]:
    """One record per utterance (text heard, stage times), from WORK where an earlier run wrote it."""
    path = work / f"{voice.replace(':', '-')}_{channel}.jsonl"
    done = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    engine, name = voice.split(":", 1)
    speak = ENGINES[engine](name)
    work.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        for index in tqdm(range(len(done), len(rows)), desc=f"{voice} {channel}", unit="utt"):
            started = time.perf_counter()
            audio, rate = speak(rows[index]["text"])
            audio = _resample(audio, rate, SAMPLE_RATE)
            synthesised = time.perf_counter()
            audio = CHANNELS[channel](audio, index)
            passed = time.perf_counter()
            heard = transcribe(model, audio, vocabulary=vocabulary)
            record = {
                "id": rows[index].get("id", index),
                "text": heard.text,
                "stt_confidence": heard.confidence,
                "seconds": round(audio.size / SAMPLE_RATE, 3),
                "ms": {
                    "synthesis": round((synthesised - started) * 1000, 2),
                    "channel": round((passed - synthesised) * 1000, 2),
                    "stt": round(heard.seconds * 1000, 2),
                },
            }
            out.write(json.dumps(record) + "\n")
            out.flush()
            done.append(record)
    return done[: len(rows)]


def percentiles(values: list[float]) -> dict:
    return {f"p{q}": round(float(np.percentile(values, q)), 2) for q in (50, 95)}


def measure(rows: list[dict], heard: list[dict], tracker: DialogueStateTracker) -> dict:
    texts = [h["text"] for h in heard]
    dst_ms = []
    for text in texts:
        started = time.perf_counter()
        tracker.read(text)
        dst_ms.append((time.perf_counter() - started) * 1000)
    dst = score(rows, texts, tracker, show_errors=False)
    wer = jiwer.wer([normalise(r["text"]) or "-" for r in rows], [normalise(t) or "-" for t in texts])
    return {
        "utterances": len(rows),
        "word_error_rate": round(float(wer), 4),
        "dst_macro_f1": dst["macro_f1"],
        "dst_accuracy": dst["accuracy"],
        "amount_recall": dst["amount_recall"],
        "ms": {stage: percentiles([h["ms"][stage] for h in heard]) for stage in ("synthesis", "channel", "stt")}
        | {"dst": percentiles(dst_ms)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voices", nargs="+", default=["espeak:en-us", "espeak:en-gb", "piper:joe", "flite:slt"])
    parser.add_argument("--channels", nargs="+", choices=sorted(CHANNELS), default=list(CHANNELS))
    parser.add_argument("--heldout", type=Path, default=Path("data/dst/heldout.jsonl"))
    parser.add_argument("--limit", type=int, default=None, help="the first N utterances only")
    parser.add_argument("--vocabulary", action="store_true", help="prompt the recogniser with the call's words")
    parser.add_argument("--work", type=Path, default=Path("runs/hearing"))
    parser.add_argument("--out", type=Path, default=Path("results/hearing.json"))
    args = parser.parse_args()
    for voice in args.voices:
        if voice.split(":", 1)[0] not in ENGINES or ":" not in voice:
            parser.error(f"--voices: {voice!r} is not ENGINE:VOICE with ENGINE one of {sorted(ENGINES)}")
    rows = [json.loads(line) for line in args.heldout.read_text().splitlines() if line.strip()][: args.limit]
    for row in rows:
        row.setdefault("amount", None)
    vocabulary = DOMAIN_VOCABULARY if args.vocabulary else None
    work = args.work / (args.heldout.stem + ("_vocabulary" if vocabulary else ""))
    model = load_model()
    tracker = DialogueStateTracker(cache_size=0)
    results: dict[str, dict[str, dict]] = {}
    for voice in args.voices:
        for channel in args.channels:
            heard = transcripts(rows, voice, channel, model, work, vocabulary)
            results.setdefault(voice, {})[channel] = measure(rows, heard, tracker)
    report = {
        "heldout": str(args.heldout),
        "vocabulary": vocabulary,
        "results": results,
        "command": "python -m benchmarks.hearing --voices "
        + " ".join(args.voices)
        + " --channels "
        + " ".join(args.channels)
        + f" --heldout {args.heldout}"
        + (f" --limit {args.limit}" if args.limit else "")
        + (" --vocabulary" if vocabulary else ""),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print("| voice | channel | WER | DST macro-F1 | amount recall | stt p50 / p95 ms |")
    print("|---|---|---|---|---|---|")
    for voice, channels in results.items():
        for channel, r in channels.items():
            stt = r["ms"]["stt"]
            print(
                f"| {voice} | {channel} | {r['word_error_rate']:.3f} | {r['dst_macro_f1']:.3f} | "
                f"{r['amount_recall']:.2f} | {stt['p50']:.0f} / {stt['p95']:.0f} |"
            )


if __name__ == "__main__":
    main()
