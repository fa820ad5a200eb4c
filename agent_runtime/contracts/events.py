"""Events: the facts of every turn and every call, as JSON. Rewards are derived from these, never stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agent_runtime.contracts.actions import ACTION_SET_VERSION, Action
from agent_runtime.contracts.dst import DSTOutput
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import OfferTerms
from agent_runtime.contracts.outcome import OutcomeSummary
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.contracts.state import STATE_SPEC_VERSION

EVENT_SCHEMA_VERSION = 1
MAX_TEXT_CHARS = 20_000


def new_event_id() -> str:
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(default_factory=new_event_id, min_length=8, max_length=64)
    schema_version: Literal[1] = EVENT_SCHEMA_VERSION
    call_id: str = Field(min_length=1, max_length=128)
    at: datetime = Field(default_factory=utc_now)


class CallOpened(_Event):
    type: Literal["call_opened"] = "call_opened"
    facts: CallFacts
    channel: Literal["voice", "text", "simulated"] = "voice"
    policy_version: str
    state_spec_version: str = STATE_SPEC_VERSION
    action_set_version: str = ACTION_SET_VERSION
    persona: str | None = None  # simulated calls only; hidden from the policy


class TurnEvent(_Event):
    type: Literal["turn"] = "turn"
    turn: int = Field(ge=0)
    started_at: datetime
    user_text: str = Field(max_length=MAX_TEXT_CHARS)
    stt_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    dst: DSTOutput
    state: list[float]  # the vector the policy saw
    state_spec_version: str = STATE_SPEC_VERSION
    proposed_action: Action | None  # None when the engine closed the call without asking the policy
    executed_action: Action | None
    guard_rule: GuardRule | None = None
    q_values: list[float] | None = None
    offer: OfferTerms | None = None
    policy_version: str
    agent_text: str = Field(max_length=MAX_TEXT_CHARS)
    latencies_ms: dict[LatencyStage, float] = Field(default_factory=dict)
    ends_call: bool = False


class CallClosed(_Event):
    type: Literal["call_closed"] = "call_closed"
    outcome: OutcomeSummary
    turns: int = Field(ge=0)
    final_state: list[float]  # the state after the last debtor utterance (s' of the last transition)
    state_spec_version: str = STATE_SPEC_VERSION


Event = Annotated[CallOpened | TurnEvent | CallClosed, Field(discriminator="type")]
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class MalformedEventError(ValueError):
    pass


class UnknownSchemaVersionError(MalformedEventError):
    pass


def parse_event(payload: str | bytes) -> CallOpened | TurnEvent | CallClosed:
    """Parse one event from JSON; a clear error names what is wrong (schema version checked first)."""
    import json

    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEventError(f"event is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise MalformedEventError(f"event must be a JSON object, got {type(raw).__name__}")
    version = raw.get("schema_version")
    if version != EVENT_SCHEMA_VERSION:
        raise UnknownSchemaVersionError(
            f"event schema_version {version!r} is not supported (this code reads {EVENT_SCHEMA_VERSION})"
        )
    try:
        return _EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise MalformedEventError(
            f"invalid event: {exc.error_count()} error(s): {exc.errors()[0]['msg']} "
            f"at {'.'.join(map(str, exc.errors()[0]['loc']))}"
        ) from None
