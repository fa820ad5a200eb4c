"""`DebtorEnv`: a gymnasium Env around the dialogue engine and a simulated debtor.

Discrete(9) actions; Box observations = the contract's state vector. The debtor answers in text and the env
runs the engine's DST on it, so training reads debtors exactly as live calls do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.reward import compute_reward
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.dst.tracker import DEFAULT_CACHE_SIZE, DialogueStateTracker
from agent_runtime.engine import Decision, DialogueEngine, Observation
from simulator.debtor import Reply, SimulatedDebtor
from simulator.personas import SIMULATION_EPOCH, DebtorTraits, Persona, sample_debtor

ENV_ID = "debtor"
OPENING_ATTEMPTS = 20


@dataclass(frozen=True)
class Turn:
    decision: Decision
    reply: Reply
    observation: Observation
    reward: float


def play_turn(engine: DialogueEngine, debtor: SimulatedDebtor, action: int, state: np.ndarray) -> Turn:
    """The agent's action in `engine`, `debtor`'s reply read by it, and the turn's reward from `state` (the state
    before the action): one step of the env, or of an imagined branch of it."""
    decision = engine.act(action)
    reply = debtor.respond(decision)
    observation = engine.observe(reply.text, hang_up=reply.hang_up)
    reward = compute_reward(state, decision.proposed, observation.state, observation.outcome, engine.facts)
    return Turn(decision, reply, observation, reward)


class DebtorEnv(gym.Env):
    metadata: ClassVar[dict] = {"render_modes": ["ansi"]}

    def __init__(
        self,
        *,
        stt_noise: float = 0.0,
        personas: tuple[Persona, ...] | None = None,
        dst_cache_size: int = DEFAULT_CACHE_SIZE,
        tracker: DialogueStateTracker | None = None,
        render_mode: str | None = None,
    ):
        self.action_space = gym.spaces.Discrete(N_ACTIONS)
        self.observation_space = gym.spaces.Box(low=-2.0, high=2.0, shape=(STATE_SIZE,), dtype=np.float32)
        self.stt_noise = stt_noise
        self.personas = personas
        self.tracker = tracker or DialogueStateTracker(cache_size=dst_cache_size)
        self.render_mode = render_mode
        self.engine: DialogueEngine | None = None
        self.debtor: SimulatedDebtor | None = None
        self.traits: DebtorTraits | None = None
        self.facts: CallFacts | None = None
        self.transcript: list[str] = []
        self._state: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        persona = (options or {}).get("persona")
        if persona is None and self.personas:
            persona = self.personas[int(self.np_random.integers(len(self.personas)))]
        self.traits, self.facts = sample_debtor(self.np_random, Persona(persona) if persona else None)
        self.debtor = SimulatedDebtor(self.traits, self.facts.balance, self.np_random, self.stt_noise)
        for _ in range(OPENING_ATTEMPTS):
            # A noisy opening can read as "stop calling" and close the call before the agent speaks; an episode
            # must start open, so the debtor says something else.
            self.engine = DialogueEngine(self.facts, self.tracker, today=SIMULATION_EPOCH)
            opening = self.debtor.opening()
            observation = self.engine.observe(opening.text)
            if not observation.ended:
                break
        else:
            raise RuntimeError(f"no opening left the call open in {OPENING_ATTEMPTS} attempts")
        self.transcript = [f"debtor: {opening.text}"]
        self._state = observation.state
        return observation.state, {**self._info(observation), "debtor_text": opening.text}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.engine is None:
            raise RuntimeError("call reset() before step()")
        turn = play_turn(self.engine, self.debtor, action, self._state)
        decision, reply, observation, reward = turn.decision, turn.reply, turn.observation, turn.reward
        self.transcript += [f"agent: <{decision.executed.label}>", f"debtor: {reply.text}"]
        self._state = observation.state
        info = self._info(observation)
        info.update(
            proposed=decision.proposed,
            executed=decision.executed,
            guard_rule=decision.guard_rule,
            terms=decision.terms,
            debtor_intent=reply.intent,
            debtor_text=reply.text,
        )
        return observation.state, reward, observation.ended, False, info

    def _info(self, observation: Observation) -> dict[str, Any]:
        info: dict[str, Any] = {
            "persona": self.traits.persona.value,
            "reading": observation.reading,
            "call_ended": observation.ended,
        }
        if observation.outcome is not None:
            info.update(
                outcome=observation.outcome.kind.value,
                success=observation.outcome.success,
                recovery=observation.outcome.recovery(self.facts),
                closing_rule=observation.guard_rule,
            )
        return info

    def render(self) -> str:
        return "\n".join(self.transcript)

    @property
    def call_ended(self) -> bool:
        return self.engine is not None and self.engine.ended
