"""Paired margins of policies over the best constant action, per persona, on a large sample of diagnostic seeds.

    python -m benchmarks.persona_margins [CHECKPOINT ...] [--episodes 20000] [--seed 500000] [--workers 2]

The held-out check of training.policy_quality has 2,000 calls, about 500 per persona. Where a policy and the
best constant lie within a few thousandths of each other (cooperative debtors), that sample cannot tell a tie from a
loss. This scores each policy (default: the committed checkpoint) and every constant action on the same debtors (a
seed gives the same debtor whatever the policy) from DIAGNOSTIC_SEED_START, a range that neither training,
selection nor the held-out check uses. It prints each persona's mean difference with its 95 % CI, split into calls
that ended differently and calls that only took more or fewer turns, and writes results/persona_margins.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from tqdm import tqdm

from agent_runtime.contracts.actions import ACTION_NAMES
from training.evaluate import evaluate_named, paired_differences, paired_margin
from training.runs import DIAGNOSTIC_SEED_START, VALIDATION_SEED_START

WHOLE_OUTCOME = 1.0  # a return difference above this means the call ended differently, not just sooner or later


def breakdown(learned: dict, constant: dict, persona: str) -> dict:
    """Where a margin comes from: calls whose outcome differs (|difference| > 1) and calls that only took more or
    fewer turns, each as a count and as its share of the per-call mean."""
    differences = paired_differences(learned, constant, persona)
    parts = {
        "outcome_better": differences > WHOLE_OUTCOME,
        "outcome_worse": differences < -WHOLE_OUTCOME,
        "sooner": (differences > 0) & (differences <= WHOLE_OUTCOME),
        "later": (differences < 0) & (differences >= -WHOLE_OUTCOME),
    }
    return {
        name: {"calls": int(mask.sum()), "share_of_mean": float(differences[mask].sum() / len(differences))}
        for name, mask in parts.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", default=["checkpoints/debtor_policy.pt"])
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=DIAGNOSTIC_SEED_START)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/persona_margins.json"))
    args = parser.parse_args()
    if args.seed + args.episodes > VALIDATION_SEED_START:
        parser.error(f"--seed + --episodes would reach the validation seeds (from {VALIDATION_SEED_START})")
    constants = [f"constant:{name}" for name in ACTION_NAMES]
    specs = constants + args.checkpoints
    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        scored = pool.map(partial(evaluate_named, episodes=args.episodes, seed=args.seed, per_episode=True), specs)
        results = dict(zip(specs, tqdm(scored, total=len(specs), desc="policies", unit="policy"), strict=True))
    by_constant = {spec.split(":", 1)[1]: results[spec] for spec in constants}
    report = {"episodes": args.episodes, "seed_start": args.seed, "policies": {}}
    for checkpoint in args.checkpoints:
        learned = results[checkpoint]
        margins = {persona: paired_margin(learned, by_constant, persona) for persona in sorted(learned["per_persona"])}
        for persona, margin in margins.items():
            margin["breakdown"] = breakdown(learned, by_constant[margin["best_constant"]], persona)
        report["policies"][checkpoint] = {"mean_return": learned["mean_return"], "margins": margins}
        for persona, m in margins.items():
            print(
                f"{checkpoint}  {persona:<12} vs {m['best_constant']:<22} {m['mean']:+.4f} "
                f"[{m['low']:+.4f}, {m['high']:+.4f}]  ({m['calls']} calls; "
                + ", ".join(f"{k} {v['calls']}: {v['share_of_mean']:+.4f}" for k, v in m["breakdown"].items())
                + ")"
            )
    command = "python -m benchmarks.persona_margins " + " ".join(args.checkpoints)
    report["command"] = f"{command} --episodes {args.episodes} --seed {args.seed}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
