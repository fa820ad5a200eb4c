"""Can the recogniser tell a misheard backchannel from a short real interruption?

    python -m benchmarks.overlap_confidence

A development set apart from benchmarks/barge_in.py's sounds: short words a debtor may say over the agent ("stop",
"no", "wait", ...) and hums spelled other ways ("mm", "mhmm", "hm-hmm", ...), each in espeak-ng en-us, espeak-ng
en-gb and Piper joe, recognised by tiny.en as the runtime does (speech.whisper.transcribe). For each sound that comes
out as words holding the turn, two scores:
- confidence: exp of the mean token log-probability of the transcript (the recogniser's own);
- backchannel gap: how many nats the likeliest rival backchannel reading (speech.overlap.rival_readings) lies below
  the words heard (speech.whisper.reading_log_likelihoods; OverlapFilter's rule with
  BACKCHANNEL_LOG_LIKELIHOOD_MARGIN).
Prints and writes results/overlap_confidence.json: each sound's transcript and scores, each group's range, and the
time of the recognition and of the scoring (p50, p95). Where the groups' ranges overlap, no threshold on that score
withholds the misheard hums without dropping real words.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

SHORT_WORDS = (
    "stop", "wait", "no", "hold on", "what?", "sorry?", "I paid", "no way", "not now", "wrong number", "okay, no",
    "yeah, but no", "right, stop",
)  # fmt: skip
HUMS = ("mm", "hmm", "uh huh", "mhmm", "m-hm", "mm-hm", "ah-ha", "uh-hum", "hm-hmm")
OUT = Path("results/overlap_confidence.json")


def main() -> None:
    from agent_runtime.speech.overlap import holds_the_turn, rival_readings
    from agent_runtime.speech.piper import default_voice
    from agent_runtime.speech.whisper import default_model, reading_log_likelihoods, transcribe
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
                audio = speak(text).astype(np.float32) / 32768.0
                heard = transcribe(whisper, audio)
                row = {"group": group, "said": text, "voice": voice, "heard": heard.text}
                row |= {"confidence": round(heard.confidence or 0.0, 3), "holds_the_turn": holds_the_turn(heard.text)}
                if row["holds_the_turn"]:
                    rivals = rival_readings(heard.text)
                    started = time.perf_counter()
                    words, *readings = reading_log_likelihoods(whisper, audio, [heard.text, *rivals])
                    row["scoring_ms"] = round((time.perf_counter() - started) * 1000, 1)
                    row["recognition_ms"] = round(heard.seconds * 1000, 1)
                    best = int(np.argmax(readings))
                    row |= {"backchannel_gap": round(words - readings[best], 2), "likeliest": rivals[best]}
                rows.append(row)
                gap = f"{row['backchannel_gap']:6.2f} below {row['likeliest']!r}" if "backchannel_gap" in row else ""
                print(f"{group:11s} {voice:12s} {text!r:16} -> {heard.text!r:24} {row['confidence']:.2f} {gap}")
    ranges = {}
    for score in ("confidence", "backchannel_gap"):
        for group in ("short words", "hums"):
            heard = [r[score] for r in rows if r["group"] == group and r["holds_the_turn"]]
            ranges[f"{score}, {group}"] = [min(heard), max(heard)] if heard else None
    for stage in ("recognition_ms", "scoring_ms"):
        times = [r[stage] for r in rows if stage in r]
        ranges[f"{stage} p50, p95"] = [round(float(np.percentile(times, q)), 1) for q in (50, 95)]
    print("over what came out as words that hold the turn:", json.dumps(ranges))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    report = {"command": "python -m benchmarks.overlap_confidence", "ranges": ranges, "sounds": rows}
    OUT.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
