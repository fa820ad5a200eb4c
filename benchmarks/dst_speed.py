"""DST throughput, single-threaded and uncached: `python -m benchmarks.dst_speed [--repeats 30]`.

Reads the held-out utterances (clean and STT-style) repeatedly and prints utterances/s as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from agent_runtime.dst.text import to_stt_style
from agent_runtime.dst.tracker import DialogueStateTracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--input", type=Path, default=Path("data/dst/heldout.jsonl"))
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in args.input.read_text().splitlines() if line.strip()]
    texts += [to_stt_style(t) for t in texts]
    tracker = DialogueStateTracker(cache_size=0)
    tracker.read(texts[0])  # load the model and lexicon outside the timing
    start = time.perf_counter()
    for _ in range(args.repeats):
        for text in texts:
            tracker.read(text)
    seconds = time.perf_counter() - start
    n = len(texts) * args.repeats
    print(
        json.dumps(
            {
                "utterances": n,
                "seconds": round(seconds, 3),
                "utterances_per_second": round(n / seconds),
                "microseconds_per_utterance": round(1e6 * seconds / n, 1),
                "cached": False,
            }
        )
    )


if __name__ == "__main__":
    main()
