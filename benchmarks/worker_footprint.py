"""What a worker process loads: `python -m benchmarks.worker_footprint [--policy SPEC]`.

In a fresh process: import the LiveKit worker, then do what its prewarm does (settings, the policy, silero VAD,
tiny.en, the DST with its sentence encoder), then run one text call through CallServices. Reports the resident
memory (VmRSS) after each step and which of training, the simulator and torch got imported. Writes
results/worker_footprint.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import asyncio, json, sys
from datetime import date
from pathlib import Path

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return round(int(line.split()[1]) / 1024, 1)

steps = {"start": rss_mb()}
import agent_runtime.worker
steps["worker imported"] = rss_mb()
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.policy_source import load_policy
from agent_runtime.settings import load_settings
settings = load_settings()
policy = load_policy(sys.argv[1] or settings.policy_checkpoint)
tracker = DialogueStateTracker(warm=True)
steps["policy and DST loaded"] = rss_mb()
from livekit.plugins import silero
from agent_runtime.speech.backends import SpeechSettings
vad = silero.VAD.load(min_silence_duration=0.2)
whisper = SpeechSettings.of(settings).load_local_models()
steps["VAD and tiny.en loaded (prewarm)"] = rss_mb()
from prometheus_client import CollectorRegistry
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.services import CallServices
from telemetry.metrics import RuntimeMetrics

async def call():
    services = CallServices(policy, tracker, RuntimeMetrics(CollectorRegistry()))
    facts = CallFacts(debtor_name="Sam Rivera", balance=1200, days_overdue=90, due_date=date(2025, 10, 1),
                      creditor="Northwind Bank")
    controller = services.new_call(facts, today=date(2026, 1, 5), channel="text")
    await controller.open()
    for line in ("who is this", "i lost my job", "i could do fifty a month", "ok that works"):
        if (await controller.respond(line)).ends_call:
            break

asyncio.run(call())
steps["after one text call"] = rss_mb()
loaded = {m.split(".")[0] for m in sys.modules}
print(json.dumps({
    "rss_mb": steps,
    "training_modules": sorted(m for m in sys.modules if m.split(".")[0] == "training"),
    "simulator_loaded": "simulator" in loaded,
    "torch_loaded": "torch" in loaded,
    "modules": len(sys.modules),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", default="", help="policy spec (default: the settings' POLICY_CHECKPOINT)")
    parser.add_argument("--out", type=Path, default=Path("results/worker_footprint.json"))
    args = parser.parse_args()
    done = subprocess.run([sys.executable, "-c", PROBE, args.policy], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["command"] = "python -m benchmarks.worker_footprint" + (f" --policy {args.policy}" if args.policy else "")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
