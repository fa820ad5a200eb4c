"""Can the recogniser's confidence tell a misheard backchannel from a short real interruption?

    python -m benchmarks.overlap_confidence

A development set apart from benchmarks/barge_in.py's sounds: short words a debtor may say over the agent ("stop",
"no", "wait", ...) and hums spelled other ways ("mm", "mhmm", "hm-hmm", ...), each in espeak-ng en-us, espeak-ng
en-gb and Piper joe, recognised by tiny.en as the runtime does (speech.whisper.transcribe). Prints and writes
results/overlap_confidence.json: each sound's transcript and confidence (exp of the mean token log-probability;
0 where nothing was heard), and the range of each group over the sounds that came out as words. If the ranges
overlap, no confidence floor withholds the misheard hums without also dropping real words.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SHORT_WORDS = ("stop", "wait", "no", "hold on", "what?", "sorry?", "I paid", "no way", "not now", "wrong number")
HUMS = ("mm", "hmm", "uh huh", "mhmm", "m-hm", "mm-hm", "ah-ha", "uh-hum", "hm-hmm")
OUT = Path("results/overlap_confidence.json")


def main() -> None:
    from agent_runtime.speech.overlap import holds_the_turn
    from agent_runtime.speech.piper import default_voice
    from agent_runtime.speech.whisper import default_model, transcribe
    from agent_runtime.voice_sim import synthesise
    from benchmarks.end_of_turn import piper_speech

    whisper, piper = default_model(), default_voice()
    voices = {
        "espeak en-us": lambda text: synthesise(text, "en-us"),
        "espeak en-gb": lambda text: synthesise(text, "en-gb"),
        "piper joe": lambda text: piper_speech(piper, text),
    }
    rows = []
    for group, texts in (("short words", SHORT_WORDS), ("hums", HUMS)):
        for text in texts:
            for voice, speak in voices.items():
                heard = transcribe(whisper, speak(text).astype(np.float32) / 32768.0)
                row = {"group": group, "said": text, "voice": voice, "heard": heard.text}
                row |= {"confidence": round(heard.confidence or 0.0, 3), "holds_the_turn": holds_the_turn(heard.text)}
                rows.append(row)
                print(f"{group:11s} {voice:12s} {text!r:16} -> {heard.text!r:28} {row['confidence']:.2f}")
    ranges = {}
    for group in ("short words", "hums"):
        heard = [r["confidence"] for r in rows if r["group"] == group and r["holds_the_turn"]]
        ranges[group] = [min(heard), max(heard)] if heard else None
    print("confidence of what came out as words that hold the turn:", ranges)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    report = {"command": "python -m benchmarks.overlap_confidence", "ranges": ranges, "sounds": rows}
    OUT.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
