"""Voice latency over >= 50 turns with the real tiny.en model, one call at a time, on this machine.

    python -m benchmarks.voice_latency [--calls 12] [--seed 100] [--concurrency 1]

Runs `python -m agent_runtime simulate` in audio mode (debtor speech paced at real time) and writes
results/voice_latency.json: count, p50, p95 and max in ms per stage (endpointing, stt, engine, tts_first_byte) and
end to end (last debtor speech sample -> first agent audio sample). Goals: p50 <= 600 ms, p95 <= 900 ms for one call
at a time; p95 <= 1.2 s with 4 concurrent calls (results/voice_latency_c4.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from agent_runtime import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--out", type=Path, help="default: results/voice_latency.json, or _cN.json with concurrency N")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        options = simulate.options(calls=args.calls, seed=args.seed, out=Path(folder), concurrency=args.concurrency)
        summary = asyncio.run(simulate.run(options))
    e2e = summary["latency_ms"]["e2e"]
    goals = {"p50": 600, "p95": 900} if args.concurrency == 1 else {"p95": 1200}
    report = {
        **summary,
        "concurrency": args.concurrency,
        "goals_ms": goals,
        "goals_met": {k: e2e[k] <= v for k, v in goals.items()},
        "command": f"python -m benchmarks.voice_latency --calls {args.calls} --seed {args.seed} "
        f"--concurrency {args.concurrency}",
    }
    out = args.out or Path("results") / (
        "voice_latency.json" if args.concurrency == 1 else f"voice_latency_c{args.concurrency}.json"
    )
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
