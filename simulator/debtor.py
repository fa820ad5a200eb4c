"""A simulated debtor: hidden mood that reacts to the executed strategy and the concrete offer terms.

Dynamics that make strategy matter:
- pressure before rapport backfires with angry and sad debtors (anger up, rapport down);
- offers above capacity, judged on the engine's terms, are refused (with a counter-offer when trust allows);
- settlements need lump-sum capacity;
- avoidant debtors hang up when the call drags (rapport talk costs them patience; urgency engages them);
- a strategy loses effect each time it is repeated;
- some debtors ask for proof (answered by the guard's validation answer) and a few dispute outright.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent_runtime.contracts.actions import PRESSURE_ACTIONS, RAPPORT_ACTIONS, Action
from agent_runtime.contracts.dst import Intent
from agent_runtime.contracts.offers import SPOKEN_ROUNDING, OfferKind, OfferTerms
from agent_runtime.engine import Decision
from simulator import utterances as say
from simulator.personas import PROFILES, DebtorTraits, Persona

REPEAT_DECAY = 0.6  # an action's effect shrinks by this factor each time it was already used
ACCEPT_PROBABILITY = 0.9
VOLUNTEER_PROBABILITY = 0.3
CEASE_ANGER = 0.92
UNCONVINCED_BY_VALIDATION = 0.15
MOOD_ANGER_LIMIT = 0.5
# (rapport, anger, engagement) deltas per executed action and persona.
C, S, V, A = Persona.COOPERATIVE, Persona.SAD, Persona.AVOIDANT, Persona.ANGRY
EFFECTS: dict[Action, dict[Persona, tuple[float, float, float]]] = {
    Action.EMPATHETIC_LISTENING: {
        C: (0.08, -0.05, 0.0),
        S: (0.22, -0.05, 0.05),
        V: (0.03, 0.0, -0.05),
        A: (0.10, -0.10, 0.0),
    },
    Action.ASK_ABOUT_SITUATION: {
        C: (0.08, 0.0, 0.10),
        S: (0.12, 0.0, 0.05),
        V: (0.02, 0.03, -0.05),
        A: (0.04, 0.03, 0.0),
    },
    Action.FIRM_REMINDER: {C: (0.0, 0.02, 0.15), S: (-0.05, 0.05, 0.05), V: (0.0, 0.05, 0.20), A: (-0.05, 0.15, 0.05)},
    Action.OFFER_PAYMENT_PLAN: {p: (0.0, 0.0, 0.10) for p in Persona},
    Action.PROPOSE_SETTLEMENT: {p: (0.0, 0.0, 0.10) for p in Persona},
    Action.HARD_CLOSE: {C: (0.0, 0.05, 0.20), S: (-0.10, 0.10, 0.0), V: (-0.05, 0.15, 0.10), A: (-0.10, 0.30, 0.0)},
    Action.ACKNOWLEDGE_AND_REDIRECT: {
        C: (0.04, -0.05, 0.05),
        S: (0.08, -0.05, 0.05),
        V: (0.02, -0.05, 0.05),
        A: (0.12, -0.25, 0.05),
    },
    Action.VALIDATE_THEN_OFFER: {
        C: (0.04, -0.02, 0.10),
        S: (0.05, -0.05, 0.05),
        V: (0.01, 0.0, 0.05),
        A: (0.08, -0.10, 0.05),
    },
    Action.GENTLE_URGENCY: {C: (0.0, 0.0, 0.15), S: (-0.03, 0.02, 0.05), V: (0.02, 0.0, 0.30), A: (-0.03, 0.08, 0.05)},
}


@dataclass(frozen=True)
class Reply:
    text: str
    hang_up: bool
    intent: Intent  # what the debtor meant (ground truth for DST checks)


class SimulatedDebtor:
    def __init__(self, traits: DebtorTraits, balance: float, rng: np.random.Generator, stt_noise: float = 0.0):
        self.traits = traits
        self.balance = balance
        self.profile = PROFILES[traits.persona]
        self.rng = rng
        self.stt_noise = stt_noise
        self.rapport = self.profile.rapport
        self.anger = self.profile.anger
        self.engagement = 0.1
        self.patience = traits.patience
        self.uses: dict[Action, int] = {}
        self.turn = 0
        self.disputed_at: int | None = None
        self._last_said: tuple[str, Intent] = ("", Intent.OTHER)
        self._own_amount: tuple[int, OfferKind] | None = None  # the debtor's own sum as said, and what it is for

    # -- talking -------------------------------------------------------------------------------------------
    def _out(self, text: str, intent: Intent, hang_up: bool = False) -> Reply:
        self._last_said = (text, intent)
        if self.stt_noise > 0:
            text = say.add_stt_noise(text, self.rng, self.stt_noise)
        return Reply(text, hang_up, intent)

    def _say_amount(self, templates: tuple[str, ...], value: float, kind: OfferKind, intent: Intent) -> Reply:
        self._own_amount = (say.spoken_amount(value), kind)
        return self._out(say.with_amount(templates, value, self.rng), intent)

    def _intent(self, intent: Intent, hang_up: bool = False) -> Reply:
        return self._out(
            say.intent_text(intent, self.traits.persona, self.traits.life_event, self.rng), intent, hang_up
        )

    def opening(self) -> Reply:
        """The first words after the agent's greeting and disclosure."""
        options = say.OPENINGS[self.traits.persona]
        return self._intent(options[int(self.rng.integers(len(options)))])

    def repeat(self) -> Reply:
        """The last line again, for an agent that did not catch it."""
        return self._out(*self._last_said)

    def confirm(self, terms: OfferTerms) -> Reply:
        """The answer to agreed terms read back: yes, unless they are not the debtor's own amount (which the debtor
        then says again) or not what this debtor can pay (both happen when the agent misheard)."""
        if terms.debtor_proposed and self._own_amount is not None:
            amount, kind = self._own_amount
            if abs(terms.instalment - min(amount, self.balance)) > SPOKEN_ROUNDING:
                said_again = say.CORRECT_MONTHLY if kind is OfferKind.PLAN else say.CORRECT_LUMP
                return self._say_amount(said_again, amount, kind, Intent.REFUSE)
        if self._affordable(terms):
            return self._out(say.pick(say.CONFIRM_YES, self.rng), Intent.COMMIT)
        return self._out(say.pick(say.CONFIRM_NO, self.rng), Intent.REFUSE)

    # -- reacting ------------------------------------------------------------------------------------------
    def _apply_effects(self, action: Action) -> None:
        persona, t = self.traits.persona, self.traits
        strength = REPEAT_DECAY ** self.uses.get(action, 0)
        self.uses[action] = self.uses.get(action, 0) + 1
        d_rapport, d_anger, d_engagement = EFFECTS[action][persona]
        self.rapport += (d_rapport * (0.6 + 0.8 * t.agreeableness) if d_rapport > 0 else d_rapport) * strength
        self.anger += d_anger * strength if d_anger < 0 else d_anger
        self.engagement += d_engagement * strength
        if action in PRESSURE_ACTIONS and self.rapport < self.profile.rapport_needed:
            self.anger += 0.2 * (1.3 - t.stability)
            self.rapport -= 0.05
            if persona is Persona.SAD:
                self.patience -= 2
        if persona is Persona.AVOIDANT:
            if action in RAPPORT_ACTIONS:
                self.patience -= 1
            elif action is Action.GENTLE_URGENCY and self.uses[action] == 1:
                self.patience += 2
        self.rapport = min(1.0, max(0.0, self.rapport))
        self.anger = min(1.0, max(0.0, self.anger))
        self.engagement = min(1.0, max(0.0, self.engagement))
        self.patience -= 1

    def _mood_ok(self) -> bool:
        return (
            self.anger < MOOD_ANGER_LIMIT
            and self.rapport >= 0.8 * self.profile.rapport_needed
            and self.engagement >= self.profile.engagement_needed
        )

    def _affordable(self, terms: OfferTerms) -> bool:
        if terms.kind is OfferKind.PLAN:
            return terms.monthly_equivalent <= self.traits.monthly_capacity
        return terms.total <= self.traits.lump_capacity

    def _answer_offer(self, terms: OfferTerms) -> Reply:
        if self._affordable(terms):
            if self._mood_ok() and self.rng.random() < ACCEPT_PROBABILITY:
                return self._intent(Intent.COMMIT)
            return self._intent(Intent.HOSTILE if self.anger >= MOOD_ANGER_LIMIT else Intent.STALL)
        if self.rapport >= 0.3 and self.anger < MOOD_ANGER_LIMIT:
            return self._counter_offer(terms.kind)
        if self.traits.persona is Persona.SAD:
            return self._intent(Intent.HARDSHIP)
        return self._out(say.pick(say.CANT_AFFORD, self.rng), Intent.REFUSE)

    def _counter_offer(self, kind: OfferKind) -> Reply:
        t = self.traits
        if kind is OfferKind.PLAN or t.lump_capacity < 0.5 * self.balance:
            return self._say_amount(say.STATED_MONTHLY, t.monthly_capacity * 0.95, OfferKind.PLAN, Intent.WILLING)
        return self._say_amount(say.STATED_LUMP, t.lump_capacity * 0.95, OfferKind.SETTLEMENT, Intent.WILLING)

    def respond(self, decision: Decision) -> Reply:
        """The debtor's reply to the executed action (and its terms)."""
        self.turn += 1
        action = decision.executed
        self._apply_effects(action)
        t = self.traits
        if t.legal_dispute and self.turn == 1:
            return self._out(say.pick(say.LEGAL_DISPUTE, self.rng), Intent.DISPUTE)
        if t.soft_dispute and self.disputed_at is None and self.turn <= 2:
            self.disputed_at = self.turn
            return self._out(say.pick(say.SOFT_DISPUTE, self.rng), Intent.DISPUTE)
        if self.disputed_at == self.turn - 1 and self.rng.random() < UNCONVINCED_BY_VALIDATION:
            return self._out(say.pick(say.SOFT_DISPUTE, self.rng), Intent.DISPUTE)
        if self.anger >= CEASE_ANGER:
            if self.rng.random() < 0.5:
                return self._intent(Intent.CEASE)
            return self._intent(Intent.HOSTILE, hang_up=True)
        if self.patience <= 0:
            return self._intent(Intent.STALL, hang_up=True)
        if decision.terms is not None:
            return self._answer_offer(decision.terms)
        if action is Action.HARD_CLOSE and t.lump_capacity >= self.balance and self._mood_ok():
            return self._say_amount(say.COMMIT_FULL, self.balance, OfferKind.SETTLEMENT, Intent.COMMIT)
        if action is Action.ASK_ABOUT_SITUATION and self.rapport >= 0.3 and self.anger < MOOD_ANGER_LIMIT:
            if t.life_event != "none" and self.uses[action] == 1:
                return self._intent(Intent.HARDSHIP)
            return self._say_amount(say.STATED_MONTHLY, t.monthly_capacity * 0.95, OfferKind.PLAN, Intent.WILLING)
        if (
            self._mood_ok()
            and self.rapport >= 0.55
            and self.engagement >= 0.2
            and self.rng.random() < VOLUNTEER_PROBABILITY
        ):
            return self._say_amount(say.COMMIT_OWN_MONTHLY, t.monthly_capacity * 0.9, OfferKind.PLAN, Intent.COMMIT)
        return self._intent(self._mood_intent(action))

    def _mood_intent(self, action: Action) -> Intent:
        persona = self.traits.persona
        scores = {
            Intent.WILLING: self.rapport + 0.5 * self.engagement - self.anger,
            Intent.HOSTILE: 1.5 * self.anger - 0.4 + (0.15 if persona is Persona.ANGRY else 0.0),
            Intent.HARDSHIP: 0.5 if persona is Persona.SAD else (0.15 if self.traits.life_event != "none" else 0.0),
            Intent.STALL: (0.55 if persona is Persona.AVOIDANT else 0.1) + 0.2 * (1 - self.engagement),
            Intent.QUESTION: 0.3 if self.turn <= 2 else 0.1,
            Intent.REFUSE: 0.5 * self.anger + (0.15 if action in PRESSURE_ACTIONS else 0.0),
            Intent.OTHER: 0.1,
        }
        intents = list(scores)
        logits = np.array([scores[i] for i in intents]) / 0.15
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        return intents[int(self.rng.choice(len(intents), p=probs))]
