"""The frozen contracts of the system (see ARCHITECTURE.md). Importing them pulls in neither livekit nor torch."""

from agent_runtime.contracts.actions import ACTION_NAMES, ACTION_SET_VERSION, N_ACTIONS, Action, parse_action
from agent_runtime.contracts.dst import DST_SCHEMA_VERSION, DSTOutput, Flag, Intent, Period
from agent_runtime.contracts.events import (
    EVENT_SCHEMA_VERSION,
    CallClosed,
    CallOpened,
    TurnEvent,
    parse_event,
)
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import OfferKind, OfferTerms, compute_offer_terms
from agent_runtime.contracts.outcome import Outcome, OutcomeKind, OutcomeSummary
from agent_runtime.contracts.reward import REWARD_VERSION, compute_reward
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.contracts.state import (
    MAX_TURNS,
    STATE_FEATURES,
    STATE_SIZE,
    STATE_SPEC_VERSION,
    CallHistory,
    build_state,
)

__all__ = [
    "ACTION_NAMES",
    "ACTION_SET_VERSION",
    "DST_SCHEMA_VERSION",
    "EVENT_SCHEMA_VERSION",
    "MAX_TURNS",
    "N_ACTIONS",
    "REWARD_VERSION",
    "STATE_FEATURES",
    "STATE_SIZE",
    "STATE_SPEC_VERSION",
    "Action",
    "CallClosed",
    "CallFacts",
    "CallHistory",
    "CallOpened",
    "DSTOutput",
    "Flag",
    "GuardRule",
    "Intent",
    "LatencyStage",
    "OfferKind",
    "OfferTerms",
    "Outcome",
    "OutcomeKind",
    "OutcomeSummary",
    "Period",
    "TurnEvent",
    "build_state",
    "compute_offer_terms",
    "compute_reward",
    "parse_action",
    "parse_event",
]
