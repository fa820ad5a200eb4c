"""Transcribe sound files offline: `python -m agent_runtime.transcribe FILE.wav [FILE.wav ...]`.

Prints one JSON line per file: {"file", "text", "seconds"} (seconds: recognition time, model load excluded). Files
longer than 30 s are transcribed whole (speech found with VAD, window after window).
A file that cannot be read gives {"file", "error"} and the others go on; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent_runtime.speech.whisper import default_model, transcribe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    model = default_model()
    failed = False
    for path in args.files:
        try:
            result = transcribe(model, path)
            line = {"file": str(path), "text": result.text, "seconds": round(result.seconds, 3)}
        except Exception as exc:  # decoding errors come from PyAV in many types; report and go on
            failed = True
            line = {"file": str(path), "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(line), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
