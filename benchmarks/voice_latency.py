"""Voice latency over >= 50 turns with the real tiny.en model, one call at a time, on this machine.

    python -m benchmarks.voice_latency [--calls 8] [--seed 100]

Runs `python -m agent_runtime simulate` in audio mode (debtor speech paced at real time) and writes
results/voice_latency.json: count, p50, p95 and max in ms per stage (endpointing, stt, engine, tts_first_byte) and
end to end (last debtor speech sample -> first agent audio sample). Goals: p50 <= 600 ms, p95 <= 900 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from agent_runtime.simulate import DEFAULT_POLICY, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("results/voice_latency.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        options = argparse.Namespace(
            calls=args.calls,
            seed=args.seed,
            out=Path(folder),
            text=False,
            events=None,
            mqtt=None,
            policy=DEFAULT_POLICY,
            print=False,
        )
        summary = asyncio.run(run(options))
    e2e = summary["latency_ms"]["e2e"]
    report = {
        **summary,
        "goals_ms": {"p50": 600, "p95": 900},
        "p50_met": e2e["p50"] <= 600,
        "p95_met": e2e["p95"] <= 900,
        "concurrency": 1,
        "command": f"python -m benchmarks.voice_latency --calls {args.calls} --seed {args.seed}",
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
