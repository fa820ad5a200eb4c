"""From a call's events to its transitions (s, a, r, s', done), with the one reward function.

Events store facts, never rewards: `training.replay` trains on these transitions and the console shows the same
reward, broken into its parts, when a call ends. A call the agent's side cut short (outcome `interrupted` or
`error`) ends without a terminal reward: its last decision has no observed next state, so it is dropped, and the
transitions before it are not terminal.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agent_runtime.contracts.events import CallClosed, CallOpened, Event, TurnEvent
from agent_runtime.contracts.outcome import Outcome
from agent_runtime.contracts.reward import reward_terms
from agent_runtime.contracts.state import STATE_SIZE, require_state_spec


class Transition(NamedTuple):
    state: np.ndarray
    action: int  # the policy's proposal: the reward judges what the policy chose, whatever the guard executed
    reward: float
    next_state: np.ndarray
    done: bool
    terms: dict[str, float]  # the reward's parts (contracts.reward.reward_terms)


class IncompleteCall(ValueError):
    pass


def call_transitions(events: list[Event]) -> list[Transition]:
    """The transitions of one call's events (any order); IncompleteCall says why a call gives none."""
    opened = [e for e in events if isinstance(e, CallOpened)]
    closed = [e for e in events if isinstance(e, CallClosed)]
    if len(opened) != 1 or len(closed) != 1:
        raise IncompleteCall("missing call_opened or call_closed")
    opened, closed = opened[0], closed[0]
    turns = [e for e in events if isinstance(e, TurnEvent)]
    for event in (opened, *turns, closed):
        require_state_spec(event.state_spec_version, f"call {opened.call_id}")
    decisions = sorted((e for e in turns if e.proposed_action is not None), key=lambda e: e.turn)
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
        out.append(Transition(states[i], int(event.proposed_action), reward, states[i + 1], terminal, terms))
    return out
