"""The promotion gate: a candidate policy reaches live calls only if it is better and breaks no rule.

    python -m training.promote --candidate RUN/checkpoint.pt [--registry models] [--events DB|URL]
    python -m training.promote --rollback [--registry models]

The candidate is judged against the registry's current version (the committed policy while the registry is empty):

1. Held-out simulator calls, paired: both policies meet the same `--episodes` debtors (the evaluation seeds); the
   difference in success per debtor gives a 95 % interval. The candidate must be better: its lower bound above 0.
2. Off-policy estimate on logged calls (`--events`, training.ope): the per-call doubly robust estimates of both
   policies on the same calls, paired. The candidate must not be significantly worse (the interval's upper bound
   at or above 0). Where the log's propensities leave too few effective calls for the candidate, it is reported
   and does not decide.
3. Compliance: `--compliance-calls` simulated calls through the agent's own controller, checked turn by turn: no
   forbidden wording, a cease request ends the call, a dispute is answered only as the guard allows.

Only a candidate that passes all three is copied into the registry (torch-free, immutable) as the next version and
made current, with its figures, parent, data and who/when; anything else exits 1 with the reasons. `--rollback`
makes the current version's parent current again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import tyro
from prometheus_client import CollectorRegistry

from agent_runtime.compliance import forbidden_phrases_in
from agent_runtime.contracts.dst import Intent
from agent_runtime.contracts.events import CallOpened, Event, TurnEvent
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.engine import DISPUTE_ANSWERS
from agent_runtime.events.store import describe_source
from agent_runtime.exploration import Exploration
from agent_runtime.policy_source import DEFAULT_POLICY, load_policy
from agent_runtime.registry import Registry, RegistryError
from agent_runtime.services import CallServices
from policy.portable import portable_path
from simulator.calls import simulated_debtor, talk
from telemetry.metrics import RuntimeMetrics
from training.cli import Seed, within
from training.evaluate import evaluate_named
from training.ope import effective_calls, judged, logged_calls, per_call_terms
from training.runs import EVAL_EPISODES, EVAL_SEED_START
from training.stats import mean_ci

COMPLIANCE_SEED = 700_000  # debtors apart from the evaluation's and the logs'
MIN_EFFECTIVE_CALLS = 50


@dataclass
class Args:
    candidate: Path | None = None
    """the candidate checkpoint (.pt or .safetensors)"""
    registry: Path = Path("models")
    """the registry folder (agent_runtime.registry)"""
    events: str | None = None
    """recent logged calls for the off-policy estimate: a SQLite file or a postgresql:// URL"""
    episodes: Annotated[int, within(int, 10)] = EVAL_EPISODES
    """held-out simulated debtors both policies meet"""
    seed: Seed = EVAL_SEED_START
    compliance_calls: Annotated[int, within(int, 1)] = 200
    rollback: bool = False
    """make the current version's parent current again, and nothing else"""


@dataclass
class Verdict:
    figures: dict
    reasons: list[str]  # why not; empty: promote


def paired_simulator(candidate: str, current: str, episodes: int, seed: int) -> dict:
    runs = [evaluate_named(spec, episodes, seed, per_episode=True) for spec in (candidate, current)]
    success = np.array(runs[0]["episode_successes"], float) - np.array(runs[1]["episode_successes"], float)
    returns = np.array(runs[0]["episode_returns"]) - np.array(runs[1]["episode_returns"])
    return {
        "episodes": episodes,
        "candidate_success": runs[0]["success_rate"],
        "current_success": runs[1]["success_rate"],
        "success_gain": mean_ci(success),
        "return_gain": mean_ci(returns),
    }


def paired_off_policy(candidate: str, current: str, events: str) -> dict:
    calls, skipped = logged_calls(events)
    if not calls:
        return {"calls": 0, "skipped": dict(skipped), "decides": False}
    exploration = Exploration()
    terms = [per_call_terms(judged(calls, load_policy(spec), exploration)) for spec in (candidate, current)]
    effective = effective_calls(terms[0]["rho"])
    return {
        "calls": len(calls),
        "skipped": dict(skipped),
        "effective_calls": round(effective, 1),
        "candidate_value": round(float(terms[0]["DR"].mean()), 4),
        "current_value": round(float(terms[1]["DR"].mean()), 4),
        "value_gain": mean_ci(terms[0]["DR"] - terms[1]["DR"]),
        "decides": effective >= MIN_EFFECTIVE_CALLS,
    }


class Collected:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def add(self, event: Event) -> None:
        self.events.append(event)


async def _simulated_calls(spec: str, calls: int) -> list[Event]:
    sink = Collected()
    metrics = RuntimeMetrics(CollectorRegistry())
    services = CallServices(load_policy(spec), DialogueStateTracker(), metrics, (sink,))
    for seed in range(COMPLIANCE_SEED, COMPLIANCE_SEED + calls):
        who = simulated_debtor(seed)
        await talk(who.controller(services, f"compliance-{seed}"), who)
    return sink.events


def compliance_violations(events: list[Event]) -> list[str]:
    """What no call may do, whatever its policy: checked on every turn of every call."""
    found = []
    for event in events:
        if not isinstance(event, TurnEvent):
            continue
        where = f"call {event.call_id} turn {event.turn}"
        if phrases := forbidden_phrases_in(event.agent_text):
            found.append(f"{where}: forbidden wording {phrases}")
        if event.dst.intent is Intent.CEASE and not event.ends_call and event.proposed_action is not None:
            found.append(f"{where}: a cease request did not end the call")
        if event.guard_rule is GuardRule.DISPUTE_VALIDATION and event.executed_action not in DISPUTE_ANSWERS:
            found.append(f"{where}: a dispute answered with {event.executed_action}")
    return found


def judge(args: Args, candidate: str, current: str) -> Verdict:
    reasons = []
    simulator = paired_simulator(candidate, current, args.episodes, args.seed)
    if not simulator["success_gain"]["low"] > 0:
        gain = simulator["success_gain"]
        reasons.append(f"not better in the simulator: success gain {gain['mean']:+.3f} [{gain['low']:+.3f}, "
                       f"{gain['high']:+.3f}] includes 0 or is below it")  # fmt: skip
    figures = {"simulator": simulator}
    if args.events:
        ope = figures["off_policy"] = paired_off_policy(candidate, current, args.events)
        if ope["decides"] and ope["value_gain"]["high"] < 0:
            reasons.append(f"the logged calls say it is worse: value gain {ope['value_gain']['mean']:+.3f} per call")
    events = asyncio.run(_simulated_calls(candidate, args.compliance_calls))
    violations = compliance_violations(events)
    opened = sum(isinstance(e, CallOpened) for e in events)
    figures["compliance"] = {"calls": opened, "violations": len(violations), "first": violations[:5]}
    if violations:
        reasons.append(f"{len(violations)} compliance violation(s), e.g. {violations[0]}")
    return Verdict(figures, reasons)


def torch_free(checkpoint: Path) -> Path:
    """The checkpoint the runtime loads without torch: the .safetensors twin training writes (made if missing)."""
    if checkpoint.suffix == ".safetensors":
        return checkpoint
    twin = portable_path(checkpoint)
    if not twin.exists():
        from training.export import export

        twin = export(checkpoint)
    return twin


def main(args: Args) -> int:
    try:
        registry = Registry.open(args.registry)
        if args.rollback:
            entry = registry.rollback()
            print(f"rolled back: {entry.version} is current again ({registry.folder})")
            return 0
        if args.candidate is None:
            raise RegistryError("give --candidate CHECKPOINT (or --rollback)")
        current = str(registry.checkpoint_path(registry.current_entry())) if registry.current else DEFAULT_POLICY
        load_policy(str(args.candidate))  # a bad checkpoint fails here, in one line
    except (RegistryError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}")
        return 2
    verdict = judge(args, str(args.candidate), current)
    gain = verdict.figures["simulator"]["success_gain"]
    print(f"simulator, {args.episodes} paired debtors: success gain {gain['mean']:+.4f} [{gain['low']:+.4f}, "
          f"{gain['high']:+.4f}] vs {registry.current or DEFAULT_POLICY}")  # fmt: skip
    if "off_policy" in verdict.figures:
        print(f"off-policy on logged calls: {verdict.figures['off_policy']}")
    print(f"compliance: {verdict.figures['compliance']['violations']} violation(s) in "
          f"{verdict.figures['compliance']['calls']} calls")  # fmt: skip
    if verdict.reasons:
        print("refused: " + "; ".join(verdict.reasons))
        return 1
    data = {"events": describe_source(args.events) if args.events else None, "eval_seed": args.seed}
    entry = registry.promote(torch_free(args.candidate), source=str(args.candidate), data=data, figures=verdict.figures)
    print(f"promoted: {entry.version} is current ({registry.folder}), parent {entry.parent or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(tyro.cli(Args)))
