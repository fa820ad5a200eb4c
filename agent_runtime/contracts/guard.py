"""Names of the compliance guard's rules, recorded whenever one shapes or overrides a turn."""

from enum import StrEnum


class GuardRule(StrEnum):
    CEASE_REQUEST = "cease_request"  # debtor asked to stop contact: close politely, mark do-not-contact
    DISPUTE_VALIDATION = "dispute_validation"  # a dispute gets the validation answer; pressure is blocked
    DISPUTE_ESCALATED = "dispute_escalated"  # a repeated or legal dispute: close and escalate to validation
    COMMITMENT_CONFIRMED = "commitment_confirmed"  # the debtor accepted terms: confirm and close
    TURN_LIMIT = "turn_limit"  # the call ran out of turns: close


GUARD_RULES: tuple[GuardRule, ...] = tuple(GuardRule)
