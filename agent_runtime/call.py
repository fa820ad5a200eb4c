"""One call, framework-independent: the dialogue engine, the policy, the NLG and the events of every turn.

The LiveKit plugin (agent_runtime.policy_llm), the text-mode simulation and the tests all drive a call through
`CallController`; nothing here imports livekit. The turn event records what the agent says (after LLM phrasing).
`respond` is idempotent per user message id, because LiveKit may generate a reply for the same user turn more than
once (preemptive generation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np

from agent_runtime.contracts.events import CallClosed, CallOpened, TurnEvent, new_event_id, utc_now
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.outcome import OutcomeSummary
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.engine import DialogueEngine
from agent_runtime.events.outbox import Outbox
from agent_runtime.nlg import TemplateNLG

if TYPE_CHECKING:
    from agent_runtime.phrasing import LLMPhrasing

# state -> (action id, Q-values or None)
PolicyFn = Callable[[np.ndarray], tuple[int, list[float] | None]]


@dataclass(frozen=True)
class AgentReply:
    text: str
    ends_call: bool
    event: TurnEvent


@dataclass
class CallController:
    facts: CallFacts
    policy: PolicyFn
    policy_version: str
    tracker: DialogueStateTracker
    nlg: TemplateNLG
    today: date
    outbox: Outbox | None = None
    channel: str = "voice"
    call_id: str = field(default_factory=new_event_id)
    clock: Callable[[], datetime] = utc_now
    phrasing: LLMPhrasing | None = None
    """rewords a strategy's line before it is spoken and logged; guard answers keep their legal wording"""
    engine: DialogueEngine = field(init=False)
    _replies: dict[str, AgentReply] = field(default_factory=dict, init=False)
    _turn: int = field(default=0, init=False)
    last_event: TurnEvent | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.engine = DialogueEngine(self.facts, self.tracker, self.today)

    @property
    def ended(self) -> bool:
        return self.engine.ended

    @property
    def turns_answered(self) -> int:
        return self._turn

    async def open(self) -> str:
        """The opening line (with the debt-collection disclosure); logs call_opened."""
        await self._log(
            CallOpened(
                call_id=self.call_id,
                at=self.clock(),
                facts=self.facts,
                channel=self.channel,
                policy_version=self.policy_version,
            )
        )
        return self.nlg.opening(self.facts)

    async def respond(
        self,
        user_text: str,
        message_id: str | None = None,
        *,
        hang_up: bool = False,
        stt_confidence: float | None = None,
        latencies_ms: dict[LatencyStage, float] | None = None,
    ) -> AgentReply:
        """Read the debtor's words, let the policy and guard choose, word it; one answer per message id."""
        if message_id is not None and message_id in self._replies:
            return self._replies[message_id]
        started_at, started = self.clock(), time.perf_counter()
        observation = self.engine.observe(user_text, hang_up=hang_up)
        proposed = executed = rule = terms = q_values = None
        if observation.ended:
            outcome = observation.outcome
            text = (
                self.nlg.say(self.facts, None, outcome.terms, observation.guard_rule) if observation.guard_rule else ""
            )
            rule = observation.guard_rule
        else:
            action, q_values = self.policy(observation.state)
            decision = self.engine.act(action)
            proposed, executed, rule, terms = decision.proposed, decision.executed, decision.guard_rule, decision.terms
            text = self.nlg.say(self.facts, executed, terms, rule)
            if self.phrasing is not None and rule is None and text:
                text = (await self.phrasing.phrase(text)).text
        latencies = dict(latencies_ms or {})
        latencies[LatencyStage.ENGINE] = (time.perf_counter() - started) * 1000
        event = TurnEvent(
            call_id=self.call_id,
            turn=self._turn,
            started_at=started_at,
            at=self.clock(),
            user_text=user_text,
            stt_confidence=stt_confidence,
            dst=observation.reading or self.tracker.read(""),
            state=observation.state.tolist(),
            proposed_action=proposed,
            executed_action=executed,
            guard_rule=rule,
            q_values=q_values,
            offer=terms,
            policy_version=self.policy_version,
            agent_text=text,
            latencies_ms=latencies,
            ends_call=observation.ended,
        )
        self._turn += 1
        self.last_event = event
        await self._log(event)
        if observation.ended:
            await self._log(
                CallClosed(
                    call_id=self.call_id,
                    at=self.clock(),
                    outcome=OutcomeSummary.of(observation.outcome, self.facts),
                    turns=self._turn,
                    final_state=observation.state.tolist(),
                )
            )
        reply = AgentReply(text, observation.ended, event)
        if message_id is not None:
            self._replies[message_id] = reply
        return reply

    async def _log(self, event) -> None:
        if self.outbox is not None:
            await self.outbox.add(event)
