"""Decision time of the planners over each world model on CPU (goal: p95 <= 20 ms per decision).

    python -m benchmarks.planning_latency [--calls 40] [--planners tree:1 tree:2 tree:3 rollout:3 tree:2+fallback]

For each world-model kind a checkpoint is assembled from the committed Q-network and a freshly built world model of
that kind (the cost of a forward pass does not depend on the weights), then `--calls` simulated calls on validation
seeds are played through the real loading path (`CHECKPOINT@PLANNER`, one torch thread, as in a worker process);
every decision is timed. Writes results/planning_latency.json (p50, p95, max in ms per kind and planner).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from policy.checkpoint import load_checkpoint, save_checkpoint
from policy.metadata import WorldModelMetadata
from policy.world_models import WORLD_MODELS, make_world_model
from training.evaluate import evaluate_timed
from training.runs import VALIDATION_SEED_START

GOAL_P95_MS = 20.0


def checkpoint_with_world_model(q_checkpoint: Path, kind: str, folder: Path) -> Path:
    metadata, q_state, _ = load_checkpoint(q_checkpoint)
    model = make_world_model(kind, metadata.obs_size, metadata.n_actions)
    metadata = metadata.model_copy(update={"algorithm": "ddq", "world_model": WorldModelMetadata.of(model)})
    return save_checkpoint(folder / f"{kind}.pt", metadata, q_state, model.state_dict())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=Path("checkpoints/debtor_policy.pt"))
    parser.add_argument("--kinds", nargs="+", default=sorted(WORLD_MODELS))
    parser.add_argument("--planners", nargs="+", default=["tree:1", "tree:2", "tree:3", "rollout:3", "tree:2+fallback"])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("results/planning_latency.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        for kind in args.kinds:
            checkpoint = checkpoint_with_world_model(args.checkpoint, kind, Path(folder))
            results[kind] = {}
            for planner in args.planners:
                if planner.endswith("+fallback") and kind != "ensemble":
                    continue
                evaluate_timed(f"{checkpoint}@{planner}", 2, VALIDATION_SEED_START)  # warm-up
                ms = 1000 * np.array(evaluate_timed(f"{checkpoint}@{planner}", args.calls, VALIDATION_SEED_START)[1])
                results[kind][planner] = {
                    "decisions": int(ms.size),
                    "p50_ms": round(float(np.percentile(ms, 50)), 2),
                    "p95_ms": round(float(np.percentile(ms, 95)), 2),
                    "max_ms": round(float(ms.max()), 2),
                    "meets_goal": bool(np.percentile(ms, 95) <= GOAL_P95_MS),
                }
                print(
                    f"{kind:13s} {planner:16s} p50 {results[kind][planner]['p50_ms']:7.2f} ms  "
                    f"p95 {results[kind][planner]['p95_ms']:7.2f} ms"
                )
    report = {
        "goal_p95_ms": GOAL_P95_MS,
        "torch_threads": 1,
        "command": f"python -m benchmarks.planning_latency --calls {args.calls} --planners {' '.join(args.planners)}",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
