"""Names of the compliance guard's rules, recorded whenever one shapes or overrides a turn."""

from enum import StrEnum


class GuardRule(StrEnum):
    CEASE_REQUEST = "cease_request"  # debtor asked to stop contact: close politely, mark do-not-contact
    DISPUTE_VALIDATION = "dispute_validation"  # a dispute gets the validation answer; pressure is blocked
    DISPUTE_ESCALATED = "dispute_escalated"  # a repeated or legal dispute: close and escalate to validation
    COMMITMENT_CONFIRMED = "commitment_confirmed"  # the debtor accepted terms: confirm and close
    TURN_LIMIT = "turn_limit"  # the call ran out of turns: close
    # Since event schema 3: right-party contact, before anything about the debt is said (15 U.S.C. 1692b, 1692c(b)).
    RIGHT_PARTY_CHECK = "right_party_check"  # ask again for the debtor by name (the reply was unclear)
    IDENTIFIER_CHECK = "identifier_check"  # the person says they are the debtor: ask for the identifier on file
    DISCLOSURE = "disclosure"  # verified: the mini-Miranda, then the creditor and the balance
    THIRD_PARTY = "third_party"  # someone else: a callback number, nothing about the debt; close
    VERIFICATION_FAILED = "verification_failed"  # the identifier did not match: nothing about the debt; close
    DO_NOT_CALL = "do_not_call"  # wrong number, or a request not to call this number: close, mark it
    VOICEMAIL = "voicemail"  # an answering machine: Regulation F's limited-content message; close
    # Since event schema 4: the engine asks instead of acting on a guess, and books only terms the debtor confirmed.
    ASK_AGAIN = "ask_again"  # the words were not heard or read with confidence: ask to repeat, act on nothing
    ASK_AMOUNT = "ask_amount"  # a sum was said that cannot be taken as an amount: ask for it again
    CONFIRM_TERMS = "confirm_terms"  # the debtor agreed: read the exact terms back; booked only on a yes
    OUTSIDE_LIMITS = "outside_limits"  # the debtor's own terms break the creditor's limits: say them, not booked


GUARD_RULES: tuple[GuardRule, ...] = tuple(GuardRule)
# The engine's questions about what it heard: the policy does not act on such a turn.
CLARIFYING_RULES = frozenset({GuardRule.ASK_AGAIN, GuardRule.ASK_AMOUNT, GuardRule.CONFIRM_TERMS})
# The rules of the contact phase, before the policy takes over.
CONTACT_RULES = frozenset(
    {
        GuardRule.RIGHT_PARTY_CHECK,
        GuardRule.IDENTIFIER_CHECK,
        GuardRule.DISCLOSURE,
        GuardRule.THIRD_PARTY,
        GuardRule.VERIFICATION_FAILED,
        GuardRule.DO_NOT_CALL,
        GuardRule.VOICEMAIL,
    }
)
