"""Events: the facts of every turn and every call, as JSON. Rewards are derived from these, never stored.

This module owns the event schema and its versions. `EVENT_SCHEMA_VERSION` is what producers write; `parse_event`
reads every version since 1 and upgrades older events step by step (`_UPGRADES`), so stored data never needs
rewriting. A change adds a version: new fields are optional (older events lack them) and the upgrade from the
previous version fills what it can.

Versions:
- 1: the first schema.
- 2: `dst_version` and `templates_version` (the DST model and the wording templates) beside `policy_version`; the
  outcomes `interrupted` and `error` (a call the agent's side cut short) with the `reason`; `CallClosed.turns` has
  one meaning, the number of turn events of the call. Version-1 `turns` came from two producers that counted
  differently (turn events, or policy decisions), so the upgrade keeps the number but it may be one short.
- 3: right-party contact: the call facts' agent, business name, callback number and identifiers (facts.v2); the
  DST's `contact` and `question` (dst.v2); the contact phase's guard rules (right_party_check, identifier_check,
  disclosure, third_party, verification_failed, do_not_call, voicemail); the outcomes `third_party`,
  `wrong_number` and `voicemail`; the call's `follow_ups` in its outcome. Older events need nothing filled.
- 4: asking before acting: the DST's `amount_unclear` (dst.v3); the guard rules `ask_again`, `ask_amount`,
  `confirm_terms` and `outside_limits`; offer terms within the creditor's limits (offers.v2). Older events need
  nothing filled.
- 5: privacy by default: the call facts' `identity_protected` (facts.v3: the debtor's name stored as a keyed
  reference, identifiers dropped; agent_runtime.events.privacy). Older events need nothing filled. From this version
  on the parser also refuses, for every version, what could never be read back the same: NaN or infinite numbers, a
  payload without its own `event_id` and `at`, a lone UTF-16 surrogate in a string.
- 6: bounded exploration: the turn's `propensity`, the probability with which the behaviour policy proposed
  `proposed_action` (agent_runtime.exploration; 1 for a greedy choice that could not have been otherwise). Older
  events have none (None: unknown, though their policies were greedy). Call facts v4: the account id, the number
  called (stored as its keyed reference) and the account's flags; older facts have none.
- 7: what the agent expects to hear: the turn's `expected_reply`, a debtor model's distribution over the debtor's
  next act after the proposed action (agent_runtime.contracts.expectation), where the policy carries such a model.
  Older events have none.
- 8: barge-in: the turn's `interrupted_reply`, set when the debtor's words cut the agent's previous line short (the
  opening or the previous turn's reply): how long it had played and, where the voice output times words against
  audio, the words heard. Older events have none (their replies were heard whole, or nothing recorded otherwise).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agent_runtime.contracts.actions import ACTION_SET_VERSION, Action
from agent_runtime.contracts.dst import DSTOutput
from agent_runtime.contracts.expectation import ExpectedReply
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import OfferTerms
from agent_runtime.contracts.outcome import OutcomeSummary
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.contracts.state import STATE_SPEC_VERSION

EVENT_SCHEMA_VERSION = 8
MAX_TEXT_CHARS = 20_000
MAX_REASON_CHARS = 500


def new_event_id() -> str:
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Event(BaseModel):
    # no NaN or infinity anywhere: JSON cannot carry them back (they would be written as null)
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    event_id: str = Field(default_factory=new_event_id, min_length=8, max_length=64)
    schema_version: Literal[8] = EVENT_SCHEMA_VERSION
    call_id: str = Field(min_length=1, max_length=128)
    at: datetime = Field(default_factory=utc_now)


class CallOpened(_Event):
    type: Literal["call_opened"] = "call_opened"
    facts: CallFacts
    channel: Literal["voice", "text", "simulated"] = "voice"
    policy_version: str
    dst_version: str | None = None  # since version 2
    templates_version: str | None = None  # since version 2
    state_spec_version: str = STATE_SPEC_VERSION
    action_set_version: str = ACTION_SET_VERSION
    persona: str | None = None  # simulated calls only; hidden from the policy


class InterruptedReply(BaseModel):
    """The agent's previous line, cut short when the debtor started speaking over it (since version 8)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    heard_ms: float = Field(ge=0.0)  # how long it had played
    heard_text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)  # its words up to there, where known


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
    propensity: float | None = Field(default=None, gt=0.0, le=1.0)  # since version 6
    expected_reply: ExpectedReply | None = None  # since version 7
    interrupted_reply: InterruptedReply | None = None  # since version 8: these words cut the previous line short
    offer: OfferTerms | None = None
    policy_version: str
    dst_version: str | None = None  # since version 2
    templates_version: str | None = None  # since version 2
    agent_text: str = Field(max_length=MAX_TEXT_CHARS)
    latencies_ms: dict[LatencyStage, float] = Field(default_factory=dict)
    ends_call: bool = False


class CallClosed(_Event):
    type: Literal["call_closed"] = "call_closed"
    outcome: OutcomeSummary
    turns: int = Field(ge=0)  # turn events of the call: debtor utterances answered, the closing one included
    final_state: list[float]  # the state when the call ended (after a closing utterance: s' of the last transition)
    state_spec_version: str = STATE_SPEC_VERSION
    reason: str | None = Field(default=None, max_length=MAX_REASON_CHARS)  # why an interrupted or failed call ended


Event = CallOpened | TurnEvent | CallClosed
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Annotated[Event, Field(discriminator="type")])


class MalformedEventError(ValueError):
    pass


class UnknownSchemaVersionError(MalformedEventError):
    pass


def _next_version(raw: dict) -> dict:
    """Versions 2 to 8 only added optional fields and values: an older event is a valid newer one as it is."""
    return raw | {"schema_version": raw["schema_version"] + 1}


# _UPGRADES[v] turns a version-v event (a JSON dict) into a version-(v + 1) one.
_UPGRADES: dict[int, Callable[[dict], dict]] = {v: _next_version for v in (1, 2, 3, 4, 5, 6, 7)}
SUPPORTED_SCHEMA_VERSIONS = (*_UPGRADES, EVENT_SCHEMA_VERSION)


def _invalid(exc: ValidationError) -> MalformedEventError:
    first = exc.errors()[0]
    return MalformedEventError(
        f"invalid event: {exc.error_count()} error(s): {first['msg']} at {'.'.join(map(str, first['loc']))}"
    )


def read_event(payload: str | bytes) -> tuple[Event, bool]:
    """(event, upgraded): one event of any supported version as the current model; `upgraded` says the payload was
    of an older version, so its JSON is not the current event's. A clear error names what is wrong."""
    try:
        # the common case: a current event, parsed in one pass
        return _complete(_EVENT_ADAPTER.validate_json(payload), payload), False
    except ValidationError:
        pass
    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested beyond Python's limit
        raise MalformedEventError(f"event is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(raw, dict):
        raise MalformedEventError(f"event must be a JSON object, got {type(raw).__name__}")
    version = raw.get("schema_version")
    if type(version) is not int or version not in SUPPORTED_SCHEMA_VERSIONS:
        raise UnknownSchemaVersionError(
            f"event schema_version {version!r} is not supported (this code reads {list(SUPPORTED_SCHEMA_VERSIONS)})"
        )
    for step in range(version, EVENT_SCHEMA_VERSION):
        raw = _UPGRADES[step](raw)
    try:
        return _complete(_EVENT_ADAPTER.validate_python(raw), payload), version != EVENT_SCHEMA_VERSION
    except ValidationError as exc:
        raise _invalid(exc) from None


# A JSON escape of a UTF-16 surrogate: a pair is an emoji, a lone one a string that can never be written again.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _complete(event: Event, payload: str | bytes) -> Event:
    """The event, if the payload gave its identity and time itself (defaults would make every read a new event) and
    holds no string that cannot be encoded again."""
    missing = sorted({"event_id", "at"} - event.model_fields_set)
    if missing:
        raise MalformedEventError(f"invalid event: {' and '.join(missing)} missing")
    raw = payload.encode(errors="surrogatepass") if isinstance(payload, str) else payload
    if _SURROGATE_ESCAPE.search(raw):
        try:
            event.model_dump_json()
        except ValueError:  # PydanticSerializationError
            raise MalformedEventError("invalid event: a string holds a lone UTF-16 surrogate") from None
    return event


def parse_event(payload: str | bytes) -> Event:
    """Parse one event from JSON, of any supported schema version (see `read_event`)."""
    return read_event(payload)[0]
