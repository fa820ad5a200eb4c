"""Curriculum over personas, compared with no curriculum on the same budget.

    python -m training.curriculum [--algo dqn] [--seeds 5] [--episodes 600] [--workers 2] [--out DIR]

The curriculum arm trains on training.curriculum_env (stages of personas, advanced by rolling success); greedy
evaluations always use all four personas, so both arms are judged on the same task. The report (DIR/report.md,
DIR/results.json, PNGs) has the ablation's format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import tyro

from training.ablation import run_study
from training.curriculum_env import STAGES, stage_thresholds
from training.train import Args as TrainArgs


@dataclass
class Args:
    algo: Literal["dqn", "ddq"] = "dqn"
    seeds: int = 5
    episodes: int = 600
    eval_every: int = 25
    eval_episodes: int = 200
    workers: int = 2
    backend: Literal["local", "ray"] = "local"
    out: Path = Path("runs/curriculum")
    progress: bool = True


def main(args: Args) -> dict:
    arms = {"curriculum": "debtor-curriculum", "no_curriculum": "debtor"}
    named = [
        (
            arm,
            TrainArgs(
                algo=args.algo,
                env=env,
                episodes=args.episodes,
                seed=seed,
                eval_every=args.eval_every,
                eval_episodes=args.eval_episodes,
                out=args.out / "runs" / arm / f"seed{seed}",
            ),
        )
        for arm, env in arms.items()
        for seed in range(args.seeds)
    ]
    report = run_study(
        args.out,
        f"Persona curriculum vs none ({args.algo})",
        named,
        {arm: {"algo": args.algo} for arm in arms},
        args.episodes,
        "no_curriculum",
        args.workers,
        args.backend,
        progress=args.progress,
    )
    report["thresholds"] = dict(zip(("+".join(p.value for p in s) for s in STAGES), stage_thresholds(), strict=True))
    (args.out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"thresholds: {report['thresholds']}; report: {args.out / 'report.md'}")
    return report


if __name__ == "__main__":
    main(tyro.cli(Args, description=__doc__))
