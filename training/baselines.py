"""Baseline policies, fixed by the foundation issue so that nobody tunes them later.

- `random`: uniform over the 9 actions.
- `constant:NAME`: always the same action.
- `scripted:linear`: empathise -> ask -> offer plan -> settle -> repeat.
- `scripted:best_practice`: reacts to the DST intent (cease -> close politely, dispute -> validation answer,
  hostile -> acknowledge and redirect, hardship -> empathise then offer a plan, willing -> offer a plan,
  refused plan -> settlement, stall -> gentle urgency; questions and anything else -> ask about the situation).
- `oracle`: sees the hidden persona and traits and picks by hand-written rules.

Scripts read only the observation (the contract's state vector); the oracle reads the simulator's hidden state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from agent_runtime.contracts.actions import ACTION_NAMES, Action, parse_action
from agent_runtime.contracts.dst import Intent
from agent_runtime.contracts.offers import OfferKind, compute_offer_terms
from agent_runtime.contracts.state import CHECKPOINT_SPACES, FEATURE_INDEX, MAX_TURNS, last_intent_of
from simulator.env import DebtorEnv

Policy = Callable[[np.ndarray], int]
LINEAR_SEQUENCE = (
    Action.EMPATHETIC_LISTENING,
    Action.ASK_ABOUT_SITUATION,
    Action.OFFER_PAYMENT_PLAN,
    Action.PROPOSE_SETTLEMENT,
)
_LAST_ACTION = FEATURE_INDEX["last_action_empathetic_listening"]


def last_action_of(state: np.ndarray) -> Action | None:
    block = state[_LAST_ACTION : _LAST_ACTION + len(ACTION_NAMES)]
    return Action(int(block.argmax())) if block.any() else None


def turn_of(state: np.ndarray, max_turns: int) -> int:
    return round(float(state[FEATURE_INDEX["turn_fraction"]]) * max_turns)


def constant_policy(action: Action) -> Policy:
    return lambda state: int(action)


def random_policy(rng: np.random.Generator) -> Policy:
    return lambda state: int(rng.integers(len(ACTION_NAMES)))


def linear_script(state: np.ndarray) -> int:
    return int(LINEAR_SEQUENCE[turn_of(state, MAX_TURNS) % len(LINEAR_SEQUENCE)])


def best_practice_script(state: np.ndarray) -> int:
    intent = last_intent_of(state)
    last = last_action_of(state)
    if intent is Intent.CEASE or intent is Intent.HOSTILE:
        return int(Action.ACKNOWLEDGE_AND_REDIRECT)
    if intent is Intent.DISPUTE:
        return int(Action.VALIDATE_THEN_OFFER)
    if last in (Action.OFFER_PAYMENT_PLAN, Action.VALIDATE_THEN_OFFER) and intent is not Intent.COMMIT:
        return int(Action.PROPOSE_SETTLEMENT)
    if intent is Intent.HARDSHIP:
        return int(Action.OFFER_PAYMENT_PLAN if last is Action.EMPATHETIC_LISTENING else Action.EMPATHETIC_LISTENING)
    if intent in (Intent.WILLING, Intent.COMMIT):
        return int(Action.OFFER_PAYMENT_PLAN)
    if intent is Intent.STALL:
        return int(Action.GENTLE_URGENCY)
    return int(Action.ASK_ABOUT_SITUATION)


def oracle_policy(env: DebtorEnv) -> Policy:
    """Hand-written rules over the hidden persona, traits and mood: calm, build trust, then an affordable offer."""

    def act(state: np.ndarray) -> int:
        debtor, engine = env.debtor, env.engine
        traits, history = debtor.traits, engine.history
        if last_intent_of(state) is Intent.DISPUTE:
            return int(Action.VALIDATE_THEN_OFFER)
        if debtor.anger >= 0.35:
            return int(Action.ACKNOWLEDGE_AND_REDIRECT)
        if debtor.rapport < 0.8 * debtor.profile.rapport_needed + 0.05:
            return int(
                Action.EMPATHETIC_LISTENING
                if debtor.uses.get(Action.EMPATHETIC_LISTENING, 0) < 2
                else Action.ACKNOWLEDGE_AND_REDIRECT
            )
        if debtor.engagement < debtor.profile.engagement_needed:
            return int(
                Action.GENTLE_URGENCY if debtor.uses.get(Action.GENTLE_URGENCY, 0) == 0 else Action.FIRM_REMINDER
            )
        if traits.lump_capacity >= env.facts.balance:
            return int(Action.HARD_CLOSE)
        plan = compute_offer_terms(Action.OFFER_PAYMENT_PLAN, env.facts, history, engine.today)
        if plan.monthly_equivalent <= traits.monthly_capacity:
            return int(Action.OFFER_PAYMENT_PLAN)
        settlement = compute_offer_terms(Action.PROPOSE_SETTLEMENT, env.facts, history, engine.today)
        if settlement.kind is OfferKind.SETTLEMENT and settlement.total <= traits.lump_capacity:
            return int(Action.PROPOSE_SETTLEMENT)
        if history.stated_amount is None and debtor.rapport >= 0.3 and traits.persona.value != "avoidant":
            return int(Action.ASK_ABOUT_SITUATION)
        return int(Action.OFFER_PAYMENT_PLAN)

    return act


def load_debtor_policy(path: Path):
    """A trained checkpoint as a GreedyPolicy, checked against this code's state spec and action set."""
    from policy.inference import GreedyPolicy

    return GreedyPolicy.load(path, **CHECKPOINT_SPACES)


def load_checkpoint_policy(spec: str) -> Callable[[np.ndarray], tuple[int, np.ndarray]]:
    """`PATH` (greedy Q-network) or `PATH@PLANNER` (decision-time planning over the checkpoint's world model, see
    policy.planning.make_planner); returns state -> (action, values). A planner starts its history anew at turn 0."""
    path, _, planner_spec = spec.partition("@")
    if not planner_spec:
        return load_debtor_policy(Path(path)).act
    from policy.planning import load_planning_policy

    planning = load_planning_policy(Path(path), planner_spec, **CHECKPOINT_SPACES)

    def act(state: np.ndarray) -> tuple[int, np.ndarray]:
        if turn_of(state, MAX_TURNS) == 0:
            planning.reset()
        return planning.act(state)

    return act


def is_checkpoint_spec(spec: str) -> bool:
    path = spec.partition("@")[0]
    return path.endswith(".pt") or Path(path).is_file()


def policy_with_q_values(
    spec: str, env: DebtorEnv, seed: int
) -> Callable[[np.ndarray], tuple[int, list[float] | None]]:
    """Like make_policy, but each decision also returns the checkpoint's Q-values or the planner's action values
    (None for the baselines)."""
    if is_checkpoint_spec(spec):
        checkpoint = load_checkpoint_policy(spec)

        def act(state: np.ndarray) -> tuple[int, list[float]]:
            action, values = checkpoint(state)
            return action, values.tolist()

        return act
    baseline = make_policy(spec, env, seed)
    return lambda state: (baseline(state), None)


def make_policy(spec: str, env: DebtorEnv, seed: int) -> Policy:
    """`random`, `constant:NAME`, `scripted:linear`, `scripted:best_practice`, `oracle`, a checkpoint path, or
    `PATH@PLANNER` (planning over the checkpoint's world model, e.g. `runs/ddq/best.pt@tree:2`)."""
    if spec == "random":
        return random_policy(np.random.default_rng(seed))
    if spec.startswith("constant:"):
        return constant_policy(parse_action(spec.split(":", 1)[1]))
    if spec == "scripted:linear":
        return linear_script
    if spec == "scripted:best_practice":
        return best_practice_script
    if spec == "oracle":
        return oracle_policy(env)
    if is_checkpoint_spec(spec):
        checkpoint = load_checkpoint_policy(spec)
        return lambda state: checkpoint(state)[0]
    raise ValueError(
        f"unknown policy {spec!r}; use random, constant:NAME, scripted:linear, "
        "scripted:best_practice, oracle, a checkpoint path or PATH@PLANNER"
    )


BASELINE_SPECS = (
    "random",
    *(f"constant:{name}" for name in ACTION_NAMES),
    "scripted:linear",
    "scripted:best_practice",
    "oracle",
)
