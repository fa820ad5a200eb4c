"""Example voice calls, one per hidden persona, with transcripts and small audio files (Ogg Vorbis).

    python -m benchmarks.example_recordings [--seed 11] [--out docs/recordings]

Runs `python -m agent_runtime simulate --one-per-persona` through the full audio path with the committed policy,
then keeps each call's transcript and its recording encoded by sox at quality 2 (a few hundred KB a call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from agent_runtime import simulate
from simulator.personas import PERSONAS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path("docs/recordings"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        options = simulate.options(calls=len(PERSONAS), seed=args.seed, out=work, concurrency=2, one_per_persona=True)
        summary = asyncio.run(simulate.run(options))
        for index, persona in enumerate(PERSONAS):
            name = f"{index:02d}-{persona.value}"
            shutil.copyfile(work / "transcripts" / f"call-{index:03d}.txt", args.out / f"{name}.txt")
            subprocess.run(
                ["sox", str(work / "recordings" / f"call-{index:03d}.wav"), "-C", "2", str(args.out / f"{name}.ogg")],
                check=True,
            )
    summary["command"] = f"python -m benchmarks.example_recordings --seed {args.seed}"
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
