"""One call, one owner: `CallController` runs the dialogue engine, the policy, the wording and the call's events.

Every driver of a call goes through it: the LiveKit worker, `simulate` (voice and text), `training.call_log`, the
demo and the console; simulated debtors only supply the words. It is the only code that builds `CallOpened`,
`TurnEvent` and `CallClosed`, and it writes exactly one `CallClosed` on every way out of a call: a closing rule of
the engine (commitment, cease, dispute, turn limit), the debtor hanging up or leaving (`hang_up`), or the agent's
side cutting the call short (`close` with `interrupted` or `error`). Events go to its sinks (the outbox, a console)
and to its metrics; nothing here imports livekit.

`respond` is idempotent per user message id, because LiveKit may generate a reply for the same user turn more than
once; once the call has ended it answers nothing and logs nothing. The turn event records what the agent says
(after LLM phrasing).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from agent_runtime.compliance import unheard_notices
from agent_runtime.contracts.dst import Flag
from agent_runtime.contracts.events import (
    MAX_REASON_CHARS,
    MAX_TEXT_CHARS,
    CallClosed,
    CallOpened,
    Event,
    InterruptedReply,
    TurnEvent,
    new_event_id,
    utc_now,
)
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import CLARIFYING_RULES
from agent_runtime.contracts.outcome import OutcomeKind, OutcomeSummary
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.engine import DialogueEngine
from agent_runtime.expectation import DebtorBelief
from agent_runtime.exploration import NO_EXPLORATION, Exploration
from agent_runtime.nlg import TemplateNLG
from agent_runtime.policy_source import CallPolicy, PolicySource

EXPLORATION_STREAM = 0x5EED  # the exploration's own random stream, apart from the policy's (same seed)

if TYPE_CHECKING:
    from agent_runtime.phrasing import LLMPhrasing


class EventSink(Protocol):
    """Where a call's events go: the outbox (then the broker), a console's live view."""

    async def add(self, event: Event) -> None: ...


class CallMetrics(Protocol):
    """What a call reports to monitoring (telemetry.metrics.RuntimeMetrics)."""

    def observe_event(self, event: Event) -> None: ...

    def observe_latency(self, stage: LatencyStage, milliseconds: float) -> None: ...

    def count_error(self, component: str) -> None: ...


@dataclass(frozen=True)
class AgentReply:
    text: str
    ends_call: bool
    event: TurnEvent | None  # None when the call had already ended: nothing was said or logged


@dataclass
class CallController:
    facts: CallFacts
    policy: PolicySource
    tracker: DialogueStateTracker
    nlg: TemplateNLG
    today: date
    sinks: Sequence[EventSink] = ()
    metrics: CallMetrics | None = None
    channel: Literal["voice", "text", "simulated"] = "voice"
    call_id: str = field(default_factory=new_event_id)
    clock: Callable[[], datetime] = utc_now
    phrasing: LLMPhrasing | None = None
    """rewords a strategy's line before it is spoken and logged; guard answers keep their legal wording"""
    seed: int = 0
    """seeds the call's policy (a random baseline draws from it)"""
    persona: str | None = None
    """simulated calls only: the hidden persona, recorded in call_opened and never shown to the policy"""
    verify: bool = True
    """start with right-party contact (agent_runtime.engine); off only where a person is known to be the debtor"""
    confirm: bool = True
    """ask before acting on unclear words, and book agreed terms only after reading them back (agent_runtime.engine)"""
    exploration: Exploration = NO_EXPLORATION
    """bounded exploration (agent_runtime.exploration), drawn from the call's seed; each turn logs its propensity"""
    engine: DialogueEngine = field(init=False)
    last_event: TurnEvent | None = field(default=None, init=False)
    _policy: CallPolicy = field(init=False)
    _explore_rng: np.random.Generator = field(init=False)
    _replies: dict[str, AgentReply] = field(default_factory=dict, init=False)
    _turns: int = field(default=0, init=False)
    _last_reply: str = field(default="", init=False)
    _cut_short: InterruptedReply | None = field(default=None, init=False)
    _owed_notices: list[str] = field(default_factory=list, init=False)
    _opened: bool = field(default=False, init=False)
    _closed: bool = field(default=False, init=False)
    _belief: DebtorBelief | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.engine = DialogueEngine(self.facts, self.tracker, self.today, verify=self.verify, confirm=self.confirm)
        self._policy = self.policy.new_call(self.seed)
        if self.policy.expectation is not None:  # what this call has shown of its debtor, for what it expects
            self._belief = DebtorBelief(self.policy.expectation)
        if (attach := getattr(self._policy, "attach", None)) is not None:  # a policy that plans in the call's engine
            attach(lambda: self.engine)
        self._explore_rng = np.random.default_rng([self.seed, EXPLORATION_STREAM])

    @property
    def ended(self) -> bool:
        return self.engine.ended

    @property
    def closed(self) -> bool:
        """The call_closed event is written: nothing more will be logged for this call."""
        return self._closed

    @property
    def turns_answered(self) -> int:
        return self._turns

    def _versions(self) -> dict[str, str]:
        return {
            "policy_version": self.policy.version,
            "dst_version": self.tracker.version,
            "templates_version": self.nlg.version,
        }

    async def open(self) -> str:
        """The opening line (asking for the debtor by name); resets the policy and logs call_opened."""
        self._policy.reset()
        self._opened = True
        opening = self.nlg.opening(self.facts)
        self._last_reply = opening
        await self._log(
            CallOpened(
                call_id=self.call_id,
                at=self.clock(),
                facts=self.facts,
                channel=self.channel,
                persona=self.persona,
                **self._versions(),
            )
        )
        return opening

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
        if self.ended:
            return AgentReply("", True, None)
        started_at, started = self.clock(), time.perf_counter()
        contacting = not self.engine.reached  # the contact phase: the engine's script, not the policy, answers
        if contacting:
            observation = self.engine.contact(user_text, hang_up=hang_up)
        else:
            observation = self.engine.observe(user_text, hang_up=hang_up, stt_confidence=stt_confidence)
        proposed = executed = rule = terms = q_values = propensity = expected = None
        if observation.ended or contacting or observation.guard_rule in CLARIFYING_RULES:
            rule, terms = observation.guard_rule, observation.terms
            text = self.nlg.say(self.facts, None, terms, rule, observation.reading) if rule else ""
        else:
            greedy, values = self._policy.act(observation.state)
            action, propensity = self.exploration.choose(greedy, values, observation.state, self._explore_rng)
            if self._belief is not None:
                self._belief.update(self.engine)
                self._belief.turn(observation.state, action, self.engine)
            decision = self.engine.act(action)
            proposed, executed, rule, terms = decision.proposed, decision.executed, decision.guard_rule, decision.terms
            q_values = values.tolist() if values is not None else None
            if self.policy.expectation is not None:  # the model learned replies to the proposal (the guard's is fixed)
                expected = self.policy.expectation.expect(observation.state, int(proposed), self._belief)
            reading = observation.reading
            supervisor = Flag.ASKS_SUPERVISOR in reading.flags
            answer = self.nlg.answer(self.facts, reading.question, self._last_reply, supervisor)
            text = self.nlg.say(self.facts, executed, terms, rule, reading)
            if self.phrasing is not None and rule is None and text:
                text = (await self.phrasing.phrase(text)).text
            text = f"{answer} {text}".strip()  # what was asked first, in the facts' own words
        if text and self._owed_notices:  # notices the debtor cut off before hearing them come first
            text = " ".join([*(n for n in self._owed_notices if n not in text), text])
            self._owed_notices = []
        latencies = dict(latencies_ms or {})
        latencies[LatencyStage.ENGINE] = (time.perf_counter() - started) * 1000
        event = TurnEvent(
            call_id=self.call_id,
            turn=self._turns,
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
            propensity=propensity,
            expected_reply=expected,
            offer=terms,
            agent_text=text,
            latencies_ms=latencies,
            ends_call=observation.ended,
            interrupted_reply=self._cut_short,
            **self._versions(),
        )
        self._cut_short = None
        self._turns += 1
        self.last_event = event
        self._last_reply = text or self._last_reply
        await self._log(event)
        if observation.ended:
            await self._close_log()
        reply = AgentReply(text, observation.ended, event)
        if message_id is not None:
            self._replies[message_id] = reply
        return reply

    async def hang_up(self) -> None:
        """The debtor left (hung up, or their side of the room disconnected): the engine's hang-up rule ends it."""
        if self._opened and not self.ended:
            await self.respond("", hang_up=True)

    async def close(self, kind: OutcomeKind, reason: str | None = None) -> None:
        """End a call the agent's side cut short (`interrupted`, `error`); a call that already ended keeps its end
        (and its call_closed is written now if a cancellation stopped that). Safe to call on every way out: exactly
        one call_closed is written for an opened call."""
        if not self._opened or self._closed:
            return
        if self.ended:
            await self._close_log()
            return
        self.engine.cut_short(kind)
        await self._close_log(reason)

    async def _close_log(self, reason: str | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        await self._log(
            CallClosed(
                call_id=self.call_id,
                at=self.clock(),
                outcome=OutcomeSummary.of(self.engine.outcome, self.facts),
                turns=self._turns,
                final_state=self.engine.state().tolist(),
                reason=reason[:MAX_REASON_CHARS] if reason else None,
            )
        )

    def reply_cut_short(self, heard_seconds: float, heard_text: str | None = None) -> None:
        """The debtor spoke over the agent's last line and it stopped after `heard_seconds` (the words heard, where
        the voice output knows them): the next turn event, the words that cut it short, records it, and the next
        reply says again the notices the line carried that were not heard (compliance.unheard_notices)."""
        if heard_text is not None:
            heard_text = heard_text.strip()[:MAX_TEXT_CHARS]
        self._cut_short = InterruptedReply(heard_ms=max(0.0, heard_seconds) * 1000, heard_text=heard_text)
        self._owed_notices = unheard_notices(self._last_reply, heard_text)

    def record_latency(self, stage: LatencyStage, milliseconds: float) -> None:
        """A stage measured after the turn event was written (speech synthesis, end to end)."""
        if self.metrics is not None:
            self.metrics.observe_latency(stage, milliseconds)

    def record_error(self, component: str) -> None:
        """A speech or session failure the call survived (a fallback voice took over) or did not."""
        if self.metrics is not None:
            self.metrics.count_error(component)

    async def _log(self, event: Event) -> None:
        if self.metrics is not None:
            self.metrics.observe_event(event)
        delivery = asyncio.ensure_future(self._deliver(event))
        try:
            await asyncio.shield(delivery)
        except asyncio.CancelledError:
            # a stop signal that lands while an event is being written waits for it: an event begun reaches every
            # sink (a call_closed cut off here would leave its call open in the log for good)
            await delivery
            raise

    async def _deliver(self, event: Event) -> None:
        for sink in self.sinks:
            await sink.add(event)
