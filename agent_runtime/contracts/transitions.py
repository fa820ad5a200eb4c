"""From a call's events to its transitions (s, a, r, s', done), with the one reward function.

Events store facts, never rewards: `training.replay` trains on these transitions and the console shows the same
reward, broken into its parts, when a call ends. A call the agent's side cut short (outcome `interrupted` or
`error`) ends without a terminal reward: its last decision has no observed next state, so it is dropped, and the
transitions before it are not terminal.

Only whole calls give transitions: one call_opened, one call_closed, every turn event and the state spec this code
builds. Anything else raises IncompleteCall, whose message is the reason a reader counts the call under.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agent_runtime.contracts.events import CallClosed, CallOpened, Event, TurnEvent
from agent_runtime.contracts.outcome import Outcome
from agent_runtime.contracts.reward import reward_terms
from agent_runtime.contracts.state import STATE_SIZE, STATE_SPEC_VERSION


class Transition(NamedTuple):
    state: np.ndarray
    action: int  # the policy's proposal: the reward judges what the policy chose, whatever the guard executed
    reward: float
    next_state: np.ndarray
    done: bool
    terms: dict[str, float]  # the reward's parts (contracts.reward.reward_terms)
    propensity: float | None = None  # the behaviour policy's probability of `action` (None: not logged)


class IncompleteCall(ValueError):
    """Why a call gives no transitions; the message is the reason replay counts the call under."""


def _has_every_turn(turns: list[TurnEvent], closed: CallClosed) -> bool:
    """Whether `turns` (in turn order) are all the call's turn events: the call numbers every utterance it answers
    0, 1, ... (contact-phase and clarifying ones too) and call_closed counts them (version-1 events may count one
    fewer, never more). Without one, the states on either side of it would pass for one decision's s and s'."""
    return [e.turn for e in turns] == list(range(len(turns))) and closed.turns <= len(turns)


def call_transitions(events: list[Event]) -> list[Transition]:
    """The transitions of one call's events (any order); IncompleteCall says why a call gives none."""
    opened = [e for e in events if isinstance(e, CallOpened)]
    closed = [e for e in events if isinstance(e, CallClosed)]
    if len(opened) > 1 or len(closed) > 1:  # one call id written by two runs: which turn belongs to which is lost
        raise IncompleteCall("call logged more than once")
    if not opened or not closed:
        raise IncompleteCall("missing call_opened or call_closed")
    (opened,), (closed,) = opened, closed
    turns = sorted((e for e in events if isinstance(e, TurnEvent)), key=lambda e: e.turn)
    other_specs = sorted({e.state_spec_version for e in (opened, *turns, closed)} - {STATE_SPEC_VERSION})
    if other_specs:  # its state vectors mean other features
        raise IncompleteCall(f"state spec {', '.join(other_specs)} (this code builds {STATE_SPEC_VERSION})")
    if not _has_every_turn(turns, closed):
        raise IncompleteCall("turn events missing or repeated")
    decisions = [e for e in turns if e.proposed_action is not None]
    states = [np.asarray(e.state, dtype=np.float32) for e in decisions]
    summary = closed.outcome
    outcome = Outcome(kind=summary.kind, terms=summary.terms, do_not_contact=summary.do_not_contact)
    if outcome.truncated:
        decisions = decisions[:-1]
    else:
        states.append(np.asarray(closed.final_state, dtype=np.float32))
    if not decisions:
        raise IncompleteCall("no policy decision in the call")
    if any(s.shape != (STATE_SIZE,) or not np.isfinite(s).all() for s in states):
        raise IncompleteCall("a state vector has the wrong size or non-finite values")
    out = []
    for i, event in enumerate(decisions):
        terminal = i == len(decisions) - 1 and not outcome.truncated
        end = outcome if terminal else None
        terms = reward_terms(states[i], event.proposed_action, states[i + 1], end, opened.facts)
        reward = sum(terms.values())  # what compute_reward returns
        action = int(event.proposed_action)
        out.append(Transition(states[i], action, reward, states[i + 1], terminal, terms, event.propensity))
    return out
