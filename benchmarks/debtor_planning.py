"""Planning over the debtor model against the same checkpoint's greedy Q-network, paired on held-out calls:

    python -m benchmarks.debtor_planning [--checkpoint checkpoints/debtor_policy.pt] [--horizons 1 2 12]
        [--samples 8] [--margins 0] [--models "debtor model" "simulated debtor" "simulated debtor's acts"]
        [--calls 500] [--seed 1000000]

Every call seed is played by the checkpoint's greedy policy and by rollout planners (agent_runtime.debtor_planning)
of each horizon over each model: the checkpoint's debtor model (what `CHECKPOINT@debtor:H` runs), the simulated
debtor itself (a copy of the call's debtor with fresh luck per rollout: a perfect model, which tells the model's part
from the planner's) and the simulated debtor's acts (its replies as the debtor model's classes, entered as the
model's are: a perfect model of the act, which tells what the act and its rendering lose). The same seed is the same
debtor for every policy, so differences are paired. Reported: success and mean return overall and per persona, the
paired difference from greedy with its 95 % CI, and the time per decision (p50, p95; one process, one thread).
`--margins` runs each planner with each margin (the planned gain another action needs over the Q-network's own
choice; choose one on validation seeds, `--seed 900000`, before the held-out ones). Writes
results/debtor_planning.json.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
from pathlib import Path

import numpy as np

from agent_runtime.contracts.expectation import act_labels
from agent_runtime.debtor_planning import DebtorPlanner, DebtorPlanningPolicy, Replier, enter_act
from agent_runtime.engine import Decision, DialogueEngine
from agent_runtime.expectation import DebtorBelief
from agent_runtime.policy_source import load_policy
from simulator.env import DebtorEnv
from training.evaluate import evaluate_timed
from training.runs import EVAL_SEED_START
from training.stats import mean_ci

MODELS = ("debtor model", "simulated debtor", "simulated debtor's acts")


def simulator_replies(env: DebtorEnv):
    """The call's simulated debtor as the model: copied at the start of every rollout, with the rollout's luck."""

    def replier(rng: np.random.Generator, belief: DebtorBelief | None) -> Replier:
        debtor = copy.deepcopy(env.debtor)
        debtor.rng = rng

        def reply(branch: DialogueEngine, state: np.ndarray, action: int, decision: Decision):
            said = debtor.respond(decision)
            return branch.observe(said.text, hang_up=said.hang_up)

        return reply

    return replier


def simulator_acts(env: DebtorEnv):
    """The simulated debtor reduced to what the debtor model predicts: its reply, read by the DST in a probe branch,
    becomes the model's act classes and enters the branch as the model's acts do (a reading without flags, the
    sentiment moved by its class, a sum drawn from its bucket). A perfect model of the act: where it falls short of
    the simulated debtor, the act and its rendering lose what planning needs; where it does not, the model does."""

    words = simulator_replies(env)

    def replier(rng: np.random.Generator, belief: DebtorBelief | None) -> Replier:
        said = words(rng, belief)

        def reply(branch: DialogueEngine, state: np.ndarray, action: int, decision: Decision):
            readings = branch.history.readings
            probe = said(branch.branch(), state, action, decision)
            last = readings[-1].sentiment if readings else 0.0
            act = act_labels(probe.reading, last, decision.terms, branch.facts.balance, probe.ended)
            return enter_act(branch, act, decision, rng)

        return reply

    return replier


def play(policy, env: DebtorEnv, calls: int, seed: int) -> dict:
    """Each call's success, return and persona (the same seeds for every policy), and the decision time."""
    result, seconds = evaluate_timed(lambda _: policy, calls, seed, env=env, per_episode=True)
    milliseconds = np.array(seconds) * 1000
    return {
        "successes": result["episode_successes"],
        "returns": result["episode_returns"],
        "personas": result["episode_personas"],
        "decision_ms": {"p50": float(np.percentile(milliseconds, 50)), "p95": float(np.percentile(milliseconds, 95))},
    }


def summary(run: dict, greedy: dict) -> dict:
    def rates(rows: list[int]) -> dict:
        success = [run["successes"][i] for i in rows]
        gain = [run["successes"][i] - greedy["successes"][i] for i in rows]
        gain_return = [run["returns"][i] - greedy["returns"][i] for i in rows]
        return {
            "calls": len(rows),
            "success_rate": float(np.mean(success)),
            "mean_return": float(np.mean([run["returns"][i] for i in rows])),
            "success_vs_greedy": mean_ci(gain),
            "return_vs_greedy": mean_ci(gain_return),
        }

    everyone = list(range(len(run["successes"])))
    per_persona = {p: rates([i for i in everyone if run["personas"][i] == p]) for p in sorted(set(run["personas"]))}
    return {**rates(everyone), "per_persona": per_persona, "decision_ms": run["decision_ms"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="checkpoints/debtor_policy.pt")
    parser.add_argument("--horizons", type=int, nargs="+", default=[1, 2, 12])
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--margins", type=float, nargs="+", default=[0.0], help="planned gain needed to override Q")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seed", type=int, default=EVAL_SEED_START)
    parser.add_argument("--out", type=Path, default=Path("results/debtor_planning.json"))
    args = parser.parse_args()

    env = DebtorEnv()
    greedy_policy = load_policy(args.checkpoint).new_call(0)
    greedy = play(greedy_policy, env, args.calls, args.seed)
    planning = load_policy(f"{args.checkpoint}@debtor:1").new_call(0)
    planned = planning.planner  # the checkpoint's model, Q and gamma
    results = {"greedy": summary(greedy, greedy)}
    models = {
        "debtor model": planned.replies,
        "simulated debtor": simulator_replies(env),
        "simulated debtor's acts": simulator_acts(env),
    }
    for horizon, margin, model in itertools.product(args.horizons, args.margins, args.models):
        planner = DebtorPlanner(
            planned.q_values, models[model], planned.gamma, horizon=horizon, samples=args.samples, margin=margin
        )
        policy = DebtorPlanningPolicy(planner, seed=0, expectation=planning.expectation)
        policy.attach(lambda: env.engine)
        name = f"rollouts of {horizon}, {model}" + (f", margin {margin:g}" if margin else "")
        results[name] = summary(play(policy, env, args.calls, args.seed), greedy)
        row = results[name]
        print(
            f"{name:>34}: success {row['success_rate']:.3f} (vs greedy {row['success_vs_greedy']['mean']:+.3f} "
            f"[{row['success_vs_greedy']['low']:+.3f}, {row['success_vs_greedy']['high']:+.3f}]), "
            f"decision p95 {row['decision_ms']['p95']:.1f} ms",
            flush=True,
        )
    report = {
        "command": f"python -m benchmarks.debtor_planning --checkpoint {args.checkpoint} --horizons "
        f"{' '.join(map(str, args.horizons))} --samples {args.samples} --margins {' '.join(map(str, args.margins))} "
        f"--models {' '.join(repr(m) for m in args.models)} --calls {args.calls} --seed {args.seed} --out {args.out}",
        "candidates": planned.candidates,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"greedy: success {results['greedy']['success_rate']:.3f}")


if __name__ == "__main__":
    main()
