"""Read utterances (one per line) on stdin, write one JSON object per line on stdout."""

from __future__ import annotations

import json
import sys

from agent_runtime.dst.tracker import DialogueStateTracker


def main() -> int:
    tracker = DialogueStateTracker()
    sys.stdin.reconfigure(errors="replace")  # a bad byte costs one character, never the line or the run
    out = sys.stdout
    for line in sys.stdin:
        reading = tracker.read(line.rstrip("\r\n"))
        out.write(json.dumps(reading.to_json_dict()) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
