"""The agent's strategies. Ids are stable: a new action is appended, never inserted."""

from __future__ import annotations

from enum import IntEnum
from numbers import Integral

ACTION_SET_VERSION = "actions.v1"


class Action(IntEnum):
    EMPATHETIC_LISTENING = 0
    ASK_ABOUT_SITUATION = 1
    FIRM_REMINDER = 2
    OFFER_PAYMENT_PLAN = 3
    PROPOSE_SETTLEMENT = 4
    HARD_CLOSE = 5
    ACKNOWLEDGE_AND_REDIRECT = 6
    VALIDATE_THEN_OFFER = 7
    GENTLE_URGENCY = 8

    @property
    def label(self) -> str:
        return self.name.lower()


N_ACTIONS = len(Action)
ACTION_NAMES: tuple[str, ...] = tuple(a.label for a in Action)

# Actions that push the debtor to pay now; blocked once the debtor asked to cease or disputes.
PRESSURE_ACTIONS = frozenset({Action.FIRM_REMINDER, Action.HARD_CLOSE, Action.GENTLE_URGENCY})
# Actions that put concrete terms on the table (see offers.compute_offer_terms).
OFFER_ACTIONS = frozenset({Action.OFFER_PAYMENT_PLAN, Action.PROPOSE_SETTLEMENT, Action.VALIDATE_THEN_OFFER})
# Actions that build rapport rather than ask for money.
RAPPORT_ACTIONS = frozenset({Action.EMPATHETIC_LISTENING, Action.ASK_ABOUT_SITUATION, Action.ACKNOWLEDGE_AND_REDIRECT})


class UnknownActionError(ValueError):
    pass


def parse_action(value: int | str | Action) -> Action:
    """Accept an id, a name (`offer_payment_plan`) or an Action; anything else is a clear error."""
    if isinstance(value, Action):
        return value
    if isinstance(value, str):
        key = value.strip().upper()
        if key in Action.__members__:
            return Action[key]
        if not key.lstrip("-").isdigit():
            raise UnknownActionError(f"unknown action {value!r}; known: {', '.join(ACTION_NAMES)}")
        value = int(key)
    if isinstance(value, bool) or not isinstance(value, Integral):  # numpy integers are Integral too
        raise UnknownActionError(f"action must be an int id or a name, got {type(value).__name__}")
    value = int(value)
    try:
        return Action(value)
    except ValueError:
        raise UnknownActionError(f"unknown action id {value}; valid ids are 0..{N_ACTIONS - 1}") from None
