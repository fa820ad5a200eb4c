"""How well the debtor model predicts the debtor's next act, against frequency baselines, on held-out calls:

    python -m benchmarks.debtor_model [--train-calls 3000] [--heldout-calls 1000] [--epsilon 0.3] [--seed 0]
        [--components 4 8]

Calls come from the debtor simulator with the committed policy acting, a uniformly random action instead with
probability --epsilon (so every action is seen in every kind of call); training calls are seeded from --seed, the
held-out ones from --seed + 1,000,000. Reported per head (intent, amount, sentiment change, end of call): held-out
negative log-likelihood in nats for the model (the current state and action), the same heads on a GRU over the
whole call, mixtures of K kinds of debtor (--components: one kind per call, believed by Bayes' rule on the acts so
far), and the class frequencies per action and overall; also the NLL of the whole act (the parts together, which a
mixture does not predict independently), and for a mixture the same with the kind drawn afresh each turn (what the
call's belief adds); the intent head's accuracy and expected calibration error.
Writes results/debtor_model.json and its reliability diagram results/debtor_model.png.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import matplotlib
import torch

from agent_runtime.policy_source import DEFAULT_POLICY
from benchmarks.command_line import command_line
from training.debtor_model import FitConfig, Padded, collect_calls, evaluate, exploring, fit, frequency_logits

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HELDOUT_SEED_OFFSET = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-calls", type=int, default=3000)
    parser.add_argument("--heldout-calls", type=int, default=1000)
    parser.add_argument("--epsilon", type=float, default=0.3, help="share of uniformly random actions")
    parser.add_argument("--policy", default=DEFAULT_POLICY)
    parser.add_argument("--epochs", type=int, default=FitConfig.epochs)
    parser.add_argument("--components", type=int, nargs="*", default=[], help="also fit mixtures of K kinds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/debtor_model.json"))
    args = parser.parse_args()

    choose = exploring(args.policy, args.epsilon, args.seed)
    train = collect_calls(args.train_calls, args.seed, choose)
    heldout = collect_calls(args.heldout_calls, args.seed + HELDOUT_SEED_OFFSET, choose)
    batch = Padded.of(heldout)
    config = FitConfig(epochs=args.epochs, seed=args.seed)
    models = {"current state (default)": fit(train, config), "GRU over the call": fit(train, config, recurrent=True)}
    for components in args.components:
        models[f"{components} kinds of debtor"] = fit(train, replace(config, components=components))
    results = {}
    for name, model in models.items():
        with torch.no_grad():
            results[name] = evaluate(model.filtered_logits(batch), batch)
        results[name]["nll_joint"] = model.joint_nll(batch)
        if model.components > 1:
            results[name]["nll_joint_kind_per_turn"] = model.joint_nll(batch, hold_kind=False)
    for name, per_action in (("frequency per action", True), ("frequency", False)):
        results[name] = evaluate(frequency_logits(train, batch, per_action=per_action), batch)
        results[name]["nll_joint"] = results[name]["nll_total"]  # independent parts: the joint is the sum
    report = {
        "command": command_line("benchmarks.debtor_model", args, leave_out=("out",)),
        "train_calls": len(train),
        "train_turns": int(sum(len(c.actions) for c in train)),
        "heldout_calls": len(heldout),
        "heldout_turns": int(batch.mask.sum()),
        "models": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, result in results.items():
        nll = ", ".join(f"{head} {value:.3f}" for head, value in result["nll"].items())
        intent = result["intent"]
        print(
            f"{name:>22}: NLL {result['nll_total']:.3f} ({nll}), whole act {result['nll_joint']:.3f}"
            + (
                f" ({result['nll_joint_kind_per_turn']:.3f} with a kind per turn)"
                if "nll_joint_kind_per_turn" in result
                else ""
            )
            + f"; intent accuracy {intent['accuracy']:.3f}, "
            f"ECE {intent['ece']:.3f}"
        )
    plot(results, args.out.with_suffix(".png"))


def plot(results: dict, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for name, result in results.items():
        table = result["intent"]["reliability"]
        axis.plot(
            [row["confidence"] for row in table],
            [row["accuracy"] for row in table],
            marker="o",
            label=f"{name} (ECE {result['intent']['ece']:.3f})",
        )
    axis.set(
        xlabel="predicted probability of the most likely intent",
        ylabel="how often it was that intent",
        title="Debtor model: next-intent reliability, held-out calls",
    )
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
