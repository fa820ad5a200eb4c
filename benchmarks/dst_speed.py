"""DST throughput, single-threaded: `python -m benchmarks.dst_speed [--repeats 30]`.

Two kinds of text, each read repeatedly, printed as JSON:
- the simulator's debtor lines (every template, clean and STT-style: what training and the simulator read, where
  the goal is >= 5,000 utterances/s), uncached and through the tracker's cache as the simulator runs it;
- people's wording (the first held-out set, clean and STT-style), where the intent classifier asks the sentence
  encoder's head about the utterances its n-gram head is unsure of: the share of utterances that do, and the
  milliseconds one such reading takes, are reported beside the throughput.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from agent_runtime.dst.encoder import SentenceEncoder, default_encoder
from agent_runtime.dst.text import to_stt_style
from agent_runtime.dst.tracker import DEFAULT_CACHE_SIZE, DialogueStateTracker
from training.train_dst import simulator_examples


class TimedEncoder:
    """The real encoder, counting its calls and their time."""

    def __init__(self, encoder: SentenceEncoder):
        self.encoder, self.calls, self.seconds = encoder, 0, 0.0

    def encode(self, text: str):
        started = time.perf_counter()
        try:
            return self.encoder.encode(text)
        finally:
            self.calls += 1
            self.seconds += time.perf_counter() - started


def throughput(texts: list[str], repeats: int, cache_size: int = 0) -> dict:
    tracker = DialogueStateTracker(cache_size=cache_size, warm=True)
    timed = TimedEncoder(default_encoder())
    tracker.classifier.encoder = lambda: timed
    start = time.perf_counter()
    for _ in range(repeats):
        for text in texts:
            tracker.read(text)
    seconds = time.perf_counter() - start
    n = len(texts) * repeats
    return {
        "utterances": n,
        "seconds": round(seconds, 3),
        "utterances_per_second": round(n / seconds),
        "microseconds_per_utterance": round(1e6 * seconds / n, 1),
        "share_asking_the_encoder": round(timed.calls / n, 4),
        "milliseconds_per_encoder_reading": round(1e3 * timed.seconds / timed.calls, 2) if timed.calls else None,
        "cached": cache_size > 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--input", type=Path, default=Path("data/dst/heldout.jsonl"), help="people's wording")
    args = parser.parse_args()
    people = [json.loads(line)["text"] for line in args.input.read_text().splitlines() if line.strip()]
    simulator = [text for text, _ in simulator_examples()]
    report = {
        "simulator_lines": throughput(simulator, args.repeats),
        "simulator_lines_cached": throughput(simulator, args.repeats, DEFAULT_CACHE_SIZE),
        "peoples_wording": throughput(people + [to_stt_style(t) for t in people], max(1, args.repeats // 10)),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
