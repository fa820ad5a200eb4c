"""Build labelled.jsonl and heldout.jsonl from their .src.txt files: `python data/pii/build_labelled.py`.

In the source, {label:text} marks a span and " || A B; C D" ends a line with the call's known names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

LABELS = ("name", "address", "phone", "email", "card", "account", "number")
_SPAN = re.compile(r"\{(\w+):([^{}]+)\}")
HERE = Path(__file__).parent


def parse(line: str) -> dict:
    marked, _, known = line.partition(" || ")
    text, spans, at = "", [], 0
    for match in _SPAN.finditer(marked):
        if match.group(1) not in LABELS:
            raise ValueError(f"unknown label {match.group(1)!r} in {line!r}")
        text += marked[at : match.start()]
        spans.append({"start": len(text), "end": len(text) + len(match.group(2)), "label": match.group(1)})
        text += match.group(2)
        at = match.end()
    text += marked[at:]
    if "{" in text or "}" in text:
        raise ValueError(f"unbalanced markup in {line!r}")
    record = {"text": text, "spans": spans}
    if known.strip():
        record["known_names"] = [name.strip() for name in known.split(";") if name.strip()]
    return record


def main() -> None:
    for name in ("labelled", "heldout"):
        lines = (HERE / f"{name}.src.txt").read_text().splitlines()
        records = [parse(line) for line in lines if line.strip() and not line.startswith("#")]
        (HERE / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        print(f"{name}: {len(records)} utterances, {sum(len(r['spans']) for r in records)} spans")


if __name__ == "__main__":
    main()
