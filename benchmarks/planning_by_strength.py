"""What planning over the debtor model gains as a function of how good the policy already is:

    python -m benchmarks.planning_by_strength [--budgets 100 200 400 800 1600] [--model-calls 15000] [--calls 300]
        [--seed 0] [--workers 2] [--runs runs/planning_by_strength]

For each budget a DQN learns from that many simulated calls (`training.train --algo dqn --env debtor`), a debtor model
is fit on --model-calls of its own calls (`training.attach_debtor_model`), and `benchmarks.debtor_planning` plays
rollouts to the end of the call (`@debtor:12`, margins 0 and 1) over that model and over the simulated debtor itself
against the checkpoint's greedy policy on the validation calls (seed 900000, so the held-out ones stay unread). Every
step is a job whose output is kept under --runs: a rerun skips what is done. Writes
results/planning_by_strength.json and a PNG: the planned gain (95 % CI) against the greedy policy's success.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.command_line import command_line

VALIDATION_SEED = 900_000
ROWS = {
    "debtor model": "rollouts of 12, debtor model",
    "debtor model, margin 1": "rollouts of 12, debtor model, margin 1",
    "simulated debtor": "rollouts of 12, simulated debtor",
}


def run(command: list[str], done: Path) -> None:
    """Run a step of the study unless its output exists (a killed study resumes here)."""
    if not done.exists():
        subprocess.run([sys.executable, "-m", *command], check=True, stdout=subprocess.DEVNULL)


def study(budget: int, args: argparse.Namespace) -> dict:
    """Train, attach a debtor model, plan: the planning report of one budget."""
    folder = args.runs / f"calls{budget}"
    train = ["training.train", "--algo", "dqn", "--env", "debtor", "--episodes", str(budget)]
    run([*train, "--seed", str(args.seed), "--out", str(folder / "run")], folder / "run" / "checkpoint.pt")
    checkpoint = folder / "planned.pt"
    attach = ["training.attach_debtor_model", "--checkpoint", str(folder / "run" / "checkpoint.pt")]
    run([*attach, "--out", str(checkpoint), "--calls", str(args.model_calls), "--seed", str(args.seed)], checkpoint)
    report = folder / "planning.json"
    plan = ["benchmarks.debtor_planning", "--checkpoint", str(checkpoint), "--horizons", "12", "--margins", "0", "1"]
    models = ["--models", "debtor model", "simulated debtor"]
    run([*plan, *models, "--calls", str(args.calls), "--seed", str(VALIDATION_SEED), "--out", str(report)], report)
    return json.loads(report.read_text())["results"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 200, 400, 800, 1600])
    parser.add_argument("--model-calls", type=int, default=15000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=Path, default=Path("runs/planning_by_strength"))
    parser.add_argument("--out", type=Path, default=Path("results/planning_by_strength.json"))
    args = parser.parse_args()

    with ThreadPoolExecutor(args.workers) as pool:
        results = dict(zip(args.budgets, pool.map(lambda budget: study(budget, args), args.budgets), strict=True))
    table = []
    for budget, result in results.items():
        row = {"budget_calls": budget, "greedy_success": result["greedy"]["success_rate"]}
        for name, key in ROWS.items():
            row[name] = result[key]["success_vs_greedy"]
            row[f"{name}, angry and avoidant"] = {
                persona: result[key]["per_persona"][persona]["success_vs_greedy"]["mean"]
                for persona in ("angry", "avoidant")
            }
        table.append(row)
        gains = ", ".join(f"{name} {row[name]['mean']:+.3f}" for name in ROWS)
        print(f"{budget:>5} calls: greedy {row['greedy_success']:.3f}; {gains}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"command": command_line("benchmarks.planning_by_strength", args), "rows": table}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    plot(table, args.out.with_suffix(".png"))


def plot(table: list[dict], path: Path) -> None:
    rows = sorted(table, key=lambda row: row["greedy_success"])  # a line from the weakest policy to the strongest
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    greedy = [row["greedy_success"] * 100 for row in rows]
    for offset, name in zip((-0.4, 0.0, 0.4), ROWS, strict=True):  # side by side where the bars would overlap
        means = [row[name]["mean"] * 100 for row in rows]
        errors = [
            [(row[name]["mean"] - row[name]["low"]) * 100 for row in rows],
            [(row[name]["high"] - row[name]["mean"]) * 100 for row in rows],
        ]
        x = [value + offset for value in greedy]
        axis.errorbar(x, means, yerr=errors, marker="o", capsize=3, label=name)
    for row, x in zip(rows, greedy, strict=True):
        axis.annotate(
            f"{row['budget_calls']}", (x, 0), textcoords="offset points", xytext=(0, -12), fontsize=7, ha="center"
        )
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.set(
        xlabel="greedy success on the validation calls (%); by each point: the calls it learned from",
        ylabel="planning's gain over greedy (points, 95 % CI)",
        title="Rollouts to the end of the call (@debtor:12)",
    )
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
