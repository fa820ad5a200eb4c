import json
import subprocess
import sys

import pytest

from agent_runtime.contracts.dst import DST_SCHEMA_VERSION
from agent_runtime.events.store import read_events


def simulate(out, *options: str) -> str:
    """Run `python -m agent_runtime simulate` with a scripted policy; returns its stdout."""
    command = [
        sys.executable,
        "-m",
        "agent_runtime",
        "simulate",
        "--out",
        str(out),
        "--policy",
        "scripted:best_practice",
        *options,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"simulate exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def transcripts(out) -> list[str]:
    return [p.read_text() for p in sorted((out / "transcripts").glob("*.txt"))]


def test_simulate_text_writes_transcripts_latency_and_events(tmp_path):
    summary = json.loads(simulate(tmp_path, "--text", "--calls", "3", "--seed", "4"))
    assert summary["calls"] == 3 and sum(summary["outcomes"].values()) == 3
    texts = transcripts(tmp_path)
    assert len(texts) == 3
    for text in texts:  # the debt is disclosed once the debtor is reached, and only then
        reached = "guard disclosure" in text
        assert ("This is an attempt to collect a debt" in text) is reached and "outcome:" in text
    latency = json.loads((tmp_path / "latency.json").read_text())
    assert set(latency) == {"engine", "e2e"} and latency["e2e"]["count"] > 3
    events = list(read_events(tmp_path / "events.db"))
    kinds = [e.type for e in events]
    assert kinds.count("call_opened") == 3 and kinds.count("call_closed") == 3 and "turn" in kinds
    # every turn names the DST model and the wording templates it was made with, as its call's opening does
    opened = {e.call_id: e for e in events if e.type == "call_opened"}
    for turn in (e for e in events if e.type == "turn"):
        assert turn.dst_version.startswith(f"{DST_SCHEMA_VERSION}+intent-")
        assert turn.templates_version.startswith("templates-")
        assert (turn.dst_version, turn.templates_version) == (
            opened[turn.call_id].dst_version,
            opened[turn.call_id].templates_version,
        )
    # the run's metrics, recorded by the same controller that wrote the events
    metrics = (tmp_path / "metrics.prom").read_text()
    closed = sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("agent_calls_total{"))
    assert closed == 3 and f'agent_stage_latency_seconds_count{{stage="e2e"}} {kinds.count("turn")}.0' in metrics


def test_simulate_is_reproducible_under_a_seed(tmp_path):
    simulate(tmp_path / "a", "--text", "--calls", "2", "--seed", "9")
    simulate(tmp_path / "b", "--text", "--calls", "2", "--seed", "9")
    assert transcripts(tmp_path / "a") == transcripts(tmp_path / "b")


def test_one_call_per_persona(tmp_path):
    simulate(tmp_path, "--text", "--calls", "4", "--one-per-persona")
    personas = [text.rsplit("hidden persona: ", 1)[1].strip(" ]\n") for text in transcripts(tmp_path)]
    assert personas == ["cooperative", "sad", "avoidant", "angry"]


@pytest.mark.slow
def test_simulate_through_the_audio_path_records_and_measures(tmp_path):
    stdout = simulate(tmp_path, "--calls", "1", "--seed", "1")  # seed 1 reaches the debtor (0 and 2: a third party)
    assert json.loads(stdout[stdout.index("{") :])["calls"] == 1
    latency = json.loads((tmp_path / "latency.json").read_text())
    assert {"e2e", "stt", "endpointing", "engine", "tts_first_byte"} <= set(latency)
    assert 100 < latency["e2e"]["p50"] < 5000  # milliseconds, measured from the audio
    recording = tmp_path / "recordings" / "call-000.wav"
    assert recording.stat().st_size > 16_000 * 2 * 5  # more than five seconds of conversation
    (transcript,) = transcripts(tmp_path)
    assert "[heard:" in transcript and "This is an attempt to collect a debt" in transcript
