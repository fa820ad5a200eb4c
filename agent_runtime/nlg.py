"""Template NLG: words the executed strategy with the call facts and the engine's offer terms.

Several paraphrases per strategy and per guard rule; the same wording never comes twice in a row for one call.
Guard rules take precedence over the strategy (a cease request is answered by the polite close, a dispute by the
validation notice). Every template passes `compliance.check_wording` (tested over all paraphrases).
"""

from __future__ import annotations

import hashlib
import json
import random
from functools import cache

from agent_runtime.compliance import DISCLOSURE, check_wording
from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import QuestionKind
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import OfferKind, OfferTerms

# The opening asks for the debtor by name and says who calls, that the caller is an automated assistant and that the
# call is recorded; nothing about a creditor, a debt or an amount until the debtor is verified (the disclosure).
OPENINGS = (
    "Hello, this is {agent}, an automated assistant calling from {business}. This call is recorded. "
    "May I please speak with {name}?",
    "Hi, my name is {agent}, a virtual assistant with {business}, on a recorded line. Am I speaking with {name}?",
    "Good day. This is {agent}, an automated assistant from {business}; this call is recorded. Is this {name}?",
)
STRATEGIES: dict[Action, tuple[str, ...]] = {
    Action.EMPATHETIC_LISTENING: (
        "I hear you, that sounds really hard. Take your time; I'm here to find something that works for you.",
        "Thank you for telling me. A lot of people are dealing with the same thing, and we can work through it.",
        "That sounds stressful, and I appreciate you sharing it. Let's see what's manageable for you.",
    ),
    Action.ASK_ABOUT_SITUATION: (
        "Can you tell me a little about your situation right now, so I can suggest something realistic?",
        "What would a comfortable monthly amount look like for you at the moment?",
        "Help me understand what you can manage. What does your budget look like these days?",
    ),
    Action.FIRM_REMINDER: (
        "Just so you know where things stand, the balance with {creditor} is {balance} and it is {days} days past due.",
        "I want to be clear about the account: {balance} is outstanding and it has been overdue for {days} days.",
        "The account still shows {balance} past due. Resolving it sooner keeps your options open.",
    ),
    Action.OFFER_PAYMENT_PLAN: (
        "We could set up a payment plan: {plan}. Would that work for you?",
        "One option is to spread it out: {plan}. How does that sound?",
        "I can offer a plan of {plan}. Is that something you could manage?",
    ),
    Action.PROPOSE_SETTLEMENT: (
        "I can offer to settle the account for {settlement}. That resolves the full balance of {balance}.",
        "If a single payment is easier, we can settle for {settlement} instead of the full {balance}.",
        "There is a settlement option: {settlement}, and the account would be closed as settled.",
    ),
    Action.HARD_CLOSE: (
        "Can we take care of the full balance of {balance} today?",
        "Would you be able to resolve the whole {balance} in one payment today?",
        "The simplest path is paying the {balance} in full now. Shall we set that up?",
    ),
    Action.ACKNOWLEDGE_AND_REDIRECT: (
        "I understand you're frustrated, and that's fair. My goal is just to find a way forward that works for you.",
        "I hear your frustration. Let's focus on what might make this easier for you.",
        "You have every right to be upset. Can we look at options together?",
    ),
    Action.VALIDATE_THEN_OFFER: (
        "That makes complete sense. To make it easier, we could do {plan}. Would that help?",
        "I understand, and I want this to be workable for you. How about {plan}?",
        "Your concerns are valid. Something that might fit is {plan}.",
    ),
    Action.GENTLE_URGENCY: (
        "Setting something up now, even a small amount, can keep the account from going further past due.",
        "The sooner we agree on a plan, the more options you'll have. Could we set something up today?",
        "It would help you to get this arranged this week while these options are available.",
    ),
}
GUARD_ANSWERS: dict[GuardRule, tuple[str, ...]] = {
    GuardRule.CEASE_REQUEST: (
        "Understood. We will stop calling you about this account, and any further contact will only be in writing "
        "as the law allows. Thank you for your time.",
        "Of course. I've noted your request and you will not receive further calls from us about this account. "
        "Goodbye.",
    ),
    GuardRule.DISPUTE_VALIDATION: (
        "You have the right to dispute this debt. We will mail you a validation notice with the amount and the "
        "original creditor within five days, and you have thirty days to dispute it in writing. ",
        "I've recorded that you question this debt. You'll receive written validation of the debt, and you have "
        "thirty days to dispute it in writing; collection on any disputed part pauses until we verify it. ",
    ),
    GuardRule.DISPUTE_ESCALATED: (
        "Thank you. I've recorded your dispute; we will pause collection and send written validation of the debt "
        "to you. Goodbye.",
        "Understood. The account is marked as disputed and you will receive written verification before any "
        "further collection. Thank you for your time.",
    ),
    GuardRule.COMMITMENT_CONFIRMED: (
        "Thank you. To confirm: {terms}. You'll receive a written confirmation. Have a good day.",
        "Great, that's all set: {terms}. We'll send the details in writing. Thank you.",
    ),
    GuardRule.TURN_LIMIT: (
        "I don't want to take more of your time today. We'll follow up in writing with your options. Thank you.",
        "Let's leave it there for now. You'll get a letter with the options we discussed. Thank you.",
    ),
    # The contact phase: nothing about the debt before DISCLOSURE.
    GuardRule.RIGHT_PARTY_CHECK: (
        "Sorry, this is {agent} with {business}. Am I speaking with {name}?",
        "I'm {agent}, an automated assistant with {business}. Is this {name}, please?",
    ),
    GuardRule.IDENTIFIER_CHECK: (
        "Thank you. For your privacy, could you please confirm your {identifier}?",
        "Thanks. Before we go on, please tell me your {identifier}.",
    ),
    GuardRule.DISCLOSURE: (
        "Thank you, {first}. {disclosure} I'm calling about your {creditor} account, which has a balance of "
        "{balance}, {days} days past due.",
        "Thanks, {first}. {disclosure} This is about your account with {creditor}: {balance} is {days} days past due.",
    ),
    GuardRule.THIRD_PARTY: (
        "Thank you. I'll try {first} again another time; they can also call us back at {callback}. Have a good day.",
        "No problem. Could you let {first} know that {agent} from {business} called? Our number is {callback}. "
        "Goodbye.",
    ),
    GuardRule.VERIFICATION_FAILED: (
        "I'm sorry, I wasn't able to verify that. Please call us back at {callback} when it suits you. Goodbye.",
        "Thank you. I can't go on without verifying who I'm speaking with; please call us at {callback}. Goodbye.",
    ),
    GuardRule.DO_NOT_CALL: (
        "I'm sorry for the trouble. We will not call this number again. Goodbye.",
        "My apologies. This number will be taken off our list. Have a good day.",
    ),
    # Regulation F's limited-content message (12 CFR 1006.2(j)): the consumer's name, a request to call back, the
    # person to ask for, the number; optionally a salutation and suggested times. No creditor, debt or amount.
    GuardRule.VOICEMAIL: (
        "Hello, this message is for {name}. This is {agent} with {business}. Please call us back at {callback}, "
        "between 8 a.m. and 9 p.m. Thank you.",
        "Hi, this is {agent} from {business} with a message for {name}. Please return our call at {callback} "
        "any day between 8 a.m. and 9 p.m. Thank you.",
    ),
}
IDENTIFIER_NAMES = {"zip_code": "ZIP code", "birth_year": "year of birth"}
# A question is answered from the call facts before the strategy's words (never a figure that is not in the facts).
ANSWERS: dict[QuestionKind, str] = {
    QuestionKind.WHO_IS_CALLING: "This is {agent}, an automated assistant with {business}.",
    QuestionKind.WHICH_COMPANY: "I'm with {business}, calling about your account with {creditor}.",
    QuestionKind.HOW_MUCH: "The balance is {balance}, {days} days past due.",
    QuestionKind.DEBT_ORIGIN: "It's your {creditor} account, past due since {due}.",
    QuestionKind.HOW_TO_PAY: "You can pay by phone at {callback}, and we'll send the payment details in writing.",
    QuestionKind.ARE_YOU_A_ROBOT: "Yes, I'm an automated assistant, and this call is recorded. You can ask for a "
    "person at any time.",
    QuestionKind.REPEAT: "Of course. {last}",
}
SUPERVISOR_ANSWER = "I'll have a supervisor call you back at this number within one business day."


def money(value: float) -> str:
    return f"${value:,.2f}".replace(".00", "")


def describe_terms(terms: OfferTerms) -> str:
    if terms.kind is OfferKind.PLAN:
        return (
            f"{money(terms.instalment)} {terms.period.value} for {terms.n_payments} payments, "
            f"starting {terms.first_due:%B} {terms.first_due.day}"
        )
    return f"a one-time payment of {money(terms.total)} by {terms.first_due:%B} {terms.first_due.day}"


@cache
def templates_version() -> str:
    """A digest of every template: a changed wording gets a new version in the events."""
    templates = {"openings": OPENINGS, "strategies": STRATEGIES, "guard": GUARD_ANSWERS}
    encoded = json.dumps(templates, sort_keys=True, default=str).encode()
    return f"templates-{hashlib.sha256(encoded).hexdigest()[:12]}"


def identifier_name(facts: CallFacts) -> str:
    return IDENTIFIER_NAMES["zip_code" if facts.zip_code else "birth_year"]


class TemplateNLG:
    """Words a call's turns; who speaks (the agent's name, the business) comes from the call facts."""

    def __init__(self, seed: int | None = None):
        self.rng = random.Random(seed)
        self.version = templates_version()
        self._last: dict[object, str] = {}

    def _pick(self, key: object, options: tuple[str, ...]) -> str:
        choices = [o for o in options if o != self._last.get(key)] or list(options)
        choice = self.rng.choice(choices)
        self._last[key] = choice
        return choice

    def opening(self, facts: CallFacts) -> str:
        """The first words: who calls, asking for the debtor by name; nothing about the debt."""
        return check_wording(self._pick("opening", OPENINGS).format(**self._fields(facts)))

    @staticmethod
    def _fields(facts: CallFacts) -> dict:
        return {
            "agent": facts.agent_name,
            "business": facts.business_name,
            "callback": facts.callback_number,
            "name": facts.debtor_name,
            "first": facts.first_name,
            "identifier": identifier_name(facts),
            "creditor": facts.creditor,
            "balance": money(facts.balance),
            "days": facts.days_overdue,
            "disclosure": DISCLOSURE,
            "due": f"{facts.due_date:%B} {facts.due_date.day}, {facts.due_date.year}",
            "plan": "",
            "settlement": "",
            "terms": "",
        }

    def say(
        self,
        facts: CallFacts,
        action: Action | None,
        terms: OfferTerms | None = None,
        guard_rule: GuardRule | None = None,
    ) -> str:
        """The agent's words for one turn: the guard's answer where a rule fired, then the strategy (if any)."""
        fields = self._fields(facts)
        if terms is not None:
            described = describe_terms(terms)
            fields.update(plan=described, settlement=described, terms=described)
        parts = []
        if guard_rule is not None:
            parts.append(self._pick(guard_rule, GUARD_ANSWERS[guard_rule]).format(**fields))
        ends = guard_rule in (
            GuardRule.CEASE_REQUEST,
            GuardRule.DISPUTE_ESCALATED,
            GuardRule.COMMITMENT_CONFIRMED,
            GuardRule.TURN_LIMIT,
        )
        if action is not None and not ends:
            parts.append(self._pick(action, STRATEGIES[action]).format(**fields))
        return check_wording(" ".join(p.strip() for p in parts))

    def answer(self, facts: CallFacts, question: QuestionKind | None, last_reply: str, supervisor: bool) -> str:
        """What the debtor asked, answered from the facts (and a supervisor's callback where one was asked for);
        empty when nothing was asked."""
        parts = []
        if question is not None and (question is not QuestionKind.REPEAT or last_reply):
            parts.append(ANSWERS[question].format(**self._fields(facts), last=last_reply))
        if supervisor:
            parts.append(SUPERVISOR_ANSWER)
        return check_wording(" ".join(parts))
