import json
import subprocess
import sys

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
