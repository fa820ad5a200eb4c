"""What the recorder admits into the central store, and why it refuses the rest.

Every message passes, in order: its size, its signature (agent_runtime.events.signing), the event contract (any
supported schema version), its topic (`{prefix}/events/{producer}/{type}/{call_id}` must name the payload's own
type and call), and the bounds a real producer never exceeds (turn index, state length, Q-values, latencies). A
message that fails is not stored with the events: it goes to the quarantine table with the reason, so nothing a
client sends is lost and nothing it forges reaches training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from agent_runtime.contracts.actions import N_ACTIONS
from agent_runtime.contracts.events import (
    Event,
    MalformedEventError,
    TurnEvent,
    UnknownSchemaVersionError,
    read_event,
)
from agent_runtime.contracts.state import MAX_TURNS, STATE_SIZE, STATE_SPEC_VERSION
from agent_runtime.events.signing import SignatureError, signed_payload

MAX_MESSAGE_BYTES = 128 * 1024  # two texts at the contract's 20,000 characters each, with room to spare
MAX_TURN_INDEX = 8 * MAX_TURNS  # turn events count every debtor utterance: contact, questions and asks included
MAX_FOREIGN_STATE = 1024  # the state of another spec version: stored (replay skips it), but never a 5 MB row


class Refusal(StrEnum):
    TOO_LARGE = "too_large"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    UNKNOWN_SCHEMA = "unknown_schema"
    TOPIC_MISMATCH = "topic_mismatch"
    OUT_OF_BOUNDS = "out_of_bounds"


class Refused(ValueError):
    def __init__(self, reason: Refusal, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Admitted:
    event: Event
    payload: str | None  # the JSON to store as it came; None where it must be re-serialised (an upgraded version)


def admit(topic: str, message: bytes, *, prefix: str, signing_key: bytes | None) -> Admitted:
    """The event a message carries, or Refused with the reason."""
    if len(message) > MAX_MESSAGE_BYTES:
        raise Refused(Refusal.TOO_LARGE, f"{len(message)} bytes (at most {MAX_MESSAGE_BYTES})")
    try:
        payload = signed_payload(message, signing_key)
    except SignatureError as exc:
        raise Refused(Refusal(exc.reason), str(exc)) from None
    try:
        event, upgraded = read_event(payload)
    except UnknownSchemaVersionError as exc:
        raise Refused(Refusal.UNKNOWN_SCHEMA, str(exc)) from None
    except MalformedEventError as exc:
        raise Refused(Refusal.MALFORMED, str(exc)) from None
    _check_topic(topic, event, prefix)
    _check_bounds(event)
    return Admitted(event, None if upgraded else payload.decode())


def _check_topic(topic: str, event: Event, prefix: str) -> None:
    head = f"{prefix}/events/"
    parts = topic.removeprefix(head).split("/", 2) if topic.startswith(head) else []
    if len(parts) != 3 or not parts[0] or parts[1] != event.type or parts[2] != event.call_id:
        raise Refused(
            Refusal.TOPIC_MISMATCH,
            f"topic {topic[:200]!r} is not {head}<producer>/{event.type}/<the event's call id>",
        )


def _check_bounds(event: Event) -> None:
    problems = []
    if isinstance(event, TurnEvent):
        if event.turn > MAX_TURN_INDEX:
            problems.append(f"turn {event.turn} > {MAX_TURN_INDEX}")
        if event.q_values is not None and len(event.q_values) != N_ACTIONS:
            problems.append(f"{len(event.q_values)} Q-values for {N_ACTIONS} actions")
        if event.q_values is not None and not all(map(math.isfinite, event.q_values)):
            problems.append("a Q-value that is not finite")
        bad_latencies = [f"{stage}={ms}" for stage, ms in event.latencies_ms.items() if not 0 <= ms < 3_600_000]
        if bad_latencies:
            problems.append(f"latencies out of [0, 1 h): {', '.join(bad_latencies)}")
    state = getattr(event, "final_state", None) if event.type == "call_closed" else getattr(event, "state", None)
    if state is not None:
        spec = event.state_spec_version
        if spec == STATE_SPEC_VERSION and len(state) != STATE_SIZE:
            problems.append(f"state of {len(state)} features; {spec} has {STATE_SIZE}")
        elif len(state) > MAX_FOREIGN_STATE:
            problems.append(f"state of {len(state)} features")
        if not all(map(math.isfinite, state)):
            problems.append("a state feature that is not finite")
    if problems:
        raise Refused(Refusal.OUT_OF_BOUNDS, "; ".join(problems))
