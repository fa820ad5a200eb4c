"""Asking before acting, measured on the held-out DST utterances: `python -m benchmarks.clarification
[--fresh runs/clarification/heldout_asr.jsonl] [--out results/clarification.json]`.

For every utterance the engine's rule (`agent_runtime.engine.question_before_acting`) decides whether a live call
asks ("could you say that again?", "how much did you say?") or acts on the DST's reading. Before it, every reading
was acted on, so every misread intent became a strategy. Counted per set of utterances:
- misread intents acted on, before (all misreadings) and after (those the engine did not ask about);
- clarifications as a share of utterances (the issue's ceiling: 15 %), and how many of them were read right anyway;
- amounts: recall of the labelled amounts in the DST's parse (before any confirmation), and wrong amounts acted on.

Three sets: the clean text, the committed real-ASR transcripts (`data/dst/heldout_asr.jsonl`; they carry no
recognition confidence), and fresh transcripts with tiny.en's confidence (espeak-ng en-us, the runtime's fitted
window), written by `training.asr_transcripts` to `--fresh` on the first run and reused after (about a minute).
espeak-ng and the decoder differ a little between machines: the fresh transcripts need not match the committed ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.engine import question_before_acting

CLEAN = Path("data/dst/heldout.jsonl")
COMMITTED_ASR = Path("data/dst/heldout_asr.jsonl")
NO_BALANCE_LIMIT = 1_000_000.0  # the held-out utterances belong to no account


def measure(rows: list[dict], tracker: DialogueStateTracker) -> dict:
    counts = dict.fromkeys(
        (
            "utterances",
            "misread",
            "misread_acted_on",
            "asked",
            "asked_but_read_right",
            "amounts_labelled",
            "amounts_parsed",
            "wrong_amounts_acted_on",
        ),
        0,
    )
    for row in rows:
        reading = tracker.read(row["text"])
        asked = question_before_acting(row["text"], reading, row.get("stt_confidence"), NO_BALANCE_LIMIT)
        misread = reading.intent.value != row["intent"]
        counts["utterances"] += 1
        counts["misread"] += misread
        counts["misread_acted_on"] += misread and asked is None
        counts["asked"] += asked is not None
        counts["asked_but_read_right"] += asked is not None and not misread
        labelled = row.get("amount")
        counts["amounts_labelled"] += labelled is not None
        parsed = reading.amount
        counts["amounts_parsed"] += labelled is not None and parsed is not None and abs(parsed - labelled) < 0.01
        wrong_amount = parsed is not None and (labelled is None or abs(parsed - labelled) >= 0.01)
        counts["wrong_amounts_acted_on"] += wrong_amount and asked is None
    counts["clarification_share"] = round(counts["asked"] / max(counts["utterances"], 1), 4)
    return counts


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fresh", type=Path, default=Path("runs/clarification/heldout_asr.jsonl"))
    parser.add_argument("--out", type=Path, default=Path("results/clarification.json"))
    args = parser.parse_args()
    if not args.fresh.exists():
        from training import asr_transcripts

        asr_transcripts.main(["--input", str(CLEAN), "--output", str(args.fresh)])
    tracker = DialogueStateTracker()
    report = {
        "command": "python -m benchmarks.clarification",
        "clean_text": measure(read_rows(CLEAN), tracker),
        "committed_asr_transcripts": measure(read_rows(COMMITTED_ASR), tracker),
        "fresh_asr_with_stt_confidence": measure(read_rows(args.fresh), tracker),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
