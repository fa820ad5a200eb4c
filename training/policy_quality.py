"""Policy quality on the held-out evaluation seeds (2,000 episodes): does the best trained checkpoint beat the
best-practice script by >= 10 points of success with recovery no worse, and every constant action on every
persona (higher mean return)?

    python -m training.policy_quality [--algo dqn] [--seeds 0 1 2] [--episodes 3000] [--eval-every 100]
        [--workers 2]

Trains the runs (keeping the weights at every greedy evaluation), averages each run's snapshots (and, with several
seeds, all of them: policy.checkpoint.average_checkpoints), then selects on validation seeds only, never the
held-out ones: each snapshot and average is scored on SELECTION_EPISODES (or --selection-episodes) validation calls
(the 200 of the in-training evaluations leave per-persona means too noisy to compare), and among those that beat
every constant action's mean return there on every persona, the one with the highest mean return wins (the overall
best if none qualifies).
It evaluates that one once on the held-out seeds, writes results/policy_quality.json and copies the
checkpoint to checkpoints/debtor_policy.pt with its torch-free copy checkpoints/debtor_policy.safetensors (the
runtime's default policy): a release step, not a benchmark.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from tqdm import tqdm

from agent_runtime.contracts.actions import ACTION_NAMES
from policy.checkpoint import average_checkpoints
from simulator.personas import Persona
from training.evaluate import evaluate_named, paired_margin
from training.export import export
from training.runner import run_many
from training.runs import EVAL_EPISODES, EVAL_SEED_START, SELECTION_EPISODES, VALIDATION_SEED_START
from training.train import Args

MARGIN = 0.10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algo", default="dqn")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=3000)
    parser.add_argument("--eval-every", type=int, default=100, help="real episodes between snapshots")
    parser.add_argument(
        "--selection-episodes", type=int, default=SELECTION_EPISODES, help="validation calls that score each snapshot"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--init", type=Path, help="fine-tune from this checkpoint (training.train --init)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the trainer's)")
    parser.add_argument("--start-epsilon", type=float, help="initial exploration (default: the trainer's)")
    parser.add_argument("--gamma", type=float, help="discount factor (default: the trainer's)")
    parser.add_argument("--advantage-learning", type=float, help="advantage-learning alpha (default 0)")
    parser.add_argument(
        "--personas", nargs="+", choices=[p.value for p in Persona], help="training persona mix (training.train)"
    )
    parser.add_argument("--runs", type=Path, default=Path("runs/policy_quality"))
    parser.add_argument("--out", type=Path, default=Path("results/policy_quality.json"))
    parser.add_argument("--checkpoint-out", type=Path, default=Path("checkpoints/debtor_policy.pt"))
    args = parser.parse_args()
    if VALIDATION_SEED_START + args.selection_episodes > EVAL_SEED_START:
        parser.error(f"--selection-episodes would reach the held-out seeds (from {EVAL_SEED_START})")
    jobs = [
        Args(
            algo=args.algo,
            episodes=args.episodes,
            seed=s,
            out=args.runs / f"seed{s}",
            snapshots=True,
            eval_every=args.eval_every,
            init=args.init,
            lr=args.lr,
            start_epsilon=args.start_epsilon,
            gamma=args.gamma,
            advantage_learning=args.advantage_learning,
            personas=tuple(Persona(p) for p in args.personas) if args.personas else None,
        )
        for s in args.seeds
    ]
    run_many(jobs, workers=args.workers)

    # Selection uses validation seeds only (SELECTION_EPISODES of them, so per-persona means are precise): the best
    # constant action's mean return per persona there, then, among the snapshots (and their weight averages) that
    # beat it on every persona, the highest mean return.
    runs = [sorted((job.out / "snapshots").glob("*.pt")) for job in jobs]
    snapshots = [path for run in runs for path in run]
    averages = [average_checkpoints(run, job.out / "average.pt") for job, run in zip(jobs, runs, strict=True)]
    if len(jobs) > 1:
        averages.append(average_checkpoints(snapshots, args.runs / "average.pt"))
    paths = [str(path) for path in (*snapshots, *averages)]
    constant_specs = [f"constant:{name}" for name in ACTION_NAMES]
    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        on_validation = partial(evaluate_named, episodes=args.selection_episodes, seed=VALIDATION_SEED_START)
        results = pool.map(on_validation, constant_specs + paths)
        scored = list(tqdm(results, total=len(constant_specs) + len(paths), desc="select", unit="policy"))
    constant_bar = {
        persona: max(result["per_persona"][persona]["mean_return"] for result in scored[: len(constant_specs)])
        for persona in scored[0]["per_persona"]
    }
    scored = scored[len(constant_specs) :]
    candidates = []
    for path, result in zip(paths, scored, strict=True):
        beats = all(result["per_persona"][p]["mean_return"] > bar for p, bar in constant_bar.items())
        candidates.append((beats, result["mean_return"], path, result))
    qualified = [c for c in candidates if c[0]]
    _, _, chosen, validation = max(qualified or candidates, key=lambda c: c[1])

    held_out = partial(evaluate_named, episodes=EVAL_EPISODES, seed=EVAL_SEED_START, per_episode=True)

    learned = held_out(chosen)
    best_practice = held_out("scripted:best_practice")
    constants = {name: held_out(f"constant:{name}") for name in ACTION_NAMES}
    personas = sorted(learned["per_persona"])
    beats_constants = {
        persona: all(
            learned["per_persona"][persona]["mean_return"] > c["per_persona"][persona]["mean_return"]
            for c in constants.values()
        )
        for persona in personas
    }
    oracle = held_out("oracle")
    margins = {persona: paired_margin(learned, constants, persona) for persona in personas}
    for result in (learned, best_practice, oracle, *constants.values()):
        for key in ("episode_returns", "episode_successes", "episode_personas"):
            result.pop(key)
    report = {
        "selection": f"{args.selection_episodes} validation seeds from {VALIDATION_SEED_START}: highest mean return "
        "among snapshots and weight averages beating every constant on every persona",
        "candidates_qualified": len(qualified),
        "candidates": len(candidates),
        "validation_bar": constant_bar,
        "candidates_on_validation": [
            {
                "checkpoint": path,
                "qualified": beats,
                "mean_return": mean_return,
                "per_persona": {p: v["mean_return"] for p, v in result["per_persona"].items()},
            }
            for beats, mean_return, path, result in sorted(candidates, key=lambda c: -c[1])
        ],
        "checkpoint": chosen,
        "validation_at_selection": {
            k: validation[k] for k in ("success_rate", "recovery_rate", "mean_return", "per_persona")
        },
        "held_out_episodes": EVAL_EPISODES,
        "held_out_seed_start": EVAL_SEED_START,
        "learned": learned,
        "best_practice": best_practice,
        "success_margin_over_best_practice": learned["success_rate"] - best_practice["success_rate"],
        "beats_best_practice_by_10_points": learned["success_rate"] >= best_practice["success_rate"] + MARGIN,
        "recovery_no_worse": learned["recovery_rate"] >= best_practice["recovery_rate"],
        "beats_every_constant_per_persona": beats_constants,
        "margin_over_best_constant_per_persona": margins,
        "oracle_mean_return_per_persona": {p: oracle["per_persona"][p]["mean_return"] for p in personas},
        "constants_mean_return_per_persona": {
            name: {p: c["per_persona"][p]["mean_return"] for p in personas} for name, c in constants.items()
        },
        "command": f"python -m training.policy_quality --algo {args.algo} --seeds "
        f"{' '.join(map(str, args.seeds))} --episodes {args.episodes} --eval-every {args.eval_every}"
        + (f" --selection-episodes {args.selection_episodes}" if args.selection_episodes != SELECTION_EPISODES else "")
        + "".join(
            f" --{flag} {value}"
            for flag, value in (
                ("init", args.init),
                ("lr", args.lr),
                ("start-epsilon", args.start_epsilon),
                ("gamma", args.gamma),
                ("advantage-learning", args.advantage_learning),
                ("personas", " ".join(args.personas or []) or None),
            )
            if value is not None
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    args.checkpoint_out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(chosen, args.checkpoint_out)
    export(args.checkpoint_out)  # the runtime's torch-free copy beside it
    print(
        json.dumps(
            {
                k: report[k]
                for k in (
                    "checkpoint",
                    "success_margin_over_best_practice",
                    "beats_best_practice_by_10_points",
                    "recovery_no_worse",
                    "beats_every_constant_per_persona",
                )
            },
            indent=2,
        )
    )
    print(
        f"learned: success {learned['success_rate']:.1%}, recovery {learned['recovery_rate']:.1%}; "
        f"best practice: {best_practice['success_rate']:.1%}, {best_practice['recovery_rate']:.1%}"
    )


if __name__ == "__main__":
    main()
