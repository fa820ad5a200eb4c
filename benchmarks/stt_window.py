"""Speech recognition with Whisper's full 30-second window vs a window fitted to the utterance (tiny.en, int8).

    python -m benchmarks.stt_window [--limit N] [--floors 10 5 3] [--beams 1 2 3] [--voice en-gb]

Every held-out DST utterance (data/dst/heldout.jsonl, never used in training) is synthesised with espeak-ng and
transcribed by each path (and the first floor once more, prompted with the call's words, and once per beam width of
`--beams` other than the runtime's), clip by clip so that
whatever else the machine does weighs on all paths alike. Reported per path: seconds per utterance (mean, p50, p95),
word error rate against the written text (lower-cased, punctuation and "$" removed; espeak and Whisper disagree on
number formats, so the absolute WER overstates errors equally for every path), and the DST's intent macro-F1 on the
transcripts (what the agent acts on). Writes results/stt_window.json.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import jiwer
import numpy as np
from sklearn.metrics import f1_score
from tqdm import tqdm

from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.speech.whisper import BEAM_SIZE, DOMAIN_VOCABULARY, load_model, transcribe
from agent_runtime.voice_sim import synthesise

HELDOUT = Path("data/dst/heldout.jsonl")


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text.lower().replace("$", ""))).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="first N utterances only")
    parser.add_argument("--floors", type=float, nargs="+", default=[10.0, 5.0, 3.0], help="minimum windows (s)")
    parser.add_argument(
        "--beams", type=int, nargs="*", default=[1], help=f"beam widths to compare with the runtime's {BEAM_SIZE}"
    )
    parser.add_argument("--voice", default="en-gb", help="espeak-ng voice of the debtor")
    parser.add_argument("--out", type=Path, default=Path("results/stt_window.json"))
    args = parser.parse_args()
    rows = [json.loads(line) for line in HELDOUT.read_text().splitlines() if line.strip()][: args.limit]
    model = load_model()
    tracker = DialogueStateTracker()
    paths = (
        {"full 30 s window": {"fitted_window": False}}
        | {f"fitted, floor {floor:g} s": {"min_window_seconds": floor} for floor in args.floors}
        | {
            f"fitted, floor {args.floors[0]:g} s, prompted": {
                "min_window_seconds": args.floors[0],
                "vocabulary": DOMAIN_VOCABULARY,
            }
        }
        | {
            f"fitted, floor {args.floors[0]:g} s, beam {beam}": {
                "min_window_seconds": args.floors[0],
                "beam_size": beam,
            }
            for beam in args.beams
            if beam != BEAM_SIZE
        }
    )
    audio = [synthesise(row["text"], args.voice).astype(np.float32) / 32768.0 for row in tqdm(rows, desc="speech")]
    heard = [[transcribe(model, clip, **options) for options in paths.values()] for clip in tqdm(audio, desc="stt")]
    results = {}
    for index, name in enumerate(paths):
        transcripts = [per_clip[index] for per_clip in heard]
        seconds = np.array([t.seconds for t in transcripts])
        texts = [t.text for t in transcripts]
        predicted = [tracker.read(text).intent.value for text in texts]
        results[name] = {
            "seconds_mean": round(float(seconds.mean()), 4),
            "seconds_p50": round(float(np.percentile(seconds, 50)), 4),
            "seconds_p95": round(float(np.percentile(seconds, 95)), 4),
            "word_error_rate": round(
                float(jiwer.wer([normalise(r["text"]) for r in rows], [normalise(t) or "-" for t in texts])), 4
            ),
            "dst_intent_macro_f1": round(
                float(f1_score([r["intent"] for r in rows], predicted, average="macro", zero_division=0)), 4
            ),
            "examples": [{"said": r["text"], "heard": t} for r, t in list(zip(rows, texts, strict=True))[:8]],
        }
        print(
            f"{name:22s} mean {results[name]['seconds_mean'] * 1000:6.0f} ms  p95 "
            f"{results[name]['seconds_p95'] * 1000:6.0f} ms  WER {results[name]['word_error_rate']:.3f}  "
            f"DST macro-F1 {results[name]['dst_intent_macro_f1']:.3f}"
        )
    report = {
        "utterances": len(rows),
        "voice": args.voice,
        "mean_audio_seconds": round(float(np.mean([len(a) for a in audio]) / 16_000), 2),
        "command": "python -m benchmarks.stt_window"
        + (f" --limit {args.limit}" if args.limit else "")
        + f" --floors {' '.join(f'{f:g}' for f in args.floors)} --voice {args.voice}",
        "paths": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
