"""Where a call's strategy comes from: a policy spec, loaded once per process, and a policy object per call.

    checkpoints/debtor_policy.safetensors     a trained Q-network, greedy; numpy only, no torch
    RUN/best.pt                               the same from a training checkpoint (torch reads the file)
    CHECKPOINT@tree:2, @rollout:3[+fallback]  decision-time planning over the checkpoint's world model (needs torch)
    CHECKPOINT@debtor:2, @debtor:4x16+0.5     rollouts in branches of the call over its debtor model (numpy only)
    scripted:best_practice, scripted:linear   fixed scripts over the state vector
    constant:NAME, random                     one action always, or a uniformly random one
    registry:FOLDER                           the current version of a policy registry (agent_runtime.registry)

`load_policy(spec)` reads the weights (and world model) once; `source.new_call(seed)` gives each call its own
`CallPolicy`, which owns whatever that call needs to remember (a planner's history of the call) and is `reset()` when
the call opens. Built on `policy/` and the contracts only: nothing here belongs to training, so the live worker and
the console load no trainer and, with a `.safetensors` checkpoint, no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from agent_runtime.contracts.actions import ACTION_NAMES, N_ACTIONS, Action, parse_action
from agent_runtime.contracts.dst import Intent
from agent_runtime.contracts.state import CHECKPOINT_SPACES, FEATURE_INDEX, MAX_TURNS, last_intent_of
from agent_runtime.debtor_planning import DebtorPlanner, DebtorPlanningPolicy, model_replies
from agent_runtime.expectation import DebtorExpectation
from agent_runtime.registry import SPEC_PREFIX, Registry, registry_folder

DEFAULT_POLICY = "checkpoints/debtor_policy.safetensors"
CHECKPOINT_SUFFIXES = (".safetensors", ".pt")
DEBTOR_PLANNER = "debtor:"


class CallPolicy(Protocol):
    """One call's policy: `reset()` when the call opens, then `act(state) -> (action id, action values or None)`."""

    def reset(self) -> None: ...

    def act(self, state: np.ndarray) -> tuple[int, np.ndarray | None]: ...


class ScriptedPolicy:
    """A fixed rule over the state vector: everything it needs is in the state, so it keeps nothing per call."""

    def __init__(self, choose: Callable[[np.ndarray], int]):
        self.choose = choose

    def reset(self) -> None:
        pass

    def act(self, state: np.ndarray) -> tuple[int, None]:
        return int(self.choose(state)), None


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


def turn_of(state: np.ndarray) -> int:
    return round(float(state[FEATURE_INDEX["turn_fraction"]]) * MAX_TURNS)


def linear_script(state: np.ndarray) -> int:
    """empathise -> ask -> offer a plan -> settle -> repeat."""
    return int(LINEAR_SEQUENCE[turn_of(state) % len(LINEAR_SEQUENCE)])


def best_practice_script(state: np.ndarray) -> int:
    """Reacts to the DST intent: cease or hostile -> acknowledge and redirect, dispute -> validation answer, refused
    plan -> settlement, hardship -> empathise then offer a plan, willing -> offer a plan, stall -> gentle urgency;
    questions and anything else -> ask about the situation."""
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


SCRIPTS: dict[str, Callable[[np.ndarray], int]] = {
    "scripted:linear": linear_script,
    "scripted:best_practice": best_practice_script,
}


@dataclass(frozen=True)
class PolicySource:
    """A loaded policy spec: `version` goes into every event, `new_call(seed)` makes each call's policy."""

    spec: str
    version: str
    new_call: Callable[[int], CallPolicy]
    expectation: DebtorExpectation | None = None
    """the debtor model a checkpoint trained with DDQ over it carries: what the agent expects to hear"""


def is_checkpoint_spec(spec: str) -> bool:
    path = spec.partition("@")[0]
    return path.endswith(CHECKPOINT_SUFFIXES) or Path(path).is_file()


def load_policy(spec: str) -> PolicySource:
    """The policy a spec names (see the module docstring); a bad spec or checkpoint fails here, before any call."""
    if spec == "random":
        return PolicySource(spec, spec, lambda seed: ScriptedPolicy(_uniform(np.random.default_rng(seed))))
    if spec.startswith("constant:"):
        action = parse_action(spec.split(":", 1)[1])
        return PolicySource(spec, spec, lambda seed: ScriptedPolicy(lambda state: int(action)))
    if spec in SCRIPTS:
        script = ScriptedPolicy(SCRIPTS[spec])
        return PolicySource(spec, spec, lambda seed: script)
    if (folder := registry_folder(spec)) is not None:
        registry = Registry.open(folder)
        entry = registry.current_entry()
        source = _checkpoint_source(str(registry.checkpoint_path(entry)))
        return PolicySource(spec, f"{SPEC_PREFIX}{entry.version}", source.new_call, source.expectation)
    if is_checkpoint_spec(spec):
        return _checkpoint_source(spec)
    raise ValueError(
        f"unknown policy {spec!r}; use a checkpoint (.safetensors or .pt), CHECKPOINT@PLANNER, "
        f"{', '.join(SCRIPTS)}, constant:NAME, random or registry:FOLDER"
    )


def current_policy(source: PolicySource) -> PolicySource:
    """`source`, or the registry's newer current version where `source` is a registry's: called between calls, so a
    promotion (or a rollback) reaches the next call and never one in progress."""
    folder = registry_folder(source.spec)
    if folder is None or f"{SPEC_PREFIX}{Registry.open(folder).current}" == source.version:
        return source
    return load_policy(source.spec)


def _uniform(rng: np.random.Generator) -> Callable[[np.ndarray], int]:
    return lambda state: int(rng.integers(N_ACTIONS))


def _checkpoint_source(spec: str) -> PolicySource:
    path, at, planner_spec = spec.partition("@")
    version = Path(path).name + at + planner_spec
    if not planner_spec:
        greedy, expectation, _ = _greedy_checkpoint(path, version)  # stateless: every call shares it
        return PolicySource(spec, version, lambda seed: greedy, expectation)
    if planner_spec.startswith(DEBTOR_PLANNER):
        return _debtor_planning_source(spec, path, version, planner_spec)
    try:
        from policy.planning import PlanningPolicy, load_planning_policy
    except ModuleNotFoundError as exc:
        raise ValueError(f"planning ({planner_spec}) runs the world model in torch: {exc}") from None
    planning = load_planning_policy(Path(path), planner_spec, **CHECKPOINT_SPACES)
    # The planner and its world model are shared; each call keeps its own history.
    return PolicySource(spec, version, lambda seed: PlanningPolicy(planning.planner))


def _greedy_checkpoint(path: str, version: str):
    """(the greedy Q-network, the debtor model's expectation or None, gamma) of a checkpoint; numpy only."""
    from policy.inference import GreedyPolicy, load_weights

    metadata, q_state, world_weights = load_weights(Path(path), **CHECKPOINT_SPACES)
    expectation = DebtorExpectation.of_checkpoint(metadata, world_weights, version)
    return GreedyPolicy.from_state(q_state, metadata), expectation, float(metadata.hyperparameters.get("gamma", 0.99))


def _debtor_planning_source(spec: str, path: str, version: str, planner_spec: str) -> PolicySource:
    """`CHECKPOINT@debtor:H[xN][+M]`: rollouts of H replies (N per candidate action) over the checkpoint's debtor
    model (agent_runtime.debtor_planning), another action than the Q-network's only for a planned gain over M;
    numpy only."""
    try:
        rollouts, plus, margin = planner_spec.removeprefix(DEBTOR_PLANNER).partition("+")
        horizon, _, samples = rollouts.partition("x")
        horizon, samples = int(horizon), int(samples or DebtorPlanner.samples)
        margin = float(margin) if plus else DebtorPlanner.margin
        if horizon < 1 or samples < 1 or not margin >= 0:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"bad planner {planner_spec!r}: use debtor:H, debtor:HxN or debtor:HxN+M with H, N >= 1 and M >= 0"
        ) from None
    greedy, expectation, gamma = _greedy_checkpoint(path, version)
    if expectation is None:
        raise ValueError(f"{path} carries no per-turn debtor model: train it with --world-model debtor")
    planner = DebtorPlanner(
        greedy.q_values, model_replies(expectation), gamma, horizon=horizon, samples=samples, margin=margin
    )
    return PolicySource(spec, version, lambda seed: DebtorPlanningPolicy(planner, seed, expectation), expectation)
