"""Do the off-policy estimators (training.ope) tell the truth? Validated in the simulator, where the truth is known.

    python -m benchmarks.ope_validation [--seeds 10] [--calls 500] [--truth-calls 2000] [--epsilon 0.05]

A behaviour policy (the committed checkpoint, exploring as live calls do) logs `--calls` calls per seed; from each
log, IS, WIS and DR estimate each target's value (its mean return per reached call, running with the same
exploration); each target's true value is the mean return of `--truth-calls` calls it makes itself on other
debtors. Reported per target and estimator: bias (mean estimate - truth), RMSE, and how often the 95 % interval
holds the truth (coverage). Writes results/ope_validation.json and results/ope_validation.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from pathlib import Path

import numpy as np

from agent_runtime.exploration import Exploration
from agent_runtime.policy_source import load_policy
from training.call_log import Args as LogArgs
from training.call_log import log_calls
from training.ope import estimate, judged, logged_calls
from training.replay import whole_calls

BEHAVIOUR = "checkpoints/debtor_policy.safetensors"
TARGETS = (BEHAVIOUR, "checkpoints/debtor_policy_ft1.safetensors", "checkpoints/debtor_policy_20k.safetensors")
TRUTH_SEED = 900_000  # debtors no logged call meets


def log(policy: str, calls: int, seed: int, exploration: Exploration, events: Path) -> Path:
    if not events.exists():  # resumable: a finished log is kept
        partial = events.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        args = LogArgs(policy, exploration.epsilon, exploration.margin, calls, seed, partial)
        asyncio.run(log_calls(args))
        partial.rename(events)
    return events


def true_value(policy: str, calls: int, exploration: Exploration, work: Path) -> float:
    events = log(policy, calls, TRUTH_SEED, exploration, work / f"truth-{Path(policy).stem}.db")
    returns = [sum(row.reward for row in rows) for rows in whole_calls(events, Counter())]
    return float(np.mean(returns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=500, help="behaviour calls per seed")
    parser.add_argument("--truth-calls", type=int, default=2000)
    parser.add_argument("--epsilon", type=float, default=0.05)
    parser.add_argument("--margin", type=float, default=0.5)
    parser.add_argument("--work", type=Path, default=Path("runs/ope_validation"))
    parser.add_argument("--out", type=Path, default=Path("results/ope_validation.json"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    exploration = Exploration(args.epsilon, args.margin)
    truth = {t: true_value(t, args.truth_calls, exploration, args.work) for t in TARGETS}
    estimates: dict[str, dict[str, list]] = {t: {"IS": [], "WIS": [], "DR": []} for t in TARGETS}
    for seed in range(args.seeds):
        events = log(BEHAVIOUR, args.calls, 10_000 * (seed + 1), exploration, args.work / f"behaviour-{seed}.db")
        calls, _ = logged_calls(events)
        for target in TARGETS:
            for e in estimate(judged(calls, load_policy(target), exploration), seed=seed):
                estimates[target][e.estimator].append((e.value, e.low, e.high, e.effective_calls))
        print(f"seed {seed}: {len(calls)} calls logged")
    report = {"behaviour": BEHAVIOUR, "epsilon": args.epsilon, "margin": args.margin, "seeds": args.seeds,
              "calls_per_seed": args.calls, "truth_calls": args.truth_calls, "targets": {}}  # fmt: skip
    for target in TARGETS:
        rows = {}
        for name, runs in estimates[target].items():
            values = np.array([v for v, *_ in runs])
            covered = np.mean([low <= truth[target] <= high for _, low, high, _ in runs])
            rows[name] = {
                "mean_estimate": round(float(values.mean()), 4),
                "bias": round(float(values.mean() - truth[target]), 4),
                "rmse": round(float(np.sqrt(np.mean((values - truth[target]) ** 2))), 4),
                "coverage": round(float(covered), 3),
                "mean_interval_width": round(float(np.mean([high - low for _, low, high, _ in runs])), 4),
                "mean_effective_calls": round(float(np.mean([n for *_, n in runs])), 1),
            }
            print(f"{Path(target).stem:>22} {name:>3}: truth {truth[target]:+.3f}  " + "  ".join(
                f"{k} {v}" for k, v in rows[name].items()))  # fmt: skip
        report["targets"][target] = {"true_value": round(truth[target], 4), "estimators": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    plot(estimates, truth, args.out.with_suffix(".png"))
    print(f"wrote {args.out}")


def plot(estimates: dict, truth: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(truth), figsize=(4.2 * len(truth), 3.6), sharey=False)
    for ax, target in zip(np.atleast_1d(axes), truth, strict=True):
        for offset, (name, runs) in enumerate(estimates[target].items()):
            for i, (value, low, high, _) in enumerate(runs):
                ax.errorbar(i + 0.25 * (offset - 1), value, yerr=[[value - low], [high - value]], fmt="o", ms=3,
                            color=f"C{offset}", label=name if i == 0 else None)  # fmt: skip
        ax.axhline(truth[target], color="black", lw=1, label="true value")
        ax.set_title(Path(target).stem, fontsize=9)
        ax.set_xlabel("seed")
    np.atleast_1d(axes)[0].set_ylabel("return per call")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
