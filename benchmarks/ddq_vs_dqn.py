"""The claim the project stands on: does DDQ(K) reach the target success rate in at most half the real calls DQN
needs? Same budget, same validation seeds, >= 5 seeds each, 95 % CIs.

    python -m benchmarks.ddq_vs_dqn [--seeds 0 1 2 3 4] [--episodes 1000] [--eval-every 25] [--k 5]
        [--world-model mlp|debtor|debtor:N|simulator] [--learning-starts N] [--real-ratio 0.75] [--horizon 1]
        [--gradient-steps 1] [--planning-updates] [--refit-every N] [--warm-start CALLS] [--upper-bound] [--workers 2]
        [--out results/ddq_vs_dqn]

`--world-model debtor` imagines with the debtor model (training.debtor_dyna) instead of a next-state model;
`--world-model simulator` with the simulated debtor itself, a perfect debtor model (what the best one could give).
`--warm-start CALLS` gives every run the same CALLS calls of the best-practice script in its replay buffer before it
starts (and DDQ's debtor model its first data), as Peng et al. warm-start from a rule-based agent; they are not
counted among the real calls of the curves.
`--upper-bound` adds DQN(K) as in Peng et al. 2018: DQN given K times the real calls, plotted and counted per K of
its calls, so that its curve is what DDQ(K) would reach if every imagined call were as good as a real one.
Writes OUT.json and OUT.png (validation success rate against real calls, mean and 95 % band over seeds). A run that
never reaches the target counts as the budget (censored) in the calls-to-target statistics, and the report says how
many reached it; the ratio DDQ / DQN of the mean calls to target has a bootstrap 95 % interval (seeds resampled).
Every run is a `training.train` job whose finished outputs are reused, so a killed study resumes where it stopped.
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
from training.stats import compare, curve_band, episodes_to_target, mean_ci, ratio_ci
from training.train import Args

REPORTED_AT = (100, 200, 300, 500, 1000)  # real calls at which the success rates are reported


def per_real_call(evals: list[dict], calls_per_call: int) -> list[dict]:
    """DQN(K)'s evaluations counted per K of its real calls (the others' pass unchanged with 1)."""
    return [e | {"real_episodes": e["real_episodes"] // calls_per_call} for e in evals]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--world-model", default="mlp")
    parser.add_argument("--learning-starts", type=int, help="real steps before learning (default: the preset's)")
    parser.add_argument("--real-ratio", type=float, default=0.75, help="DDQ's share of real transitions in a batch")
    parser.add_argument("--horizon", type=int, default=1, help="DDQ's turns per imagined branch")
    parser.add_argument("--gradient-steps", type=int, default=1, help="every arm's gradient steps per real step")
    parser.add_argument(
        "--refit-every", type=int, help="DDQ's real steps between world-model refits (default: its own)"
    )
    parser.add_argument("--planning-updates", action="store_true", help="DDQ takes K extra steps per real step")
    parser.add_argument("--warm-start", type=int, default=0, help="best-practice calls in the buffer before training")
    parser.add_argument("--upper-bound", action="store_true", help="add DQN(K): DQN with K times the real calls")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/ddq_vs_dqn"))
    parser.add_argument("--runs", type=Path, default=Path("runs/ddq_vs_dqn"))
    args = parser.parse_args()
    common = {"learning_starts": args.learning_starts, "warm_start": args.warm_start}
    steps = "" if args.gradient_steps == 1 else f"_g{args.gradient_steps}"
    if steps:
        common["gradient_steps"] = args.gradient_steps
    ddq = (
        f"ddq_k{args.k}"
        + ("" if args.world_model == "mlp" else f"_{args.world_model.replace(':', '')}")
        + ("" if args.real_ratio == 0.75 else f"_real{args.real_ratio:g}")
        + ("" if args.horizon == 1 else f"_h{args.horizon}")
        + ("_plan" if args.planning_updates else "")
        + (f"_refit{args.refit_every}" if args.refit_every else "")
        + steps
    )
    algos = {  # name -> (training.train options, real calls per counted call)
        f"dqn{steps}": ({"algo": "dqn"} | common, 1),
        ddq: (
            {
                "algo": "ddq",
                "k": args.k,
                "world_model": args.world_model,
                "real_ratio": args.real_ratio,
                "horizon": args.horizon,
                "planning_updates": args.planning_updates,
                "world_model_refit_every": args.refit_every,
            }
            | common,
            1,
        ),
    }
    if args.upper_bound:
        algos[f"dqn_x{args.k}{steps}"] = ({"algo": "dqn"} | common, args.k)
    jobs = {
        name: [
            Args(
                episodes=args.episodes * scale,
                eval_every=args.eval_every * scale,
                seed=seed,
                out=args.runs / name / f"seed{seed}",
                **options,
            )
            for seed in args.seeds
        ]
        for name, (options, scale) in algos.items()
    }
    flat = [job for group in jobs.values() for job in group]
    results = run_many(flat, workers=args.workers)
    by_algo = {name: results[i * len(args.seeds) : (i + 1) * len(args.seeds)] for i, name in enumerate(algos)}

    report: dict = {
        "target_success_rate": TARGET_SUCCESS_RATE,
        "episodes_budget": args.episodes,
        "seeds": args.seeds,
        "eval_every": args.eval_every,
        "world_model": args.world_model,
        "learning_starts": args.learning_starts,
        "warm_start_calls": args.warm_start,
        "algos": {},
    }
    to_target: dict[str, list[int]] = {}
    for name, runs in by_algo.items():
        scale = algos[name][1]
        curves = [per_real_call(r["evals"], scale) for r in runs]
        reached = [episodes_to_target(curve, TARGET_SUCCESS_RATE) for curve in curves]
        censored = [e if e is not None else args.episodes for e in reached]
        to_target[name] = censored
        band = curve_band(curves)
        report["algos"][name] = {
            "real_calls_per_counted_call": scale,
            "episodes_to_target_per_seed": reached,
            "episodes_to_target": mean_ci(censored),
            "seeds_reaching_target": sum(e is not None for e in reached),
            "success_at": {
                calls: mean_ci([next(e["eval_success_rate"] for e in c if e["real_episodes"] == calls) for c in curves])
                for calls in REPORTED_AT
                if calls in band["real_episodes"]
            },
            "final_success_rate": mean_ci([r["summary"]["eval_success_rate"] for r in runs]),
            "final_recovery_rate": mean_ci([r["summary"]["eval_recovery_rate"] for r in runs]),
            "real_steps": mean_ci([r["summary"]["real_steps"] for r in runs]),
            "wall_seconds": mean_ci([r["summary"]["wall_seconds"] for r in runs]),
            "curve": band,
        }
    report["ratio_ddq_to_dqn_episodes"] = ratio_ci(to_target[ddq], to_target[f"dqn{steps}"])
    report["claim_holds"] = report["ratio_ddq_to_dqn_episodes"]["ratio"] <= 0.5
    report["episodes_to_target_test"] = compare(to_target[f"dqn{steps}"], to_target[ddq])
    report["command"] = (
        f"python -m benchmarks.ddq_vs_dqn --seeds {' '.join(map(str, args.seeds))} --episodes {args.episodes} "
        f"--eval-every {args.eval_every} --k {args.k} --world-model {args.world_model} --real-ratio {args.real_ratio}"
        + (f" --horizon {args.horizon}" if args.horizon != 1 else "")
        + (f" --gradient-steps {args.gradient_steps}" if steps else "")
        + (" --planning-updates" if args.planning_updates else "")
        + (f" --refit-every {args.refit_every}" if args.refit_every else "")
        + (f" --learning-starts {args.learning_starts}" if args.learning_starts is not None else "")
        + (f" --warm-start {args.warm_start}" if args.warm_start else "")
        + (" --upper-bound" if args.upper_bound else "")
        + f" --runs {args.runs} --out {args.out}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # OUT.json and OUT.png: appended, not with_suffix, so that a dot in OUT (results/..._real0.5) stays in the name
    args.out.with_name(f"{args.out.name}.json").write_text(json.dumps(report, indent=2) + "\n")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, colour in zip(algos, ("tab:blue", "tab:orange", "tab:green"), strict=False):
        band = report["algos"][name]["curve"]
        ax.plot(band["real_episodes"], band["mean"], color=colour, label=f"{name} (mean of {len(args.seeds)} seeds)")
        ax.fill_between(band["real_episodes"], band["low"], band["high"], color=colour, alpha=0.2)
    ax.axhline(TARGET_SUCCESS_RATE, color="grey", linestyle="--", label=f"target {TARGET_SUCCESS_RATE:.0%}")
    ax.set(
        xlabel="real calls (DQN(K): per K of its calls)",
        ylabel="validation success rate (greedy)",
        ylim=(0, 1),
        title=f"DQN vs DDQ({args.k}, {args.world_model} model) on the debtor simulator (95 % CI bands)"
        + (f"\nafter the same {args.warm_start} best-practice calls" if args.warm_start else ""),
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(args.out.with_name(f"{args.out.name}.png"), dpi=120)
    summary = {k: v for k, v in report.items() if k != "algos"}
    summary["episodes_to_target"] = {n: a["episodes_to_target"] for n, a in report["algos"].items()}
    summary["success_at"] = {n: {c: v["mean"] for c, v in a["success_at"].items()} for n, a in report["algos"].items()}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
