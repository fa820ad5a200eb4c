"""A few simulated calls printed turn by turn: `python -m training.demo [--calls 4] [--policy scripted:best_practice]`.

Shows the debtor's words, the DST reading, the strategy proposed and executed (with the guard's rule), the
offer terms and the outcome. Runs on embedded defaults; the seed makes it reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tyro

from agent_runtime.contracts.dst import DSTOutput
from agent_runtime.contracts.offers import OfferTerms
from simulator.env import DebtorEnv
from simulator.personas import PERSONAS
from training.baselines import make_policy


@dataclass
class Args:
    calls: int = 4
    """calls to run (one persona after another)"""
    policy: str = "checkpoints/debtor_policy.pt"
    """the committed learned policy; or scripted:best_practice, oracle, constant:NAME, another checkpoint"""
    seed: int = 7
    stt_noise: float = 0.0


def describe_reading(reading: DSTOutput | None) -> str:
    if reading is None:
        return "(hung up)"
    amount = f"${reading.amount:,.0f}" if reading.amount is not None else "-"
    flags = ",".join(sorted(f.value for f in reading.flags)) or "-"
    return (
        f"{reading.intent.value:<8} sentiment {reading.sentiment:+.2f}  amount {amount}  "
        f"period {reading.period.value if reading.period else '-'}  flags {flags}"
    )


def describe_terms(terms: OfferTerms | None) -> str:
    if terms is None:
        return ""
    if terms.n_payments == 1:
        return f"  offer: {terms.kind.value} ${terms.total:,.2f} by {terms.first_due}"
    return f"  offer: {terms.kind.value} ${terms.instalment:,.2f} {terms.period.value} x {terms.n_payments}"


def run_call(env: DebtorEnv, policy_spec: str, seed: int, persona: str) -> float:
    state, info = env.reset(seed=seed, options={"persona": persona})
    policy = make_policy(policy_spec, env, seed)
    facts = env.facts
    print(
        f"\n=== call seed {seed}: {facts.debtor_name}, owes ${facts.balance:,.2f} to {facts.creditor}, "
        f"{facts.days_overdue} days overdue  [hidden persona: {persona}]"
    )
    print(f"  debtor : {env.transcript[0].removeprefix('debtor: ')}")
    print(f"  DST    : {describe_reading(info['reading'])}")
    total, done = 0.0, False
    while not done:
        state, reward, done, _, info = env.step(policy(state))
        guard = f"  [guard {info['guard_rule'].value}: proposed {info['proposed'].label}]" if info["guard_rule"] else ""
        print(f"  agent  : <{info['executed'].label}>{guard}{describe_terms(info['terms'])}")
        print(f"  debtor : {env.transcript[-1].removeprefix('debtor: ')}")
        print(f"  DST    : {describe_reading(info['reading'])}")
        total += reward
    closing = f" ({info['closing_rule'].value})" if info.get("closing_rule") else ""
    print(
        f"  outcome: {info['outcome']}{closing}  success={info['success']}  recovery={info['recovery']:.0%}  "
        f"return={total:+.2f}"
    )
    return total


def main(args: Args) -> None:
    if args.policy.endswith(".pt") and not Path(args.policy).is_file():
        raise SystemExit(
            f"no checkpoint at {args.policy}: train one (benchmarks/policy_quality.py) or pass "
            "--policy scripted:best_practice"
        )
    env = DebtorEnv(stt_noise=args.stt_noise)
    print(f"policy: {args.policy}  (the voice runtime will word these strategies; here they are named)")
    for i in range(args.calls):
        run_call(env, args.policy, args.seed + i, PERSONAS[i % len(PERSONAS)].value)


if __name__ == "__main__":
    main(tyro.cli(Args))
