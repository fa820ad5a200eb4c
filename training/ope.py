"""Off-policy evaluation: what a candidate policy would earn per call, estimated from calls another policy made.

    python -m training.ope --events DB|URL --candidate CHECKPOINT [--epsilon 0.05] [--margin 0.5] [--seed 0]

The logged calls' transitions (rewards from the shared reward function, as replay builds them) and the propensity
each turn logged (the behaviour policy's probability of its proposal, event schema 6) give three estimates of the
candidate's value, the expected sum of a call's rewards (gamma = 1: a call has at most a dozen decisions):

- IS, importance sampling: the mean over calls of rho * G, with rho the product over the call's decisions of
  pi_candidate(a|s) / pi_behaviour(a|s). Unbiased; its variance grows with how far the two policies differ.
- WIS, weighted importance sampling: sum(rho * G) / sum(rho). Biased for few calls, far less variable.
- DR, per-decision doubly robust (Jiang & Li 2016), with the candidate's own Q-network as the model: unbiased as IS,
  less variable wherever the Q-values are good.

The candidate is judged as it would run live: with the same bounded exploration (agent_runtime.exploration) as the
behaviour, so its probabilities are never all-or-nothing. Intervals: percentile bootstrap over calls (seeded). Calls
whose turns carry no propensity (logged before schema 6) are skipped and counted. `benchmarks/ope_validation.py`
checks bias and interval coverage against the candidate's true simulated value.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro

from agent_runtime.contracts.transitions import Transition
from agent_runtime.exploration import Exploration
from agent_runtime.policy_source import PolicySource, load_policy
from training.replay import whole_calls

BOOTSTRAP_SAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class LoggedCall:
    """One call's decisions: the candidate's probabilities of the logged proposals, the behaviour's, the rewards,
    and the candidate model's Q(s, a) and V(s) = sum_a pi(a|s) Q(s, a)."""

    target_p: np.ndarray
    behaviour_p: np.ndarray
    rewards: np.ndarray
    q_taken: np.ndarray
    v: np.ndarray


@dataclass(frozen=True)
class Estimate:
    estimator: str
    value: float
    low: float
    high: float
    calls: int
    effective_calls: float  # (sum rho)^2 / sum rho^2: how many calls the weights are worth


def judged(calls: list[list[Transition]], candidate: PolicySource, exploration: Exploration) -> list[LoggedCall]:
    """The candidate's view of each logged call."""
    policy = candidate.new_call(0)  # a Q-network policy keeps nothing per call
    out = []
    for rows in calls:
        target_p, q_taken, v = [], [], []
        for row in rows:
            greedy, values = policy.act(row.state)
            if values is None:
                raise ValueError(f"the candidate {candidate.spec!r} has no Q-values: off-policy evaluation needs them")
            probabilities = exploration.distribution(greedy, values, row.state)
            target_p.append(probabilities[row.action])
            q_taken.append(values[row.action])
            v.append(float(probabilities @ values))
        out.append(
            LoggedCall(
                np.array(target_p),
                np.array([row.propensity for row in rows], dtype=float),
                np.array([row.reward for row in rows]),
                np.array(q_taken, dtype=float),
                np.array(v),
            )
        )
    return out


def per_call_terms(calls: list[LoggedCall]) -> dict[str, np.ndarray]:
    """Per call: the IS weight rho, the return G, and the DR estimate (whose mean is the DR value)."""
    rho, returns, doubly_robust = [], [], []
    for call in calls:
        weights = np.cumprod(call.target_p / call.behaviour_p)  # w_t = prod_{k <= t} rho_k
        before = np.concatenate(([1.0], weights[:-1]))  # w_{t-1}, with w_{-1} = 1
        rho.append(weights[-1])
        returns.append(call.rewards.sum())
        doubly_robust.append(float(np.sum(weights * (call.rewards - call.q_taken) + before * call.v)))
    return {"rho": np.array(rho), "G": np.array(returns), "DR": np.array(doubly_robust)}


def _values(rho: np.ndarray, returns: np.ndarray, dr: np.ndarray, axis: int = -1) -> dict[str, np.ndarray]:
    weighted = (rho * returns).sum(axis)
    total = rho.sum(axis)
    return {
        "IS": (rho * returns).mean(axis),
        "WIS": np.divide(weighted, total, out=np.zeros_like(weighted, dtype=float), where=total > 0),
        "DR": dr.mean(axis),
    }


def effective_calls(rho: np.ndarray) -> float:
    """(sum rho)^2 / sum rho^2: how many calls the importance weights are worth."""
    return float(rho.sum() ** 2 / max((rho**2).sum(), 1e-300))


def estimate(calls: list[LoggedCall], seed: int = 0, samples: int = BOOTSTRAP_SAMPLES) -> list[Estimate]:
    """IS, WIS and DR with percentile bootstrap intervals over calls."""
    if not calls:
        raise ValueError("no logged call with propensities to estimate from")
    terms = per_call_terms(calls)
    rho, returns, dr = terms["rho"], terms["G"], terms["DR"]
    point = _values(rho, returns, dr)
    resample = np.random.default_rng(seed).integers(len(calls), size=(samples, len(calls)))
    boot = _values(rho[resample], returns[resample], dr[resample], axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    effective = effective_calls(rho)
    estimates = []
    for name in ("IS", "WIS", "DR"):
        low, high = np.percentile(boot[name], [tail, 100 - tail])
        estimates.append(Estimate(name, float(point[name]), float(low), float(high), len(calls), effective))
    return estimates


def logged_calls(source: str | Path) -> tuple[list[list[Transition]], Counter[str]]:
    """The whole calls at `source` whose every decision logged its propensity; the others counted by reason."""
    skipped: Counter[str] = Counter()
    calls = []
    for rows in whole_calls(source, skipped):
        if any(row.propensity is None for row in rows):
            skipped["no propensity logged (before event schema 6)"] += 1
        else:
            calls.append(rows)
    return calls, skipped


@dataclass
class Args:
    events: str
    """events database: a SQLite file or a postgresql:// URL"""
    candidate: str
    """the candidate's checkpoint (a policy spec with Q-values)"""
    epsilon: float = 0.05
    """the exploration the candidate would run with live (EXPLORE_EPSILON)"""
    margin: float = 0.5
    """its exploration margin (EXPLORE_MARGIN)"""
    seed: int = 0
    """seeds the bootstrap"""


def main(args: Args) -> None:
    calls, skipped = logged_calls(args.events)
    candidate = load_policy(args.candidate)
    estimates = estimate(judged(calls, candidate, Exploration(args.epsilon, args.margin)), seed=args.seed)
    for e in estimates:
        print(f"{e.estimator:>3}: {e.value:+.3f} [{e.low:+.3f}, {e.high:+.3f}] per call")
    print(f"{len(calls)} calls used (effective {estimates[0].effective_calls:.0f}); skipped: {dict(skipped) or 0}")


if __name__ == "__main__":
    main(tyro.cli(Args))
