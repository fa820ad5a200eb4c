"""End-of-turn detection: premature replies inside mid-sentence pauses vs reply latency on complete utterances.

    nice -n 5 python -m benchmarks.end_of_turn [--seed 0] [--limit N]

Test set, built at run time from data/end_of_turn/sentences.txt (what debtors say; no audio is committed): each
sentence is synthesised whole with Piper (en_US-joe, the most natural voice installed; duration noise off so that
word timings repeat), once as it is (a complete utterance) and once with a silence of 0.3-0.8 s (seeded, uniform)
inserted at a word boundary: half of the sentences at a clause boundary (after a comma, before "and", "but",
"because", ...), half mid-clause, the boundary drawn uniformly among the sentence's boundaries of that kind. A
boundary's place in the waveform is the energy minimum nearest the length of the prefix synthesised alone (cutting
the whole sentence keeps its continuing intonation; a fragment synthesised alone would end on a falling tone).

Replay: each utterance goes through what the voice session does (livekit-agents 1.8 `audio_recognition`): the
worker's silero VAD (min_silence_duration 0.2 s) closes speech segments; the real tiny.en model (cpu_threads=1)
transcribes each segment, and the turn's transcript is the segments' texts joined; the detector judges the turn;
the turn ends `min_delay` after the last speech if the detector finds it likely over, else `max_delay` (the cap),
and never before the transcript (and the audio model's prediction) is there; speech resuming before then cancels
it. The `v1-mini` audio model predicts on the last 1.2 s once the VAD has heard 0.2 s of silence, as livekit's
local transport does. Detectors: none (the fixed silence), text cues, audio (v1-mini, livekit's English threshold
0.36), and text+audio (wait if either finds the turn unfinished). Compute times are measured here, on a loaded
2-core machine.

A reply is premature when the turn is committed before the debtor's last speech sample. End to end on a complete
utterance = commit time - last speech sample + the reply stages after the commit (policy, wording, first TTS audio,
audio output), taken from results/voice_latency.json as its e2e p50 minus the fixed 0.45 s endpointing it ran with.

The text cues' price on complete turns beyond this set: the share of the DST's recognised utterances
(data/dst/*_asr*.jsonl, every one a whole utterance) they judge unfinished, per voice and channel; each waits for
the cap.

Writes results/end_of_turn.json (every configuration's figures, each utterance's segments) and
results/end_of_turn.png (the cap against premature % and against e2e p50/p95). Goals: premature <= 2 % on paused
utterances; e2e p50 <= 400 ms and p95 <= 700 ms on complete ones.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from livekit import rtc
from tqdm import tqdm

from agent_runtime.speech.end_of_turn import end_of_turn_probability, sounds_unfinished
from agent_runtime.speech.whisper import SAMPLE_RATE, load_model, transcribe

SENTENCES = Path("data/end_of_turn/sentences.txt")
RECOGNISED_UTTERANCES = "data/dst/*_asr*.jsonl"
PAUSE_SECONDS = (0.3, 0.8)
LEAD_SECONDS = 0.5
TAIL_SECONDS = 3.0  # longer than the longest cap: every turn ends inside the utterance's audio
SPEECH_THRESHOLD = 300  # int16 amplitude above which a sample counts as speech (about -40 dBFS)
ENERGY_FRAME = SAMPLE_RATE // 100  # 10 ms
BOUNDARY_SEARCH = (0.2, 0.05)  # seconds before and after the prefix's own length (it ends lengthened when alone)
# energy (int16 RMS) a 10 ms frame's distance from the prefix's length costs: of two silent gaps, the nearer wins
DISTANCE_PENALTY = 2.0
CLAUSE_STARTERS = {"and", "but", "because", "so", "if", "when", "or", "since", "unless", "until", "while"}
# the worker's silero setting, and the least livekit accepts with its audio detector (which predicts after 0.2 s of
# silence: with 0.2 s, the VAD closes the segment first and the prediction never comes)
VAD_MIN_SILENCES = {"worker": 0.2, "audio": 0.25}
AUDIO_PREDICT_SILENCE = 0.2  # livekit's MIN_SILENCE_DURATION_MS: the audio model predicts after this much silence
AUDIO_WINDOW = 19_200  # samples: livekit's 1.2 s client buffer, the v1-mini model's receptive field
AUDIO_THRESHOLD = 0.36  # livekit.agents.inference.eot.languages.LOCAL_LANGUAGES["en"]
DETECTORS = ("none", "text", "audio", "text+audio")
MIN_DELAYS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9)
CAPS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0)
GOALS = {"premature_pct": 2.0, "e2e_p50_ms": 400.0, "e2e_p95_ms": 700.0}
# compute on this machine without other jobs: tiny.en's p95 in results/voice_latency.json, v1-mini's 24-27 ms
# measured alone; the times measured here (other benchmarks share the 2 cores) are reported beside them
NOMINAL_SECONDS = (0.170, 0.030)
FIXED_ENDPOINTING = 0.45  # the min_delay results/voice_latency.json was measured with


@dataclass
class Utterance:
    sentence: str
    kind: str  # complete | clause | mid_clause
    audio: np.ndarray = field(repr=False)  # 16 kHz int16, LEAD_SECONDS of silence before, TAIL_SECONDS after
    speech_end: float  # seconds: the last speech sample
    cut_after_words: int | None = None  # the pause follows this many words
    pause: tuple[float, float] | None = None  # seconds: where the inserted silence starts and ends


@dataclass
class Segment:
    """One VAD speech segment and what the session knows when it closes (times in seconds of the utterance)."""

    last_speaking: float  # livekit's `last_speaking_time`: the VAD's end of speech
    closed_at: float  # the VAD reports END_OF_SPEECH
    audio_requested_at: float  # the VAD has heard 0.2 s of silence: the v1-mini model predicts
    resumed_at: float | None  # the VAD reports the next START_OF_SPEECH
    transcript: str  # the turn's transcript so far
    stt_seconds: float
    audio_seconds: float  # the v1-mini prediction's compute time
    text_probability: float
    audio_probability: float


# -- the test set --------------------------------------------------------------------------------------------------


def sentences(path: Path = SENTENCES) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def word_boundaries(sentence: str) -> dict[str, list[int]]:
    """Positions i (the pause goes after word i) by kind: a clause boundary follows a comma or precedes a clause
    starter; every other boundary is mid-clause."""
    words = sentence.split()
    kinds: dict[str, list[int]] = {"clause": [], "mid_clause": []}
    for i in range(1, len(words)):
        clause = words[i - 1].endswith(",") or words[i].lower() in CLAUSE_STARTERS
        kinds["clause" if clause else "mid_clause"].append(i)
    return kinds


def trimmed(pcm: np.ndarray) -> np.ndarray:
    voiced = np.flatnonzero(np.abs(pcm.astype(np.int32)) > SPEECH_THRESHOLD)
    return pcm[voiced[0] : voiced[-1] + 1] if voiced.size else pcm


def piper_speech(voice, text: str) -> np.ndarray:
    """Piper's speech of `text` at 16 kHz int16, silence trimmed; duration noise off, so timings repeat."""
    from piper import SynthesisConfig

    pcm = np.concatenate([c.audio_int16_array for c in voice.synthesize(text, SynthesisConfig(noise_w_scale=0.0))])
    rate = voice.config.sample_rate
    frame = rtc.AudioFrame(pcm.tobytes(), rate, 1, len(pcm))
    resampler = rtc.AudioResampler(input_rate=rate, output_rate=SAMPLE_RATE, num_channels=1)
    frames = [*resampler.push(frame), *resampler.flush()]
    return trimmed(np.concatenate([np.frombuffer(bytes(f.data), np.int16) for f in frames]))


def boundary_sample(whole: np.ndarray, prefix_samples: int) -> int:
    """The quietest 10 ms of `whole` near where its prefix ends (the nearer of two quiet ones): the gap between two
    words."""
    padded = np.pad(whole.astype(np.float32), (0, -len(whole) % ENERGY_FRAME))
    energy = np.sqrt(np.mean(padded.reshape(-1, ENERGY_FRAME) ** 2, axis=1))
    centre = prefix_samples // ENERGY_FRAME
    low = max(1, centre - int(BOUNDARY_SEARCH[0] * 100))
    high = min(len(energy) - 1, centre + int(BOUNDARY_SEARCH[1] * 100) + 1)
    frames = np.arange(low, high)
    quietest = frames[np.argmin(energy[low:high] + DISTANCE_PENALTY * np.abs(frames - centre))]
    return int(quietest) * ENERGY_FRAME + ENERGY_FRAME // 2


def with_pause(speech: np.ndarray, at: int, seconds: float) -> np.ndarray:
    """`speech` with `seconds` of silence inserted at sample `at`."""
    return np.concatenate([speech[:at], np.zeros(round(seconds * SAMPLE_RATE), np.int16), speech[at:]])


def padded(speech: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [
            np.zeros(int(LEAD_SECONDS * SAMPLE_RATE), np.int16),
            speech,
            np.zeros(int(TAIL_SECONDS * SAMPLE_RATE), np.int16),
        ]
    )


def build_test_set(texts: list[str], voice, seed: int) -> list[Utterance]:
    """Each sentence whole, and with a pause: half of the sentences (drawn with `seed`) at a clause boundary, half
    mid-clause, the boundary and the pause's length drawn with `seed` too."""
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    kind_of = {index: ("clause" if rank < len(texts) // 2 else "mid_clause") for rank, index in enumerate(order)}
    utterances = []
    for index, text in enumerate(tqdm(texts, desc="synthesising (Piper joe)", unit="sentence")):
        kind = kind_of[index]
        cut_after = rng.choice(word_boundaries(text)[kind])
        pause = rng.uniform(*PAUSE_SECONDS)
        whole = piper_speech(voice, text)
        prefix = " ".join(text.split()[:cut_after]).rstrip(",")
        at = boundary_sample(whole, len(piper_speech(voice, prefix)))
        lead = LEAD_SECONDS
        utterances.append(Utterance(text, "complete", padded(whole), lead + len(whole) / SAMPLE_RATE))
        utterances.append(
            Utterance(
                text,
                kind,
                padded(with_pause(whole, at, pause)),
                lead + len(whole) / SAMPLE_RATE + pause,
                cut_after_words=cut_after,
                pause=(lead + at / SAMPLE_RATE, lead + at / SAMPLE_RATE + pause),
            )
        )
    return utterances


def complete_turns_judged_unfinished(pattern: str = RECOGNISED_UTTERANCES) -> dict[str, dict]:
    """Per voice (and channel): how many whole recognised utterances the text cues judge unfinished."""
    counts: dict[str, list[int]] = {}
    for path in sorted(Path().glob(pattern)):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            heard = counts.setdefault("/".join(filter(None, (row["voice"], row.get("channel")))), [0, 0])
            heard[0] += 1
            heard[1] += sounds_unfinished(row["text"])
    return {key: {"utterances": n, "unfinished_pct": round(100 * late / n, 1)} for key, (n, late) in counts.items()}


# -- the replay ------------------------------------------------------------------------------------------------


async def vad_events(vad, audio: np.ndarray) -> list:
    stream = vad.stream()
    frame = SAMPLE_RATE // 50
    for start in range(0, len(audio), frame):
        chunk = audio[start : start + frame]
        stream.push_frame(rtc.AudioFrame(chunk.tobytes(), SAMPLE_RATE, 1, len(chunk)))
    stream.end_input()
    events = [event async for event in stream]
    await stream.aclose()
    return events


def segments_of(utterance: Utterance, events: list, whisper, eot) -> list[Segment]:
    """The VAD's segments of the utterance, each with the turn's transcript so far and both detectors' readings."""
    from livekit.agents.vad import VADEventType

    segments: list[Segment] = []
    said: list[str] = []
    audio_requested_at: float | None = None
    audio_probability = audio_seconds = 0.0
    speaking = False
    for event in events:
        at = event.samples_index / SAMPLE_RATE + event.inference_duration
        if event.type is VADEventType.START_OF_SPEECH:
            speaking, audio_requested_at = True, None
            if segments and segments[-1].resumed_at is None:
                segments[-1].resumed_at = at
        elif event.type is VADEventType.INFERENCE_DONE:
            if speaking and audio_requested_at is None and event.raw_accumulated_silence >= AUDIO_PREDICT_SILENCE:
                end = event.samples_index
                window = utterance.audio[max(0, end - AUDIO_WINDOW) : end]
                started = time.perf_counter()
                audio_probability = float(eot.predict(window))
                audio_seconds = time.perf_counter() - started
                audio_requested_at = at
        elif event.type is VADEventType.END_OF_SPEECH:
            speaking = False
            speech = np.concatenate([np.frombuffer(bytes(f.data), np.int16) for f in event.frames])
            heard = transcribe(whisper, speech.astype(np.float32) / 32768.0)
            said.append(heard.text)
            transcript = " ".join(t for t in said if t)
            segments.append(
                Segment(
                    last_speaking=event.samples_index / SAMPLE_RATE - event.silence_duration,
                    closed_at=at,
                    audio_requested_at=audio_requested_at if audio_requested_at is not None else at,
                    resumed_at=None,
                    transcript=transcript,
                    stt_seconds=heard.seconds,
                    audio_seconds=audio_seconds if audio_requested_at is not None else 0.0,
                    text_probability=end_of_turn_probability(transcript),
                    # no prediction: livekit ends the turn after min_delay
                    audio_probability=audio_probability if audio_requested_at is not None else 1.0,
                )
            )
    return segments


def looks_finished(segment: Segment, detector: str) -> bool:
    text = segment.text_probability >= 0.5
    audio = segment.audio_probability >= AUDIO_THRESHOLD
    return {"none": True, "text": text, "audio": audio, "text+audio": text and audio}[detector]


def commit_time(segments: list[Segment], detector: str, min_delay: float, cap: float, nominal: bool) -> float | None:
    """When the session commits the turn (livekit's `_bounce_eou_task`), or None if it never does; recognition and
    the audio model take their `NOMINAL_SECONDS` where `nominal`, else the time they took here."""
    for segment in segments:
        if not segment.transcript:  # livekit waits for a transcript before it ends a turn
            continue
        stt_seconds, audio_seconds = NOMINAL_SECONDS if nominal else (segment.stt_seconds, segment.audio_seconds)
        ready = segment.closed_at + stt_seconds
        if "audio" in detector:
            ready = max(ready, segment.audio_requested_at + audio_seconds)
        delay = min_delay if looks_finished(segment, detector) else cap
        commit = max(ready, segment.last_speaking + delay)
        if segment.resumed_at is None or segment.resumed_at > commit:
            return commit
    return None


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def evaluate(replays: list[tuple[Utterance, list[Segment]]], detector: str, min_delay: float, cap: float,
             reply_ms: float, nominal: bool) -> dict:  # fmt: skip
    premature = {"clause": [], "mid_clause": [], "complete": []}
    e2e = []
    for utterance, segments in replays:
        commit = commit_time(segments, detector, min_delay, cap, nominal)
        early = commit is not None and commit < utterance.speech_end
        premature[utterance.kind].append(early)
        if utterance.kind == "complete" and commit is not None and not early:
            e2e.append((commit - utterance.speech_end) * 1000 + reply_ms)
    paused = premature["clause"] + premature["mid_clause"]
    return {
        "detector": detector,
        "compute": "nominal" if nominal else "measured here",
        "min_delay": min_delay,
        "max_delay": cap,
        "premature_pct": round(100 * float(np.mean(paused)), 2),
        "premature_pct_clause": round(100 * float(np.mean(premature["clause"])), 2),
        "premature_pct_mid_clause": round(100 * float(np.mean(premature["mid_clause"])), 2),
        "premature_pct_complete": round(100 * float(np.mean(premature["complete"])), 2),
        "e2e_p50_ms": percentile(e2e, 50),
        "e2e_p95_ms": percentile(e2e, 95),
        "complete_replied": len(e2e),
    }


def meets(row: dict) -> dict[str, bool]:
    return {
        "premature": row["premature_pct"] <= GOALS["premature_pct"],
        "p50": row["e2e_p50_ms"] is not None and row["e2e_p50_ms"] <= GOALS["e2e_p50_ms"],
        "p95": row["e2e_p95_ms"] is not None and row["e2e_p95_ms"] <= GOALS["e2e_p95_ms"],
    }


def best(rows: list[dict]) -> dict:
    """The fastest configuration (p95, then p50) within the premature goal; else the one that cuts in least."""
    safe = [r for r in rows if meets(r)["premature"] and r["e2e_p95_ms"] is not None]
    if safe:
        return min(safe, key=lambda r: (r["e2e_p95_ms"], r["e2e_p50_ms"]))
    return min(rows, key=lambda r: (r["premature_pct"], r["e2e_p95_ms"] or float("inf")))


def plot(rows: list[dict], chosen: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for detector, colour in zip(DETECTORS, ("grey", "tab:blue", "tab:orange", "tab:green"), strict=True):
        if detector == "none":  # the fixed silence: its one delay is the cap
            curve = sorted((r for r in rows if r["detector"] == "none"), key=lambda r: r["min_delay"])
            caps = [r["min_delay"] for r in curve]
            label = "fixed silence (x = the delay)"
        else:
            curve = sorted(
                (r for r in rows if r["detector"] == detector and r["min_delay"] == chosen["min_delay"]),
                key=lambda r: r["max_delay"],
            )
            caps = [r["max_delay"] for r in curve]
            label = f"{detector}, min_delay {chosen['min_delay']} s"
        left.plot(caps, [r["premature_pct"] for r in curve], "o-", color=colour, label=label)
        right.plot(caps, [r["e2e_p50_ms"] for r in curve], "o-", color=colour, label=f"{label}: p50")
        right.plot(caps, [r["e2e_p95_ms"] for r in curve], "s--", color=colour, label=f"{label}: p95")
    left.axhline(GOALS["premature_pct"], color="red", lw=0.8, ls=":", label="goal 2 %")
    right.axhline(GOALS["e2e_p50_ms"], color="red", lw=0.8, ls=":", label="goals 400 / 700 ms")
    right.axhline(GOALS["e2e_p95_ms"], color="red", lw=0.8, ls=":")
    left.set(xlabel="wait cap, max_delay (s)", ylabel="premature replies in mid-sentence pauses (%)")
    right.set(xlabel="wait cap, max_delay (s)", ylabel="end to end on complete utterances (ms)")
    left.legend(fontsize=7)
    right.legend(fontsize=6, ncol=2)
    figure.suptitle("End-of-turn detection: wait cap vs premature replies and reply latency (Piper joe, tiny.en)")
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def default_row(rows: list[dict]) -> dict:
    """The row of the text-cue detector with agent_runtime.voice.TURN_HANDLING's delays."""
    from agent_runtime.voice import TURN_HANDLING

    delays = TURN_HANDLING["endpointing"]
    return next(
        r
        for r in rows
        if r["detector"] == "text" and (r["min_delay"], r["max_delay"]) == (delays["min_delay"], delays["max_delay"])
    )


def plotted_vad(detector: str) -> float:
    """The worker's VAD setting where the detector runs with it, else the least the audio detector accepts."""
    return VAD_MIN_SILENCES["audio" if "audio" in detector else "worker"]


def command(args: argparse.Namespace) -> str:
    limit = f" --limit {args.limit}" if args.limit else ""
    return f"nice -n 5 python -m benchmarks.end_of_turn --seed {args.seed}{limit}"


async def replay_all(utterances: list[Utterance]) -> tuple[dict[float, list[tuple[Utterance, list[Segment]]]], dict]:
    """Each utterance's segments under each VAD setting, and the load average while it ran."""
    from livekit.local_inference import EOT
    from livekit.plugins import silero

    whisper = load_model(cpu_threads=1)
    eot = EOT()
    replays: dict[float, list] = {}
    load = [os.getloadavg()]
    for min_silence in VAD_MIN_SILENCES.values():
        vad = silero.VAD.load(min_silence_duration=min_silence)
        replays[min_silence] = []
        for utterance in tqdm(utterances, desc=f"replaying, VAD min silence {min_silence} s", unit="utterance"):
            events = await vad_events(vad, utterance.audio)
            replays[min_silence].append((utterance, segments_of(utterance, events, whisper, eot)))
            load.append(os.getloadavg())
    return replays, {"start": load[0], "max_1min": max(entry[0] for entry in load), "end": load[-1]}


def sweep(replays: dict[float, list], reply_ms: float) -> list[dict]:
    """Every detector, delay and cap, under every VAD setting it can run with, with nominal and measured compute."""
    rows = []
    for (min_silence, runs), detector, nominal in itertools.product(replays.items(), DETECTORS, (True, False)):
        if "audio" in detector and min_silence < VAD_MIN_SILENCES["audio"]:
            continue
        for min_delay, cap in itertools.product(MIN_DELAYS, CAPS if detector != "none" else (None,)):
            if detector == "none" or cap >= min_delay:
                row = evaluate(runs, detector, min_delay, cap or min_delay, reply_ms, nominal)
                rows.append({"vad_min_silence": min_silence} | row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="only the first N sentences (a quick look)")
    parser.add_argument("--out", type=Path, default=Path("results/end_of_turn.json"))
    args = parser.parse_args()
    from agent_runtime.speech.piper import default_voice

    texts = sentences()[: args.limit]
    utterances = build_test_set(texts, default_voice(), args.seed)
    replays, load = asyncio.run(replay_all(utterances))
    voice_latency = json.loads(Path("results/voice_latency.json").read_text())["latency_ms"]
    reply_ms = voice_latency["e2e"]["p50"] - FIXED_ENDPOINTING * 1000
    rows = sweep(replays, reply_ms)
    headline = [r for r in rows if r["compute"] == "nominal" and r["vad_min_silence"] == plotted_vad(r["detector"])]
    chosen = default_row(headline)
    fixed_now = next(r for r in headline if r["detector"] == "none" and r["min_delay"] == FIXED_ENDPOINTING)
    per_detector = {d: best([r for r in headline if r["detector"] == d]) for d in DETECTORS}
    report = {
        "test_set": {
            "sentences": len(texts),
            "utterances": {k: sum(u.kind == k for u in utterances) for k in ("complete", "clause", "mid_clause")},
            "pause_seconds": list(PAUSE_SECONDS),
            "voice": "piper en_US-joe-medium (noise_w_scale 0)",
            "seed": args.seed,
        },
        "reply_stages_ms": round(reply_ms, 1),
        "nominal_compute_ms": {"stt": NOMINAL_SECONDS[0] * 1000, "audio_model": NOMINAL_SECONDS[1] * 1000},
        "measured_compute_ms": {
            stage: {
                q: percentile([t * 1000 for s in segments if (t := getattr(s, f"{stage}_seconds"))], q)
                for q in (50, 95)
            }
            for stage in ("stt", "audio")
            if (segments := [s for runs in replays.values() for _, ss in runs for s in ss])
        },
        "load_average": load,
        "goals": GOALS,
        "fixed_silence_now": fixed_now | {"goals_met": meets(fixed_now)},
        "best_per_detector": {d: row | {"goals_met": meets(row)} for d, row in per_detector.items()},
        "default_in_turn_handling": chosen | {"goals_met": meets(chosen)},
        "complete_turns_waiting_the_cap": complete_turns_judged_unfinished(),
        "best_by_rule": best([r for r in headline if r["detector"] != "none"]),
        "configurations": rows,
        "utterances": [
            {
                "sentence": u.sentence,
                "kind": u.kind,
                "cut_after_words": u.cut_after_words,
                "pause": [round(x, 3) for x in u.pause] if u.pause else None,
                "speech_end": round(u.speech_end, 3),
                "segments": {
                    str(min_silence): [
                        {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(s).items()}
                        for s in runs[index][1]
                    ]
                    for min_silence, runs in replays.items()
                },
            }
            for index, u in enumerate(utterances)
        ],
        "command": command(args),
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    plot(headline, chosen, args.out.with_suffix(".png"))
    shown = ("fixed_silence_now", "best_per_detector", "default_in_turn_handling", "complete_turns_waiting_the_cap")
    summary = {k: report[k] for k in shown}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
