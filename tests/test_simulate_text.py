import json
import subprocess
import sys

import pytest

from agent_runtime.events.store import read_events


def test_simulate_text_writes_transcripts_latency_and_events(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent_runtime",
            "simulate",
            "--text",
            "--calls",
            "3",
            "--seed",
            "4",
            "--out",
            str(tmp_path),
            "--policy",
            "scripted:best_practice",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    summary = json.loads(result.stdout)
    assert summary["calls"] == 3 and sum(summary["outcomes"].values()) == 3
    transcripts = sorted((tmp_path / "transcripts").glob("call-*.txt"))
    assert len(transcripts) == 3
    first = transcripts[0].read_text()
    assert "This is an attempt to collect a debt" in first and "outcome:" in first
    latency = json.loads((tmp_path / "latency.json").read_text())
    assert set(latency) == {"engine", "e2e"} and latency["e2e"]["count"] > 3
    kinds = [e["type"] for e in read_events(tmp_path / "events.db")]
    assert kinds.count("call_opened") == 3 and kinds.count("call_closed") == 3 and "turn" in kinds


def test_simulate_is_reproducible_under_a_seed(tmp_path):
    def transcript(folder):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "agent_runtime",
                "simulate",
                "--text",
                "--calls",
                "2",
                "--seed",
                "9",
                "--out",
                str(folder),
                "--policy",
                "scripted:best_practice",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        )
        return [p.read_text() for p in sorted((folder / "transcripts").glob("*.txt"))]

    assert transcript(tmp_path / "a") == transcript(tmp_path / "b")


@pytest.mark.slow
def test_simulate_through_the_audio_path_records_and_measures(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent_runtime",
            "simulate",
            "--calls",
            "1",
            "--seed",
            "2",
            "--out",
            str(tmp_path),
            "--policy",
            "scripted:best_practice",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert json.loads(result.stdout[result.stdout.index("{") :])["calls"] == 1
    latency = json.loads((tmp_path / "latency.json").read_text())
    assert {"e2e", "stt", "endpointing", "engine", "tts_first_byte"} <= set(latency)
    assert 100 < latency["e2e"]["p50"] < 5000  # milliseconds, measured from the audio
    recording = tmp_path / "recordings" / "call-000.wav"
    assert recording.stat().st_size > 16_000 * 2 * 5  # more than five seconds of conversation
    transcript = (tmp_path / "transcripts" / "call-000.txt").read_text()
    assert "[heard:" in transcript and "This is an attempt to collect a debt" in transcript


def test_one_call_per_persona(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "agent_runtime",
            "simulate",
            "--text",
            "--calls",
            "4",
            "--one-per-persona",
            "--out",
            str(tmp_path),
            "--policy",
            "scripted:best_practice",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    personas = [
        p.read_text().rsplit("hidden persona: ", 1)[1].strip(" ]\n")
        for p in sorted((tmp_path / "transcripts").glob("*.txt"))
    ]
    assert personas == ["cooperative", "sad", "avoidant", "angry"]
