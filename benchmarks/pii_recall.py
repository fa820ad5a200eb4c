"""Recall and precision of the redactor of stored text, per kind of personal data, and its time per utterance.

    python -m benchmarks.pii_recall [--labelled data/pii/labelled.jsonl] [--repeats 20] [--show]
        [--out results/pii_recall.json]

Reads the labelled utterances (data/pii/README.md) and runs `agent_runtime.events.redaction.find_pii` on each, with
the line's known names:
- recall of a kind: the share of its labelled spans fully masked, that is none of the span's letters or digits left
  (whatever tag masks them); `tagged` is the share masked by the kind's own tag;
- precision of a tag: the share of the spans masked with it that overlap a labelled span (of any kind);
- ordinary words: the words outside every labelled span, and the share of them masked (the false positive rate); the
  same for the everyday words that are names too ("will", "may", "june", ...) outside labelled spans;
- time: microseconds per utterance, single-threaded, `redact` on every utterance `--repeats` times after one warm-up
  pass (the word lists load on first use; that load is timed apart).
`--show` prints each missed span and each masked span that overlaps no labelled one.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

from agent_runtime.dst.text import to_stt_style
from agent_runtime.events.redaction import NUMBER, find_pii, redact

LABELS = ("name", "address", "phone", "email", "card", "account", "number")
WATCH_WORDS = set(
    "will may june bill april sue mark grant hope rose faith joy dawn jack summer august march chase price "
    "frank".split()
)
_WORD = re.compile(r"[^\W_]+")


def _covered(text: str, start: int, end: int, masked: list[bool]) -> bool:
    return all(masked[i] for i in range(start, end) if text[i].isalnum())


def score(records: list[dict]) -> dict:
    """Recall, precision and ordinary-word figures of `find_pii` on labelled records (see the module's doc)."""
    found, tagged, total = Counter(), Counter(), Counter()
    true_pos, predicted = Counter(), Counter()
    words = masked_words = watch = masked_watch = 0
    misses, false_positives = [], []
    for record in records:
        text, gold = record["text"], record["spans"]
        spans = find_pii(text, record.get("known_names", ()))
        masked = [False] * len(text)
        for span in spans:
            masked[span.start : span.end] = [True] * (span.end - span.start)
        for g in gold:
            total[g["label"]] += 1
            if _covered(text, g["start"], g["end"], masked):
                found[g["label"]] += 1
                inside = [s for s in spans if s.start < g["end"] and g["start"] < s.end]
                tagged[g["label"]] += all(s.tag == f"[{g['label']}]" for s in inside)
            else:
                misses.append({"label": g["label"], "span": text[g["start"] : g["end"]], "text": text})
        for span in spans:
            predicted[span.tag] += 1
            if any(g["start"] < span.end and span.start < g["end"] for g in gold):
                true_pos[span.tag] += 1
            else:
                false_positives.append({"tag": span.tag, "masked": text[span.start : span.end], "text": text})
        for match in _WORD.finditer(text):
            if any(g["start"] < match.end() and match.start() < g["end"] for g in gold):
                continue
            hit = any(masked[match.start() : match.end()])
            words += 1
            masked_words += hit
            if match.group().lower() in WATCH_WORDS:
                watch += 1
                masked_watch += hit
    return {
        "utterances": len(records),
        "recall": {
            label: {
                "spans": total[label],
                "recall": _ratio(found[label], total[label]),
                "tagged": _ratio(tagged[label], total[label]),
            }
            for label in LABELS
        },
        "precision": {
            f"[{label}]": {
                "masked": predicted[f"[{label}]"],
                "precision": _ratio(true_pos[f"[{label}]"], predicted[f"[{label}]"]),
            }
            for label in LABELS
        },
        "ordinary_words": {"words": words, "masked": masked_words, "rate": _ratio(masked_words, words)},
        "everyday_name_words": {"words": watch, "masked": masked_watch, "rate": _ratio(masked_watch, watch)},
        "misses": misses,
        "false_positives": false_positives,
    }


def ordinary_texts(paths: list[Path]) -> dict:
    """What is masked in utterances without personal data (the DST's held-out debtor lines, as written and in
    speech-to-text style): numbers are numbers there, every other tag is a false positive."""
    words, tags, examples = 0, Counter(), []
    for path in paths:
        for line in path.read_text().splitlines():
            text = json.loads(line)["text"]
            for variant in (text, to_stt_style(text)):
                words += len(_WORD.findall(variant))
                for span in find_pii(variant):
                    masked_words = len(_WORD.findall(variant[span.start : span.end]))
                    tags[span.tag] += masked_words
                    if span.tag != NUMBER:
                        examples.append(variant[span.start : span.end])
    others = sum(n for tag, n in tags.items() if tag != NUMBER)
    return {
        "files": [str(p) for p in paths],
        "words": words,
        "masked_words_by_tag": dict(tags),
        "non_number_rate": _ratio(others, words),
        "non_number_masked": examples,
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def timing(records: list[dict], repeats: int) -> dict:
    start = time.perf_counter()
    find_pii("warm up: my name is Sam", ["Sam Rivera"])
    load_ms = 1e3 * (time.perf_counter() - start)
    pairs = [(r["text"], r.get("known_names", ())) for r in records]
    for text, known in pairs:
        redact(text, known)
    start = time.perf_counter()
    for _ in range(repeats):
        for text, known in pairs:
            redact(text, known)
    seconds = time.perf_counter() - start
    return {
        "first_call_ms": round(load_ms, 1),
        "microseconds_per_utterance": round(1e6 * seconds / (repeats * len(pairs)), 1),
        "mean_chars": round(sum(len(t) for t, _ in pairs) / len(pairs), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=Path, default=Path("data/pii/labelled.jsonl"))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="print the missed spans and the false positives")
    parser.add_argument(
        "--heldout",
        type=Path,
        default=Path("data/pii/heldout.jsonl"),
        help="a second labelled set, scored apart (skipped when missing)",
    )
    parser.add_argument(
        "--ordinary",
        type=Path,
        nargs="*",
        default=[Path("data/dst/heldout.jsonl"), Path("data/dst/heldout_asr.jsonl")],
        help="utterances without personal data (JSONL with 'text')",
    )
    parser.add_argument("--out", type=Path, default=Path("results/pii_recall.json"))
    args = parser.parse_args()
    records = _read(args.labelled)
    time_figures = timing(records, args.repeats)
    report = score(records)
    if args.show:
        for miss in report["misses"]:
            print(f"MISS {miss['label']:8} {miss['span']!r:40} in {miss['text']!r}")
        for fp in report["false_positives"]:
            print(f"FP   {fp['tag']:9} {fp['masked']!r:40} in {fp['text']!r}")
    summary = {k: v for k, v in report.items() if k not in ("misses", "false_positives")}
    summary["time"] = time_figures
    summary["labelled"] = str(args.labelled)
    for label, figures in summary["recall"].items():
        print(f"{label:8} spans {figures['spans']:4}  recall {figures['recall']:.3f}  own tag {figures['tagged']:.3f}")
    for tag, figures in summary["precision"].items():
        print(f"{tag:10} masked {figures['masked']:4}  precision {figures['precision']}")
    print(f"ordinary words masked: {summary['ordinary_words']}; everyday name words: {summary['everyday_name_words']}")
    print(f"time: {time_figures}")
    summary["missed_spans"] = report["misses"]
    if args.heldout.exists():
        heldout = score(_read(args.heldout))
        summary["heldout"] = {"labelled": str(args.heldout)} | {
            k: v for k, v in heldout.items() if k not in ("false_positives",)
        }
        recall = {label: figures["recall"] for label, figures in heldout["recall"].items()}
        print(f"held-out set {args.heldout}: recall {recall}")
    if args.ordinary:
        summary["ordinary_texts"] = ordinary_texts(args.ordinary)
        print(f"ordinary texts: { ({k: v for k, v in summary['ordinary_texts'].items() if k != 'non_number_masked'}) }")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    main()
