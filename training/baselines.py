"""Baseline policies, fixed by the foundation issue so that nobody tunes them later.

- `random`: uniform over the 9 actions.
- `constant:NAME`: always the same action.
- `scripted:linear`: empathise -> ask -> offer plan -> settle -> repeat.
- `scripted:best_practice`: reacts to the DST intent (cease -> close politely, dispute -> validation answer,
  hostile -> acknowledge and redirect, hardship -> empathise then offer a plan, willing -> offer a plan,
  refused plan -> settlement, stall -> gentle urgency; questions and anything else -> ask about the situation).
- `oracle`: sees the hidden persona and traits and picks by hand-written rules.

The first four read only the observation (the contract's state vector) and live in the runtime's policy source
(agent_runtime.policy_source), which also loads checkpoints; the oracle reads the simulator's hidden state, so it
lives here.
"""

from __future__ import annotations

import numpy as np

from agent_runtime.contracts.actions import ACTION_NAMES, Action
from agent_runtime.contracts.dst import Intent
from agent_runtime.contracts.offers import OfferKind, compute_offer_terms
from agent_runtime.contracts.state import last_intent_of
from agent_runtime.policy_source import CallPolicy, ScriptedPolicy, load_policy
from simulator.env import DebtorEnv


def oracle_policy(env: DebtorEnv) -> CallPolicy:
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

    return ScriptedPolicy(act)


def make_policy(spec: str, env: DebtorEnv, seed: int) -> CallPolicy:
    """`oracle` (which reads `env`'s hidden debtor) or any spec of agent_runtime.policy_source.load_policy:
    `random`, `constant:NAME`, `scripted:linear`, `scripted:best_practice`, a checkpoint or `CHECKPOINT@PLANNER`
    (`@debtor:D` plans in `env`'s engine)."""
    if spec == "oracle":
        return oracle_policy(env)
    policy = load_policy(spec).new_call(seed)
    if (attach := getattr(policy, "attach", None)) is not None:  # planning in the call's engine
        attach(lambda: env.engine)
    return policy


BASELINE_SPECS = (
    "random",
    *(f"constant:{name}" for name in ACTION_NAMES),
    "scripted:linear",
    "scripted:best_practice",
    "oracle",
)
