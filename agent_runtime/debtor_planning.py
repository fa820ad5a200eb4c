"""Planning over the debtor model: rollouts in branches of the call, where only the debtor is imagined.

Decision-time planning of Deep Dyna-Q's kind: for a candidate action, a branch of the call's engine
(`DialogueEngine.branch`) acts, a model of the debtor says what they reply, and the engine's guard, termination rule
and state builder and the shared reward compute the rest, exactly as in the call; then the branch follows the greedy
Q-network for up to `horizon` replies in all, and the Q-network's value of the last state closes the sum (0 after an
end). A candidate's value is the mean discounted return of `samples` such rollouts (policy improvement by rollout:
with a faithful model it cannot be worse than the greedy policy, whatever the Q-network's values are worth). Only the
Q-network's best `candidates` actions are planned for: an action it rates low leads where its values are least
trusted. With a model that is not faithful, `margin` keeps the Q-network's own choice unless the rollouts rate
another candidate higher by more than that (in return), so that the model's errors move fewer decisions. Every
candidate's i-th rollout draws from the same random stream (common random numbers), seeded from the
call's seed and turn, so candidates are compared on the same luck and a decision is reproducible.

The default model of the debtor is the checkpoint's debtor model (agent_runtime.expectation): a sampled act enters
the branch as the DST's reading (`observe(imagined=...)`), not as words: the runtime carries no wording templates,
and the DST on every branch would not fit the time budget. A reading carries no flags, so an imagined dispute never
names a lawyer. `benchmarks/debtor_planning.py` plugs in the simulated debtor itself, to tell the model's part from
the planner's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from agent_runtime.contracts.dst import INTENTS, DSTOutput
from agent_runtime.contracts.expectation import AMOUNT_RANGES, INTENT_CLASSES, NO_WORDS
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.reward import compute_reward
from agent_runtime.engine import Decision, DialogueEngine, Observation
from agent_runtime.expectation import DebtorBelief, DebtorExpectation

SILENCE = INTENT_CLASSES.index(NO_WORDS)
SENTIMENT_CHANGE = (-0.2, 0.0, 0.2)  # an imagined reply's sentiment against the last one, per class (down, same, up)


def imagined_reading(
    act: dict[str, int], engine: DialogueEngine, terms, rng: np.random.Generator
) -> tuple[DSTOutput | None, bool]:
    """(reading, hang_up) of a sampled act: None for a reply without words; a sum drawn from its bucket against the
    offer's payment (or the balance); the sentiment moved from the last reply's by its class."""
    if act["intent"] == SILENCE:
        return None, True
    amount = None
    if act["amount"]:
        low, high = AMOUNT_RANGES[act["amount"] - 1]
        reference = terms.instalment if terms is not None else engine.facts.balance
        amount = round(reference * float(rng.uniform(low, high)), 2)
    readings = engine.history.readings
    last = readings[-1].sentiment if readings else 0.0
    reading = DSTOutput(
        intent=INTENTS[act["intent"]],
        sentiment=float(np.clip(last + SENTIMENT_CHANGE[act["sentiment"]], -1.0, 1.0)),
        amount=amount,
        period=terms.period if terms is not None and amount is not None else None,
    )
    return reading, bool(act["ends"])


def sample_act(odds: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, int]:
    """One class per part, drawn with its probability (never the most likely: a 30 % yes stays a 30 % yes)."""
    return {
        part: min(int(np.searchsorted(p.cumsum(), rng.random(), side="right")), len(p) - 1) for part, p in odds.items()
    }


Replier = Callable[[DialogueEngine, np.ndarray, int, Decision], Observation]
"""(branch, state before the action, the action, the engine's decision) -> the observation of the debtor's reply"""


Replies = Callable[[np.random.Generator, DebtorBelief | None], Replier]
"""a model of the debtor: for a rollout's random stream and the call's belief about its debtor (if any), its replies"""


def model_replies(expectation: DebtorExpectation) -> Replies:
    """Replies sampled from a debtor model, one random stream per rollout. A mixture of kinds of debtor draws one
    kind per rollout from the call's belief and holds it: the imagined debtor stays one debtor for the whole call."""

    def replier(rng: np.random.Generator, belief: DebtorBelief | None) -> Replier:
        kind = 0
        if expectation.components > 1:
            weights = np.exp(expectation.log_prior if belief is None else belief.log_weights)
            kind = min(int(np.searchsorted(weights.cumsum(), rng.random() * weights.sum())), len(weights) - 1)

        def reply(branch: DialogueEngine, state: np.ndarray, action: int, decision: Decision) -> Observation:
            odds = {part: np.exp(values[kind]) for part, values in expectation.log_probabilities(state, action).items()}
            return enter_act(branch, sample_act(odds, rng), decision, rng)

        return reply

    return replier


def enter_act(branch: DialogueEngine, act: dict[str, int], decision: Decision, rng: np.random.Generator) -> Observation:
    """The observation of an imagined act entered into `branch` as the DST's reading."""
    reading, hang_up = imagined_reading(act, branch, decision.terms, rng)
    observation = branch.observe("", hang_up=hang_up, imagined=reading)
    if observation.guard_rule is GuardRule.CONFIRM_TERMS:  # a live call reads the terms back: they agree
        observation = branch.observe("", imagined=reading.model_copy(update={"amount": None}))
    return observation


@dataclass
class DebtorPlanner:
    q_values: Callable[[np.ndarray], np.ndarray]
    replies: Replies
    """a model of the debtor (`model_replies` of a checkpoint)"""
    gamma: float
    horizon: int = 2
    """imagined replies per rollout before the Q-network's value takes over"""
    samples: int = 8
    """rollouts per candidate action"""
    candidates: int = 3
    """actions planned for: the Q-network's best"""
    margin: float = 0.0
    """planned gain over the Q-network's choice (also planned) that another candidate needs to be taken"""

    def plan(self, engine: DialogueEngine, seed: int = 0, belief: DebtorBelief | None = None) -> tuple[int, np.ndarray]:
        """(the chosen action, the action values: planned for the candidates, the Q-network's for the rest); the
        call itself is not touched. `belief`: what the call has shown of its debtor, for a mixture of kinds."""
        values = np.asarray(self.q_values(engine.state()), dtype=np.float64).copy()
        candidates = np.argsort(-values, kind="stable")[: self.candidates]  # ties: the first, as the greedy policy
        streams = [np.random.SeedSequence([seed, engine.turns, i]) for i in range(self.samples)]
        for action in candidates:
            values[action] = np.mean(
                [self._rollout(engine, int(action), np.random.default_rng(s), belief) for s in streams]
            )
        greedy, best = int(candidates[0]), int(candidates[np.argmax(values[candidates])])
        return (best if values[best] > values[greedy] + self.margin else greedy), values

    def _rollout(
        self, engine: DialogueEngine, action: int, rng: np.random.Generator, belief: DebtorBelief | None
    ) -> float:
        branch, reply = engine.branch(), self.replies(rng, belief)
        total, discount = 0.0, 1.0
        for _ in range(self.horizon):
            state = branch.state()
            decision = branch.act(action)
            observation = reply(branch, state, action, decision)
            total += discount * compute_reward(
                state, decision.proposed, observation.state, observation.outcome, branch.facts
            )
            if observation.ended:
                return total
            discount *= self.gamma
            values = self.q_values(observation.state)
            action = int(values.argmax())
        return total + discount * float(values.max())


class DebtorPlanningPolicy:
    """One call's policy that plans in branches of that call's engine, which `attach` hands it when the call opens
    (a getter: a simulator's engine changes with every call). With the checkpoint's `expectation`, it keeps a belief
    about the call's debtor (a mixture's kinds of debtor) and plans with it."""

    def __init__(self, planner: DebtorPlanner, seed: int, expectation: DebtorExpectation | None = None):
        self.planner, self.seed, self.expectation = planner, seed, expectation
        self.engine_of: Callable[[], DialogueEngine] | None = None
        self.belief = DebtorBelief(expectation) if expectation is not None else None

    def attach(self, engine_of: Callable[[], DialogueEngine]) -> None:
        self.engine_of = engine_of

    def reset(self) -> None:
        """Forget the last call's debtor: every decision plans from the engine as it is."""
        if self.expectation is not None:
            self.belief = DebtorBelief(self.expectation)

    def act(self, state: np.ndarray) -> tuple[int, np.ndarray]:
        if self.engine_of is None:
            raise RuntimeError("planning over the debtor model needs the call's engine: attach it first")
        engine = self.engine_of()
        if self.belief is None:
            return self.planner.plan(engine, self.seed)
        self.belief.update(engine)
        action, values = self.planner.plan(engine, self.seed, self.belief)
        self.belief.turn(state, action, engine)
        return action, values
