"""Debtor runs with this checkout's learner beside another revision's: wall time, and whether the results agree.

    git worktree add /tmp/baseline 37d388e   # the revision to compare with
    python -m benchmarks.learner_speed --baseline-src /tmp/baseline [--seeds 0 1 2 3 4] [--episodes 1000]

Each (algorithm, seed) trains with `python -m training.train` on the debtor env twice, once from this checkout and
once from --baseline-src, one after the other on one thread, so both meet the same machine. DQN and DDQ(K=5) over
the debtor model, learning from the 200th real step, a greedy evaluation of 200 validation calls every
--eval-every real calls. Reports each pair's wall time and ratio, whether the two runs ended with the same
evaluation (a pure engineering change keeps it identical), and, where they did not, the learning curves and final
success of both sides over the seeds (paired 95 % CI of the difference). Runs are saved under --runs and reused,
so an interrupted comparison resumes. Writes results/learner_speed.json and results/learner_speed.png.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tqdm import tqdm

from training.run_outputs import read_metrics

ALGORITHMS = {"dqn": [], "ddq": ["--world-model", "debtor", "--k", "5"]}


def train(source: Path, algo: str, seed: int, episodes: int, eval_every: int, out: Path) -> dict:
    """The run's summary.json and its greedy evaluations (trained now unless `out` already holds it)."""
    summary = out / "summary.json"
    if not summary.exists():
        from agent_runtime.settings import environment_for_child

        command = [
            *(sys.executable, "-m", "training.train", "--algo", algo, "--env", "debtor", "--seed", str(seed)),
            *("--episodes", str(episodes), "--eval-every", str(eval_every), "--eval-episodes", "200"),
            *("--learning-starts", "200", "--out", str(out.resolve()), "--no-progress", *ALGORITHMS[algo]),
        ]
        if algo == "ddq" and "planning_updates" in (source / "training" / "train.py").read_text():
            command.append("--planning-updates")  # the schedule of revisions before the flag, which always took it
        env = environment_for_child(OMP_NUM_THREADS="1", PYTHONPATH=str(source.resolve()))
        done = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{algo} seed {seed} from {source} failed:\n{done.stderr[-3000:]}")
    curve = [(e["real_episodes"], e["eval_success_rate"]) for e in read_metrics(out)[1]]
    return json.loads(summary.read_text()) | {"curve": curve}


def compare(pairs: list[dict]) -> dict:
    """Per algorithm: wall-time ratio, identical pairs, and both sides' final success and curves over the seeds."""
    from training.stats import mean_ci

    report = {}
    for algo in ALGORITHMS:
        rows = [pair for pair in pairs if pair["algo"] == algo]
        finals = {side: [row["curve"][side][-1][1] for row in rows] for side in ("baseline", "this")}
        report[algo] = {
            "wall_time_ratio": mean_ci([row["ratio"] for row in rows]),
            "identical_pairs": f"{sum(row['same_result'] for row in rows)}/{len(rows)}",
            "final_success": {side: mean_ci(values) for side, values in finals.items()},
            "final_success_difference": mean_ci(
                [this - baseline for baseline, this in zip(finals["baseline"], finals["this"], strict=True)]
            ),
        }
    return report


def plot(pairs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots(1, len(ALGORITHMS), figsize=(6 * len(ALGORITHMS), 3.8), squeeze=False)
    for axis, algo in zip(axes[0], ALGORITHMS, strict=True):
        for side, color, style, width in (("baseline", "tab:gray", "--", 3.0), ("this", "tab:blue", "-", 1.2)):
            curves = np.array([pair["curve"][side] for pair in pairs if pair["algo"] == algo])  # (seeds, evals, 2)
            calls, success = curves[0, :, 0], curves[:, :, 1]
            label = f"{side} (mean of {len(curves)} seeds, band: min-max)"
            axis.plot(calls, success.mean(axis=0), color=color, ls=style, lw=width, label=label)
            axis.fill_between(calls, success.min(axis=0), success.max(axis=0), color=color, alpha=0.15)
        axis.set(title=f"{algo}: greedy success on 200 validation calls", xlabel="real calls", ylim=(0, 1))
        axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-src", type=Path, required=True, help="a checkout of the revision to compare with")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--runs", type=Path, default=Path("runs/learner_speed"))
    parser.add_argument("--out", type=Path, default=Path("results/learner_speed.json"))
    args = parser.parse_args()
    if not (args.baseline_src / "training" / "train.py").is_file():
        raise SystemExit(f"error: {args.baseline_src} is not a checkout of this project (no training/train.py)")

    pairs = []
    jobs = [(algo, seed) for algo in ALGORITHMS for seed in args.seeds]
    for algo, seed in tqdm(jobs, unit="pair"):
        runs = {
            side: train(source, algo, seed, args.episodes, args.eval_every, args.runs / side / f"{algo}-seed{seed}")
            for side, source in (("baseline", args.baseline_src), ("this", Path.cwd()))
        }
        pairs.append(
            {
                "algo": algo,
                "seed": seed,
                "wall_seconds": {side: run["wall_seconds"] for side, run in runs.items()},
                "ratio": runs["this"]["wall_seconds"] / runs["baseline"]["wall_seconds"],
                "same_result": all(
                    runs["this"][key] == runs["baseline"][key]
                    for key in ("eval_mean_return", "eval_success_rate", "real_steps")
                ),
                "curve": {side: run["curve"] for side, run in runs.items()},
            }
        )
    report = {
        "command": f"python -m benchmarks.learner_speed --baseline-src BASELINE --seeds "
        f"{' '.join(map(str, args.seeds))} --episodes {args.episodes} --eval-every {args.eval_every}",
        "baseline": subprocess.run(
            ["git", "-C", str(args.baseline_src), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "summary": compare(pairs),
        "pairs": pairs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'algo':5} {'seed':>4} {'baseline s':>10} {'this s':>8} {'ratio':>6}  same result")
    for pair in pairs:
        wall = pair["wall_seconds"]
        print(
            f"{pair['algo']:5} {pair['seed']:4d} {wall['baseline']:10.1f} {wall['this']:8.1f} "
            f"{pair['ratio']:6.2f}  {pair['same_result']}"
        )
    for algo, row in report["summary"].items():
        ratio, difference = row["wall_time_ratio"], row["final_success_difference"]
        print(
            f"{algo}: wall time {ratio['mean']:.2f}x the baseline's; identical {row['identical_pairs']}; final success "
            f"{row['final_success']['this']['mean']:.3f} vs {row['final_success']['baseline']['mean']:.3f} "
            f"(difference {difference['mean']:+.3f} [{difference['low']:+.3f}, {difference['high']:+.3f}])"
        )
    plot(pairs, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
