"""Which world models and planners help? DDQ(K=5) with every world model against the mlp one and against DQN,
then decision-time planners on each trained checkpoint against no planning. Measured, not claimed.

    python -m benchmarks.world_models [--seeds 5] [--episodes 1000] [--planner-episodes 300] [--workers 2]

1. Training (through the shared runner and the ablation's study code): DQN and DDQ(K=5) with each world model,
   `--seeds` seeds each, the same real-episode budget; final validation success and recovery, episodes to the
   60 % target (censored at the budget), each cell tested against the mlp world model and against DQN
   (Welch, alpha 0.05). Runs, report.md and learning curves land in runs/world_models/.
2. Planning: each DDQ run's best checkpoint (the Q-network with its world model) on `--planner-episodes`
   held-out calls, greedy and with each planner; the difference to greedy is paired per seed (mean and 95 % CI
   over seeds). Decision times are recorded too, but with `--workers` evaluations sharing the cores: the
   latency figure to quote is benchmarks/planning_latency.py's.
Writes results/world_models.json and results/world_models.png.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from policy.world_models import WORLD_MODELS
from training.ablation import cell_name, cells_of, jobs_for, run_study
from training.evaluate import evaluate_timed
from training.runs import EVAL_SEED_START
from training.stats import compare, mean_ci

PLANNERS = ("tree:2", "rollout:3")
FALLBACK_PLANNER = "tree:2+fallback"  # needs the ensemble's disagreement


def planners_for(kind: str) -> tuple[str, ...]:
    return ("greedy", *PLANNERS, *((FALLBACK_PLANNER,) if kind == "ensemble" else ()))


def evaluate_planner(checkpoint: str, planner: str, episodes: int) -> dict:
    import torch

    torch.set_num_threads(1)
    spec = checkpoint if planner == "greedy" else f"{checkpoint}@{planner}"
    result, seconds = evaluate_timed(spec, episodes, EVAL_SEED_START)
    return {
        "success_rate": result["success_rate"],
        "recovery_rate": result["recovery_rate"],
        "mean_return": result["mean_return"],
        "decision_ms_p50": 1000 * float(np.percentile(seconds, 50)),
        "decision_ms_p95": 1000 * float(np.percentile(seconds, 95)),
    }


def plot(training: dict, planning: dict, kinds: list[str], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5))
    for kind in ["dqn", *kinds]:
        name = "dqn" if kind == "dqn" else cell_name({"algo": "ddq", "k": 5, "world_model": kind})
        band = training["cells"][name]["curve"]
        left.plot(band["real_episodes"], band["mean"], label=kind, lw=2 if kind in ("dqn", "mlp") else 1)
        left.fill_between(band["real_episodes"], band["low"], band["high"], alpha=0.12)
    left.axhline(0.6, color="grey", ls="--", label="target")
    left.set(xlabel="real episodes", ylabel="validation success (greedy)", ylim=(0, 1), title="DDQ(K=5) world models")
    left.legend(fontsize=8, loc="lower right")
    width = 0.8 / max(len(planners_for("ensemble")), 1)
    for i, planner in enumerate(planners_for("ensemble")):
        xs, means, errors = [], [], []
        for j, kind in enumerate(kinds):
            if planner in planning[kind]:
                ci = planning[kind][planner]["success_rate"]
                xs.append(j + i * width)
                means.append(ci["mean"])
                errors.append(ci["high"] - ci["mean"])
        right.bar(xs, means, width, yerr=errors, capsize=3, label=planner)
    right.set_xticks([j + 0.4 - width / 2 for j in range(len(kinds))], kinds)
    right.set(ylabel="held-out success", ylim=(0, 1), title="planning at decision time (95 % CI over seeds)")
    right.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=sorted(WORLD_MODELS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--planner-episodes", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=Path("runs/world_models"))
    parser.add_argument("--out", type=Path, default=Path("results/world_models"))
    args = parser.parse_args()

    cells = cells_of({"algo": ["ddq"], "k": [5], "world_model": args.kinds})
    named = jobs_for(cells, args.seeds, args.episodes, args.eval_every, 200, args.runs)
    mlp_cell = cell_name({"algo": "ddq", "k": 5, "world_model": "mlp"})
    training = run_study(
        args.runs,
        "DDQ(K=5) world models vs mlp and DQN",
        named,
        {cell_name(c): c for c in cells},
        args.episodes,
        (mlp_cell, "dqn"),
        args.workers,
    )

    tasks = [
        (kind, seed, planner, str(job.out / "best.pt"))
        for _, job in named
        if job.algo == "ddq"
        for kind, seed in [(job.world_model, job.seed)]
        for planner in planners_for(kind)
    ]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        outcomes = list(
            pool.map(
                evaluate_planner,
                [checkpoint for *_, checkpoint in tasks],
                [planner for _, _, planner, _ in tasks],
                [args.planner_episodes] * len(tasks),
            )
        )
    raw: dict[str, dict[str, dict[int, dict]]] = {}
    for (kind, seed, planner, _), outcome in zip(tasks, outcomes, strict=True):
        raw.setdefault(kind, {}).setdefault(planner, {})[seed] = outcome
    planning: dict[str, dict] = {}
    for kind, by_planner in raw.items():
        greedy = by_planner["greedy"]
        planning[kind] = {}
        for planner, by_seed in by_planner.items():
            seeds = sorted(by_seed)
            success = [by_seed[s]["success_rate"] for s in seeds]
            entry = {
                "success_rate": mean_ci(success),
                "recovery_rate": mean_ci([by_seed[s]["recovery_rate"] for s in seeds]),
                "mean_return": mean_ci([by_seed[s]["mean_return"] for s in seeds]),
                "decision_ms_p95_under_load": mean_ci([by_seed[s]["decision_ms_p95"] for s in seeds]),
            }
            if planner != "greedy":
                entry["success_gain_over_greedy"] = mean_ci(
                    [by_seed[s]["success_rate"] - greedy[s]["success_rate"] for s in seeds]
                )
                entry["test_vs_greedy"] = compare(success, [greedy[s]["success_rate"] for s in seeds])
            planning[kind][planner] = entry

    verdicts = []
    for kind in args.kinds:
        name = cell_name({"algo": "ddq", "k": 5, "world_model": kind})
        cell = training["cells"][name]
        line = (
            f"{kind}: final success {cell['final_success_rate']['mean']:.1%}, "
            f"episodes to target {cell['episodes_to_target']['mean']:.0f}"
        )
        if kind != "mlp":
            test = training["comparisons"][f"{name} vs {mlp_cell}"]
            line += "; vs mlp: " + ", ".join(
                f"{metric} {'significant' if t['significant'] else 'no significant difference'} (p={t['welch_p']:.2f})"
                for metric, t in test.items()
                if metric != "auc"
            )
        for planner, entry in planning[kind].items():
            if planner != "greedy":
                gain = entry["success_gain_over_greedy"]
                line += f"; {planner} {gain['mean']:+.1%} [{gain['low']:+.1%}, {gain['high']:+.1%}] vs greedy"
        verdicts.append(line)
    dqn = training["cells"]["dqn"]
    verdicts.append(
        f"dqn: final success {dqn['final_success_rate']['mean']:.1%}, "
        f"episodes to target {dqn['episodes_to_target']['mean']:.0f}"
    )
    report = {
        "command": f"python -m benchmarks.world_models --seeds {args.seeds} --episodes {args.episodes} "
        f"--planner-episodes {args.planner_episodes}",
        "held_out_seed_start": EVAL_SEED_START,
        "verdicts": verdicts,
        "training": {
            "cells": {
                name: {k: v for k, v in cell.items() if k != "curve"} for name, cell in training["cells"].items()
            },
            "comparisons": training["comparisons"],
            "wall_seconds_total": training["wall_seconds_total"],
        },
        "planning": planning,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    plot(training, planning, args.kinds, args.out.with_suffix(".png"))
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
