"""A debtor model for Deep Dyna-Q: given the call so far and the agent's action, what the debtor says next.

In Peng et al. 2018 (MiuLab/DDQ, `usersims/user_model.py`) the world model is a user model: it predicts the user's next
dialogue act, and the dialogue-state tracker builds the next state from it. Here the engine, the state builder and the
reward are exact and shared, so only the debtor is imagined: for the agent's action the model gives a distribution over
the debtor's next act: its intent, a sum relative to the offer, the change of sentiment and whether the call ends (the
classes are a contract: agent_runtime.contracts.expectation). The labels are what the DST read, not the simulator's
ground truth, because that is all logged real calls hold: the same model learns from the simulator and from the event
store.

Hidden traits (persona, capacity, mood) are inferred from the call so far, not sampled per imagined call: a planner
branches from real states, where the call so far is evidence about this debtor that a latent drawn afresh would
ignore. The state vector already summarises that evidence (sentiment last, mean, minimum and trend, the actions so
far, refusals, the turn), and on held-out calls a GRU over the whole call (`recurrent=True`) did no better than the
same heads on the current state and action (NLL 2.62 vs 2.55 nats, intent calibration error 0.075 vs 0.018, 3,000
training calls; `python -m benchmarks.debtor_model`), so the current state is the default and the GRU stays an option
for logged calls whose states say less.

What the state does not carry is how this debtor reacts: the same words and actions so far go with debtors whose
anger, patience and means differ, and a per-turn model averages over them. `components=K` makes the model a mixture of
K kinds of debtor, one kind per call: each kind has its own heads, the call's kind is a latent with a learned prior,
fit by the call's marginal likelihood, and at any turn the belief over kinds is Bayes' rule on the acts so far
(`filtered_logits`). A planner draws a kind once per imagined call and holds it, where a per-turn model lets the
imagined debtor drift between kinds from one reply to the next. Measured (15,000 training calls,
`python -m benchmarks.debtor_model --train-calls 15000 --components 4 8`): the whole act's NLL falls from 2.38 to 2.11
nats with 8 kinds, but by as much with the kind drawn afresh each turn (2.11): the gain is how an act's parts go
together, not what the call shows of its debtor, and each part alone is predicted worse (2.48 summed). Planning over
it gains nothing either, so one per-turn model stays the default.

An imagined reply is rendered as text, from the simulator's templates for the sampled intent (and sum), and read by
the engine as a real reply is: the DST, the termination rule, the state builder and the shared reward all run
unchanged, so an imagined state is a state the policy can meet, with the flags, periods and sentiment the DST reads in
such words. Writing a DST output directly would skip the one noisy reader the policy really faces and need a second
way into the engine. The sentiment head is therefore measured but not used to render: the template's words carry
their own sentiment.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agent_runtime.contracts import expectation
from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.dst import INTENTS, Intent
from agent_runtime.contracts.expectation import ACT_CLASSES, AMOUNT_RANGES, INTENT_CLASSES, act_labels
from agent_runtime.contracts.offers import OfferKind, OfferTerms
from agent_runtime.contracts.reward import compute_reward
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.engine import DialogueEngine
from agent_runtime.policy_source import load_policy
from simulator import utterances as say
from simulator.env import DebtorEnv
from simulator.personas import Persona

NO_WORDS = INTENT_CLASSES.index(expectation.NO_WORDS)  # the intent class of a reply without words
HEADS = {head: len(classes) for head, classes in ACT_CLASSES.items()}


@dataclass(frozen=True)
class Call:
    """One call as the model sees it: per agent turn the state before it, the action, and the debtor's act."""

    states: np.ndarray  # (turns, STATE_SIZE) float32
    actions: np.ndarray  # (turns,) int64
    labels: dict[str, np.ndarray]  # head -> (turns,) int64


class RecordingDebtorEnv(DebtorEnv):
    """The debtor simulator, keeping every finished call as the debtor model reads it (`calls`) and the engine of the
    call in progress to branch imagined turns from."""

    def __init__(self, **options):
        super().__init__(**options)
        self.calls: list[Call] = []
        self._turns: list[tuple[np.ndarray, int, dict[str, int]]] = []
        self._sentiment = 0.0

    def reset(self, **options):
        state, info = super().reset(**options)
        self._turns, self._sentiment = [], info["reading"].sentiment if info["reading"] is not None else 0.0
        return state, info

    def step(self, action: int):
        state = self._state
        next_state, reward, terminated, truncated, info = super().step(action)
        reading = info["reading"]
        self._turns.append(
            (state, int(action), act_labels(reading, self._sentiment, info["terms"], self.facts.balance, terminated))
        )
        self._sentiment = reading.sentiment if reading is not None else self._sentiment
        if terminated or truncated:
            states, actions, acts = zip(*self._turns, strict=True)
            labels = {head: np.array([act[head] for act in acts], np.int64) for head in HEADS}
            self.calls.append(Call(np.asarray(states, np.float32), np.asarray(actions, np.int64), labels))
        return next_state, reward, terminated, truncated, info


def exploring(policy_spec: str, epsilon: float, seed: int) -> Callable[[np.ndarray, np.random.Generator], int]:
    """A policy's choice, a uniformly random action instead with probability `epsilon` (so that a model of the replies
    sees every action in every kind of call)."""
    policy = load_policy(policy_spec).new_call(seed)

    def choose(state: np.ndarray, rng: np.random.Generator) -> int:
        return int(rng.integers(N_ACTIONS)) if rng.random() < epsilon else policy.act(state)[0]

    return choose


def collect_calls(calls: int, seed: int, choose: Callable[[np.ndarray, np.random.Generator], int]) -> list[Call]:
    """`calls` simulated calls (episode i seeded `seed + i`), actions from `choose(state, rng)`."""
    env = RecordingDebtorEnv()
    rng = np.random.default_rng(seed)
    for episode in range(calls):
        state, _ = env.reset(seed=seed + episode)
        ended = False
        while not ended:
            state, _, terminated, truncated, _ = env.step(choose(state, rng))
            ended = terminated or truncated
    return env.calls


@dataclass(frozen=True)
class Padded:
    """Calls padded to one length: inputs (calls, turns, STATE_SIZE + N_ACTIONS), labels, and the mask of real turns."""

    inputs: torch.Tensor
    labels: dict[str, torch.Tensor]
    mask: torch.Tensor  # (calls, turns) bool

    def take(self, calls: torch.Tensor) -> Padded:
        """The calls at the given indices."""
        labels = {head: labels[calls] for head, labels in self.labels.items()}
        return Padded(self.inputs[calls], labels, self.mask[calls])

    @staticmethod
    def of(calls: Sequence[Call]) -> Padded:
        turns = max(len(call.actions) for call in calls)
        inputs = torch.zeros(len(calls), turns, STATE_SIZE + N_ACTIONS)
        labels = {head: torch.zeros(len(calls), turns, dtype=torch.long) for head in HEADS}
        mask = torch.zeros(len(calls), turns, dtype=torch.bool)
        for i, call in enumerate(calls):
            n = len(call.actions)
            inputs[i, :n, :STATE_SIZE] = torch.from_numpy(call.states)
            inputs[i, torch.arange(n), STATE_SIZE + torch.from_numpy(call.actions)] = 1.0
            mask[i, :n] = True
            for head in HEADS:
                labels[head][i, :n] = torch.from_numpy(call.labels[head])
        return Padded(inputs, labels, mask)


class DebtorModel(nn.Module):
    """Per agent turn, logits of each head of the debtor's next act, from the current state and action, or from the
    whole call so far (`recurrent`); with `components` > 1, per kind of debtor (a mixture with one kind per call)."""

    kind = expectation.DEBTOR_MODEL_KIND
    predicts = "act"  # policy.metadata.WorldModelMetadata: the debtor's next act, not the next state

    def __init__(self, hidden: int = 64, recurrent: bool = False, components: int = 1):
        super().__init__()
        if components < 1 or (recurrent and components > 1):
            raise ValueError(f"a debtor model has 1 or more kinds of debtor, and a recurrent one 1 (got {components})")
        self.hidden, self.recurrent, self.components = hidden, recurrent, components
        width = STATE_SIZE + N_ACTIONS
        self.encoder = (
            nn.GRU(width, hidden, batch_first=True) if recurrent else nn.Sequential(nn.Linear(width, hidden), nn.Tanh())
        )
        self.heads = nn.ModuleDict(
            {head: nn.Linear(hidden + N_ACTIONS, size * components) for head, size in HEADS.items()}
        )
        if components > 1:
            self.prior = nn.Parameter(torch.zeros(components))  # logits of how common each kind is

    @property
    def hyperparameters(self) -> dict:
        mixture = {"components": self.components} if self.components > 1 else {}
        return {"hidden": self.hidden, "recurrent": self.recurrent, **mixture}

    def forward(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per head, logits (..., classes), or (..., components, classes) for a mixture."""
        encoded = self.encoder(inputs)[0] if self.recurrent else self.encoder(inputs)
        # the action again beside the encoding: the reply depends on it most, and the heads should not need to dig
        features = torch.cat([encoded, inputs[..., STATE_SIZE:]], dim=-1)
        logits = {head: layer(features) for head, layer in self.heads.items()}
        if self.components == 1:
            return logits
        return {head: values.unflatten(-1, (self.components, HEADS[head])) for head, values in logits.items()}

    def act_log_likelihoods(self, batch: Padded, logits: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """(calls, turns, components): the log-probability of each real turn's act (all heads) under each kind of
        debtor; 0 on padding. `logits`: the model's output for `batch`, where the caller has it already."""
        total = torch.zeros(())
        for head, values in (self.forward(batch.inputs) if logits is None else logits).items():
            log_probabilities = F.log_softmax(values, dim=-1).view(*batch.mask.shape, self.components, HEADS[head])
            labels = batch.labels[head][..., None, None].expand(*batch.mask.shape, self.components, 1)
            total = total + log_probabilities.gather(-1, labels)[..., 0]
        return total * batch.mask[..., None]

    def call_log_likelihood(self, batch: Padded) -> torch.Tensor:
        """(calls,): log p(the call's acts), the kind of debtor summed out."""
        return torch.logsumexp(F.log_softmax(self.prior, dim=0) + self.act_log_likelihoods(batch).sum(dim=1), dim=-1)

    def _belief_before_each_turn(self, turns: torch.Tensor) -> torch.Tensor:
        """(calls, turns, components): the log-belief over kinds of debtor before each turn, by Bayes' rule on the
        acts before it (`turns`: `act_log_likelihoods`)."""
        before = torch.cat([torch.zeros_like(turns[:, :1]), turns.cumsum(dim=1)[:, :-1]], dim=1)
        return torch.log_softmax(F.log_softmax(self.prior, dim=0) + before, dim=-1)

    def joint_nll(self, batch: Padded, *, hold_kind: bool = True) -> float:
        """Mean negative log-likelihood (nats) of each real turn's whole act given the call's acts before it: the kind
        of debtor held across the call and believed by Bayes' rule (`hold_kind`), or drawn afresh at every turn (a
        mixture that knows nothing of the call's debtor but how its parts go together). A per-turn model: the sum of
        its heads' NLL either way."""
        with torch.no_grad():
            turns = self.act_log_likelihoods(batch)
            if self.components == 1:
                return -(turns.sum() / batch.mask.sum()).item()
            belief = (
                self._belief_before_each_turn(turns) if hold_kind else F.log_softmax(self.prior, dim=0).expand_as(turns)
            )
            return -((torch.logsumexp(belief + turns, dim=-1) * batch.mask).sum() / batch.mask.sum()).item()

    def filtered_logits(self, batch: Padded) -> dict[str, torch.Tensor]:
        """Per head, (calls, turns, classes) log-probabilities of each turn's act given the call's acts before it:
        the kinds weighted by Bayes' rule on those acts (a per-turn model: its logits)."""
        logits = self.forward(batch.inputs)
        if self.components == 1:
            return logits
        belief = self._belief_before_each_turn(self.act_log_likelihoods(batch, logits))[..., None]
        return {head: torch.logsumexp(belief + F.log_softmax(v, dim=-1), dim=-2) for head, v in logits.items()}

    def sample(self, inputs: torch.Tensor, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Sampled acts (never the argmax: that turns a 30 % yes into a certain no) for the last turn of each call in
        `inputs` (calls, turns, width)."""
        if self.components > 1:
            raise ValueError("a mixture's next act depends on the acts so far, which imagination here does not keep")
        with torch.no_grad():
            logits = self.forward(inputs)
        draws = {}
        for head, values in logits.items():
            probabilities = torch.softmax(values[:, -1].double(), dim=-1).numpy()
            uniform = rng.random((len(probabilities), 1))
            draws[head] = (probabilities.cumsum(axis=1) < uniform).sum(axis=1).clip(max=probabilities.shape[1] - 1)
        return draws


@dataclass
class FitConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    hidden: int = 64
    components: int = 1
    """kinds of debtor (a mixture, one kind per call); 1: one per-turn model"""
    seed: int = 0


def fit(calls: Sequence[Call], config: FitConfig, *, recurrent: bool = False) -> DebtorModel:
    """A debtor model fit on `calls` by the summed cross-entropy of its heads (a mixture: by the calls' likelihood,
    per turn), seeded."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = DebtorModel(config.hidden, recurrent, config.components)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    padded = Padded.of(calls)  # once: a call's padding at its end changes none of its real turns' outputs
    for _ in range(config.epochs):
        order = torch.from_numpy(rng.permutation(len(calls)))
        for start in range(0, len(order), config.batch_size):
            batch = padded.take(order[start : start + config.batch_size])
            if model.components == 1:
                loss = sum(head_nll(model(batch.inputs), batch).values())
            else:
                loss = -model.call_log_likelihood(batch).sum() / batch.mask.sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    return model


def head_nll(logits: dict[str, torch.Tensor], batch: Padded) -> dict[str, torch.Tensor]:
    """Mean negative log-likelihood (nats) per head over the real turns."""
    return {
        head: F.cross_entropy(values[batch.mask], batch.labels[head][batch.mask]) for head, values in logits.items()
    }


def frequency_logits(calls: Sequence[Call], batch: Padded, *, per_action: bool) -> dict[str, torch.Tensor]:
    """The baseline: each head's class frequencies in `calls` (per action, or over all turns), add-one smoothed, as
    logits shaped like a model's for `batch`."""
    actions = batch.inputs[..., STATE_SIZE:].argmax(dim=-1)
    logits = {}
    for head, size in HEADS.items():
        counts = np.ones((N_ACTIONS, size))
        for call in calls:
            np.add.at(counts, (call.actions if per_action else 0, call.labels[head]), 1)
        if not per_action:
            counts[:] = counts[0]
        logits[head] = torch.log(torch.as_tensor(counts / counts.sum(axis=1, keepdims=True), dtype=torch.float32))[
            actions
        ]
    return logits


def calibration(logits: torch.Tensor, labels: torch.Tensor, bins: int = 10) -> dict:
    """Expected calibration error of the most probable class, and the reliability table (confidence bins)."""
    probabilities = torch.softmax(logits, dim=-1)
    confidence, predicted = probabilities.max(dim=-1)
    correct = (predicted == labels).float()
    edges = torch.linspace(0, 1, bins + 1)
    table, error = [], 0.0
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            mean_confidence, accuracy = confidence[inside].mean().item(), correct[inside].mean().item()
            error += inside.float().mean().item() * abs(mean_confidence - accuracy)
            table.append({"confidence": mean_confidence, "accuracy": accuracy, "share": inside.float().mean().item()})
    return {"ece": error, "accuracy": correct.mean().item(), "reliability": table}


def evaluate(logits: dict[str, torch.Tensor], batch: Padded) -> dict:
    """Held-out NLL per head and in all, and the intent head's calibration."""
    with torch.no_grad():
        nll = {head: value.item() for head, value in head_nll(logits, batch).items()}
        intent = calibration(logits["intent"][batch.mask], batch.labels["intent"][batch.mask])
    return {"nll": nll, "nll_total": sum(nll.values()), "intent": intent}


# the templates of a reply that names a sum, by intent and by what the sum is for (a plan's payment or one sum)
SUM_TEMPLATES: dict[Intent, dict[OfferKind, tuple[str, ...]]] = {
    Intent.COMMIT: {OfferKind.PLAN: say.COMMIT_OWN_MONTHLY, OfferKind.SETTLEMENT: say.COMMIT_FULL},
    Intent.WILLING: {OfferKind.PLAN: say.STATED_MONTHLY, OfferKind.SETTLEMENT: say.STATED_LUMP},
    Intent.REFUSE: {OfferKind.PLAN: say.CORRECT_MONTHLY, OfferKind.SETTLEMENT: say.CORRECT_LUMP},
}
LIFE_EVENTS = tuple(say.HARDSHIP_BY_EVENT)


def render(act: dict[str, int], terms: OfferTerms | None, balance: float, rng: np.random.Generator) -> tuple[str, bool]:
    """(words, hang_up) of a sampled act: the simulator's wording for its intent (any persona's, any life event's),
    with a sum drawn from its amount bucket where the intent has a way to say one."""
    if act["intent"] == NO_WORDS:
        return "", True
    intent = INTENTS[act["intent"]]
    kind = terms.kind if terms is not None else OfferKind.PLAN
    if act["amount"] and intent in SUM_TEMPLATES:
        low, high = AMOUNT_RANGES[act["amount"] - 1]
        reference = terms.instalment if terms is not None else balance
        text = say.with_amount(SUM_TEMPLATES[intent][kind], reference * rng.uniform(low, high), rng)
    else:
        persona = tuple(Persona)[int(rng.integers(len(Persona)))]
        text = say.intent_text(intent, persona, LIFE_EVENTS[int(rng.integers(len(LIFE_EVENTS)))], rng)
    return text, bool(act["ends"])


@dataclass(frozen=True)
class ImaginedStep:
    next_state: np.ndarray
    reward: float
    ended: bool
    text: str  # what the imagined debtor said


def imagine_step(
    engine: DialogueEngine, model: DebtorModel, call_so_far: torch.Tensor, action: int, rng: np.random.Generator
) -> tuple[ImaginedStep, torch.Tensor]:
    """Act in `engine` (a branch: it changes), sample the debtor's reply from `model` given `call_so_far` (1, turns,
    width: the call's earlier turns, possibly none), let the engine read it; the step and the call so far with this
    turn appended."""
    state = engine.state()
    turn = torch.zeros(1, 1, STATE_SIZE + N_ACTIONS)
    turn[0, 0, :STATE_SIZE] = torch.from_numpy(state)
    turn[0, 0, STATE_SIZE + action] = 1.0
    call_so_far = torch.cat([call_so_far, turn], dim=1)
    decision = engine.act(action)
    act = {head: int(values[0]) for head, values in model.sample(call_so_far, rng).items()}
    text, hang_up = render(act, decision.terms, engine.facts.balance, rng)
    observation = engine.observe(text, hang_up=hang_up)
    reward = compute_reward(state, decision.proposed, observation.state, observation.outcome, engine.facts)
    return ImaginedStep(observation.state, reward, observation.ended, text), call_so_far
