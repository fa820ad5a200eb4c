"""What a person watching a call sees of each turn: a JSON card built from the call's events.

The web console renders these cards, and the LiveKit worker publishes the same cards on a text-stream topic
(`CARD_TOPIC`) so that a page joined to the room renders the same panels. A card is derived from the events alone, so it
shows exactly what was logged: what the recogniser heard (and how much of the agent's line those words cut short), the
DST reading, the policy's value of every action, what the agent expects to hear (where its policy carries a debtor
model), the proposed and executed action, the guard's rule, the offer terms, the reply, each stage's latency, and the
named state features; the closing card adds the outcome and the reward broken into its parts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from agent_runtime.contracts.actions import ACTION_NAMES
from agent_runtime.contracts.events import CallClosed, CallOpened, Event, TurnEvent
from agent_runtime.contracts.state import STATE_FEATURES
from agent_runtime.contracts.transitions import IncompleteCall, call_transitions

CARD_TOPIC = "debt-agent.turn-card"
log = logging.getLogger("agent_runtime.cards")


def turn_card(event: TurnEvent) -> dict:
    dst = event.dst
    q_values = (
        [{"action": name, "q": round(float(q), 4)} for name, q in zip(ACTION_NAMES, event.q_values, strict=True)]
        if event.q_values is not None
        else None
    )
    offer = event.offer
    return {
        "kind": "turn",
        "call_id": event.call_id,
        "turn": event.turn,
        "heard": event.user_text,
        "stt_confidence": event.stt_confidence,
        "interrupted_reply": (
            event.interrupted_reply.model_dump(mode="json") if event.interrupted_reply is not None else None
        ),
        "dst": {
            "intent": dst.intent.value,
            "sentiment": round(dst.sentiment, 3),
            "amount": dst.amount,
            "period": dst.period.value if dst.period else None,
            "flags": sorted(flag.value for flag in dst.flags),
            "confidence": round(dst.confidence, 3),
        },
        "q_values": q_values,
        "expected_reply": event.expected_reply.model_dump(mode="json") if event.expected_reply is not None else None,
        "proposed": event.proposed_action.label if event.proposed_action is not None else None,
        "executed": event.executed_action.label if event.executed_action is not None else None,
        "guard_rule": event.guard_rule.value if event.guard_rule else None,
        "overridden": event.proposed_action is not None and event.proposed_action != event.executed_action,
        "offer": offer.model_dump(mode="json") if offer is not None else None,
        "reply": event.agent_text,
        "latency_ms": {stage.value: round(ms, 1) for stage, ms in event.latencies_ms.items()},
        "state": dict(zip(STATE_FEATURES, (round(x, 4) for x in event.state), strict=True)),
        "ends_call": event.ends_call,
        "policy_version": event.policy_version,
    }


def opened_card(event: CallOpened, *, reveal_persona: bool = True) -> dict:
    facts = event.facts
    return {
        "kind": "opened",
        "call_id": event.call_id,
        "channel": event.channel,
        "policy_version": event.policy_version,
        "debtor_name": facts.debtor_name,
        "creditor": facts.creditor,
        "balance": facts.balance,
        "days_overdue": facts.days_overdue,
        "persona": event.persona if reveal_persona else None,
    }


def closed_card(events: list[Event]) -> dict:
    """The call's end: outcome, recovery and, where the call had decisions, the return and its parts."""
    closed = next(e for e in events if isinstance(e, CallClosed))
    opened = next((e for e in events if isinstance(e, CallOpened)), None)
    card = {
        "kind": "closed",
        "call_id": closed.call_id,
        "outcome": closed.outcome.kind.value,
        "success": closed.outcome.success,
        "recovery": round(closed.outcome.recovery, 4),
        "committed_value": closed.outcome.committed_value,
        "do_not_contact": closed.outcome.do_not_contact,
        "turns": closed.turns,
        "reason": closed.reason,
        "persona": opened.persona if opened else None,  # a simulated debtor's, revealed once the call is over
        "reward": None,
    }
    try:
        transitions = call_transitions(events)
    except IncompleteCall:
        return card
    parts: dict[str, float] = {}
    for transition in transitions:
        for name, value in transition.terms.items():
            parts[name] = parts.get(name, 0.0) + value
    card["reward"] = {
        "return": round(sum(t.reward for t in transitions), 4),
        "parts": {name: round(value, 4) for name, value in parts.items()},
        "per_turn": [round(t.reward, 4) for t in transitions],
    }
    return card


class CardSink:
    """An event sink that turns a call's events into cards for `send` (a WebSocket, a room's text stream)."""

    def __init__(self, send, *, reveal_persona: bool = True):
        self.send, self.reveal_persona = send, reveal_persona
        self.events: list[Event] = []

    async def add(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, CallOpened):
            await self.send(opened_card(event, reveal_persona=self.reveal_persona))
        elif isinstance(event, TurnEvent):
            await self.send(turn_card(event))
        elif isinstance(event, CallClosed):
            await self.send(closed_card(self.events))


def room_publisher(room) -> Callable[[dict], Awaitable[None]]:
    """`send` for a CardSink that publishes each card as JSON on the room's CARD_TOPIC text stream, as the agent's
    participant (read when a card is sent: the room connects after the call is built). A card that cannot be
    published is logged and dropped: it is for watchers, and the call goes on."""

    async def publish(card: dict) -> None:
        try:
            await room.local_participant.send_text(json.dumps(card), topic=CARD_TOPIC)
        except Exception as exc:
            log.warning("turn card of call %s not published: %s", card.get("call_id"), exc)

    return publish
