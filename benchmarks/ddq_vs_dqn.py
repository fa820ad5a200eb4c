"""The claim the project stands on: does DDQ(K=5) reach the target success rate in at most half the real
episodes DQN needs? Same budget, same validation seeds, >= 5 seeds each, 95 % CIs.

    python -m benchmarks.ddq_vs_dqn [--seeds 0 1 2 3 4] [--episodes 1000] [--eval-every 25] [--workers 2]

Writes results/ddq_vs_dqn.json and results/ddq_vs_dqn.png (validation success rate against real episodes,
mean and 95 % band over seeds, both algorithms). A run that never reaches the target counts as the budget
(censored) in the episodes-to-target statistics, and the report says how many reached it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from training.runner import run_many
from training.runs import TARGET_SUCCESS_RATE
from training.stats import compare, curve_band, episodes_to_target, mean_ci
from training.train import Args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/ddq_vs_dqn"))
    parser.add_argument("--runs", type=Path, default=Path("runs/ddq_vs_dqn"))
    args = parser.parse_args()
    algos = {"dqn": {}, f"ddq_k{args.k}": {"k": args.k}}
    jobs = {
        name: [
            Args(
                algo=name.split("_")[0],
                episodes=args.episodes,
                seed=seed,
                eval_every=args.eval_every,
                out=args.runs / name / f"seed{seed}",
                **extra,
            )
            for seed in args.seeds
        ]
        for name, extra in algos.items()
    }
    flat = [job for group in jobs.values() for job in group]
    results = run_many(flat, workers=args.workers)
    by_algo = {name: results[i * len(args.seeds) : (i + 1) * len(args.seeds)] for i, name in enumerate(algos)}

    report: dict = {
        "target_success_rate": TARGET_SUCCESS_RATE,
        "episodes_budget": args.episodes,
        "seeds": args.seeds,
        "eval_every": args.eval_every,
        "algos": {},
    }
    to_target: dict[str, list[int]] = {}
    for name, runs in by_algo.items():
        reached = [episodes_to_target(r["evals"], TARGET_SUCCESS_RATE) for r in runs]
        censored = [e if e is not None else args.episodes for e in reached]
        to_target[name] = censored
        report["algos"][name] = {
            "episodes_to_target_per_seed": reached,
            "episodes_to_target": mean_ci(censored),
            "seeds_reaching_target": sum(e is not None for e in reached),
            "final_success_rate": mean_ci([r["summary"]["eval_success_rate"] for r in runs]),
            "final_recovery_rate": mean_ci([r["summary"]["eval_recovery_rate"] for r in runs]),
            "real_steps": mean_ci([r["summary"]["real_steps"] for r in runs]),
            "wall_seconds": mean_ci([r["summary"]["wall_seconds"] for r in runs]),
            "curve": curve_band([r["evals"] for r in runs]),
        }
    dqn, ddq = (report["algos"][name]["episodes_to_target"]["mean"] for name in algos)
    report["ratio_ddq_to_dqn_episodes"] = ddq / dqn
    report["claim_holds"] = ddq <= 0.5 * dqn
    report["episodes_to_target_test"] = compare(*to_target.values())
    report["command"] = (
        f"python -m benchmarks.ddq_vs_dqn --seeds {' '.join(map(str, args.seeds))} "
        f"--episodes {args.episodes} --eval-every {args.eval_every} --k {args.k}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, colour in zip(algos, ("tab:blue", "tab:orange"), strict=True):
        band = report["algos"][name]["curve"]
        ax.plot(band["real_episodes"], band["mean"], color=colour, label=f"{name} (mean of {len(args.seeds)} seeds)")
        ax.fill_between(band["real_episodes"], band["low"], band["high"], color=colour, alpha=0.2)
    ax.axhline(TARGET_SUCCESS_RATE, color="grey", linestyle="--", label=f"target {TARGET_SUCCESS_RATE:.0%}")
    ax.set(
        xlabel="real episodes",
        ylabel="validation success rate (greedy)",
        ylim=(0, 1),
        title="DQN vs DDQ on the debtor simulator (95 % CI bands)",
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(args.out.with_suffix(".png"), dpi=120)
    summary = {k: v for k, v in report.items() if k != "algos"}
    summary["episodes_to_target"] = {n: a["episodes_to_target"] for n, a in report["algos"].items()}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
