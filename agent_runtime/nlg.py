"""Template NLG: words the executed strategy with the call facts and the engine's offer terms.

Several paraphrases per strategy and per guard rule; the same wording never comes twice in a row for one call.
Guard rules take precedence over the strategy (a cease request is answered by the polite close, a dispute by the
validation notice). Every template passes `compliance.check_wording` (tested over all paraphrases).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from functools import cache

from agent_runtime.compliance import DISCLOSURE, check_wording
from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import DSTOutput, Intent, QuestionKind
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import MAX_PLAN_MONTHS, MIN_INSTALMENT, OfferKind, OfferTerms

# The opening asks for the debtor by name and says who calls, that the caller is an automated assistant and that the
# call is recorded; nothing about a creditor, a debt or an amount until the debtor is verified (the disclosure).
OPENINGS = (
    "Hello, this is {agent}, an automated assistant calling from {business}. This call is recorded. "
    "May I please speak with {name}?",
    "Hi, my name is {agent}, a virtual assistant with {business}, on a recorded line. Am I speaking with {name}?",
    "Good day. This is {agent}, an automated assistant from {business}; this call is recorded. Is this {name}?",
)
# Each strategy's paraphrases, by the tone of the debtor's last words: UPSET (hardship, stalling, refusing, hostile,
# disputing, or a clearly negative sentiment) and CALM (everything else: a question, willingness, small talk). A
# strategy with one set fits both. Eight or more per set, because a call runs up to 12 turns and no rendered sentence
# may come twice in one call (TemplateNLG keeps what it said).
UPSET, CALM = "upset", "calm"
STRATEGIES: dict[Action, dict[str, tuple[str, ...]]] = {
    Action.EMPATHETIC_LISTENING: {
        UPSET: (
            "I hear you, that sounds really hard. Take your time; I'm here to find something that works for you.",
            "Thank you for telling me. A lot of people are dealing with the same thing, and we can work through it.",
            "That sounds stressful, and I appreciate you sharing it. Let's see what's manageable for you.",
            "I'm sorry you're going through that. There's no rush; we'll look for something realistic.",
            "That's a lot to carry. I'd like to help make this one thing easier.",
            "I understand this is a difficult time. We can go at whatever pace suits you.",
            "It makes sense that this feels heavy right now. Let's take it one step at a time.",
            "Thanks for being open with me about that. We'll find an option that fits your situation.",
        ),
        CALM: (
            "Thanks for that. I'm here to help you find an arrangement that works for you.",
            "Good to talk with you. Let's find something that fits your budget.",
            "Thank you. Whatever we set up should be comfortable for you.",
            "I appreciate it. We can keep this simple and make it work for you.",
            "Of course. My goal is to find an option you're comfortable with.",
            "Thanks. Let's make sure whatever we agree on is realistic for you.",
            "Sure. I'm glad to walk through this with you.",
            "Thank you for your time. We'll keep this easy.",
        ),
    },
    Action.ASK_ABOUT_SITUATION: {
        CALM: (
            "Can you tell me a little about your situation right now, so I can suggest something realistic?",
            "What would a comfortable monthly amount look like for you at the moment?",
            "Help me understand what you can manage. What does your budget look like these days?",
            "What amount could you set aside each month without it being a strain?",
            "Is there a payment size or schedule that would be easier for you?",
            "When are you usually paid, so that a payment date lines up with it?",
            "What would make this manageable for you right now?",
            "If you could pick the monthly amount, what would it be?",
        )
    },
    Action.FIRM_REMINDER: {
        CALM: (
            "Just so you know where things stand, the balance with {creditor} is {balance} and it is {days} days past "
            "due.",
            "I want to be clear about the account: {balance} is outstanding and it has been overdue for {days} days.",
            "The account still shows {balance} past due. Resolving it sooner keeps your options open.",
            "For the record, {balance} remains unpaid on the {creditor} account, now {days} days late.",
            "The {creditor} balance of {balance} is still open after {days} days.",
            "To be straightforward with you, the full {balance} is still owed to {creditor}.",
            "Nothing has been paid toward the {balance} yet, and the account is {days} days behind.",
            "The amount due is {balance}, and taking care of it brings the account up to date.",
        )
    },
    Action.OFFER_PAYMENT_PLAN: {
        CALM: (
            "We could set up a payment plan: {plan}. Would that work for you?",
            "One option is to spread it out: {plan}. How does that sound?",
            "I can offer a plan of {plan}. Is that something you could manage?",
            "How about a payment plan of {plan}?",
            "We can break it into payments: {plan}. Would that fit your budget?",
            "A plan could look like this: {plan}. What do you think?",
            "Here's an option: {plan}. Could you manage that?",
            "I'd suggest {plan}. Does that work for you?",
        )
    },
    Action.PROPOSE_SETTLEMENT: {
        CALM: (
            "I can offer to settle the account for {settlement}. That resolves the full balance of {balance}.",
            "If a single payment is easier, we can settle for {settlement} instead of the full {balance}.",
            "There is a settlement option: {settlement}, and the account would be closed as settled.",
            "We could close this out with {settlement}, less than the {balance} owed.",
            "A settlement is possible: {settlement}, and nothing more would be owed on the account.",
            "Would {settlement} work? That would settle the {balance} balance.",
            "Another way is a single settlement payment: {settlement}.",
            "If it helps, {settlement} would settle the account in full.",
        )
    },
    Action.HARD_CLOSE: {
        CALM: (
            "Can we take care of the full balance of {balance} today?",
            "Would you be able to resolve the whole {balance} in one payment today?",
            "The simplest path is paying the {balance} in full now. Shall we set that up?",
            "Could you pay the {balance} in full today and be done with it?",
            "If it's possible, paying the full {balance} now would close the account. Can we do that?",
            "Are you able to clear the {balance} today?",
            "Would a single payment of {balance} today work for you?",
            "If you can, let's settle the whole {balance} today. Would that work?",
        )
    },
    Action.ACKNOWLEDGE_AND_REDIRECT: {
        UPSET: (
            "I understand you're frustrated, and that's fair. My goal is just to find a way forward that works for "
            "you.",
            "I hear your frustration. Let's focus on what might make this easier for you.",
            "You have every right to be upset. Can we look at options together?",
            "I'm sorry this has been so aggravating. I'd like to help sort it out.",
            "That's understandable. Let's see if we can find something that takes some pressure off.",
            "I get why this is upsetting. I'm here to help, not to make things harder.",
            "I hear you. Let's try to move this toward something that works for you.",
            "Fair enough. Let's look at what we can do from here.",
        ),
        CALM: (
            "Understood. Let's look at what would work best for you.",
            "Got it. Let's focus on a next step that suits you.",
            "Okay. Let's see which option fits you best.",
            "Thanks. Let's move toward something that works for you.",
            "Sure. Let's find a way forward together.",
            "All right. Let's figure out the easiest path from here.",
            "I understand. Let's see what we can set up.",
            "Noted. Let's look at your options.",
        ),
    },
    Action.VALIDATE_THEN_OFFER: {
        UPSET: (
            "That makes complete sense. To make it easier, we could do {plan}. Would that help?",
            "I understand, and I want this to be workable for you. How about {plan}?",
            "Your concerns are valid. Something that might fit is {plan}.",
            "That's completely fair. Would {plan} take some of the pressure off?",
            "I hear you. A gentler option could be {plan}.",
            "It's reasonable to feel that way. Could {plan} work instead?",
            "You're right to want something manageable. What about {plan}?",
            "I understand where you're coming from. Maybe {plan} would be easier.",
        ),
        CALM: (
            "Sure. To make it easier, we could do {plan}. Would that help?",
            "Of course. One option that might suit you is {plan}.",
            "Okay. Something that could fit is {plan}.",
            "An option is {plan}. Would that work?",
            "Thanks. How would {plan} sound?",
            "All right. We could set up {plan}.",
            "Sure thing. Would {plan} be manageable?",
            "I can help with that. How about {plan}?",
        ),
    },
    Action.GENTLE_URGENCY: {
        CALM: (
            "Setting something up now, even a small amount, can keep the account from going further past due.",
            "The sooner we agree on a plan, the more options you'll have. Could we set something up today?",
            "It would help you to get this arranged this week while these options are available.",
            "Even a first small payment this month would be a good start. Could we arrange that?",
            "Getting a plan in place today means one less thing to worry about. Shall we?",
            "If we set a date now, you'll know exactly where you stand. Can we pick one?",
            "Taking a first step today keeps things simpler for you. Would you like to?",
            "Let's not let this wait longer than it has to. Could we agree on something today?",
        )
    },
}
UPSET_INTENTS = frozenset({Intent.HARDSHIP, Intent.STALL, Intent.REFUSE, Intent.HOSTILE, Intent.DISPUTE})
UPSET_SENTIMENT = -0.3


def tone(reading: DSTOutput | None) -> str:
    """The tone of the debtor's last words, which picks the paraphrase set; a question is answered calmly."""
    if reading is None or reading.question is not None:
        return CALM
    return UPSET if reading.intent in UPSET_INTENTS or reading.sentiment <= UPSET_SENTIMENT else CALM


def paraphrases(action: Action, reading_tone: str) -> tuple[str, ...]:
    sets = STRATEGIES[action]
    return sets.get(reading_tone) or sets[CALM]


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
    # The engine asks before acting on what it did not hear clearly, and books terms only on a yes.
    GuardRule.ASK_AGAIN: (
        "Sorry, I didn't quite catch that. Could you say it again?",
        "I'm sorry, I missed that. Could you repeat it, please?",
        "Sorry, the line broke up for a second. What did you say?",
        "Apologies, I didn't get that. Would you mind saying it once more?",
    ),
    GuardRule.ASK_AMOUNT: (
        "Sorry, I didn't catch the amount. How much did you say you could pay?",
        "Could you tell me the amount again? I want to be sure I heard it right.",
        "I'm sorry, what amount was that?",
        "Just so I get it right, how much would you like to pay?",
    ),
    GuardRule.CONFIRM_TERMS: (
        "Just to confirm: {terms}. Is that right?",
        "Let me read that back: {terms}. Is that correct?",
        "So that's {terms}. Shall I set that up?",
    ),
    GuardRule.OUTSIDE_LIMITS: (
        "I can't set that up, I'm afraid: each payment needs to be at least {minimum}, and a plan has to clear the "
        "balance within {months} months.",
        "That's outside what I can arrange: payments start at {minimum}, and the balance must be cleared within "
        "{months} months.",
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
        "Thank you. This is {agent} with {business}; I'll try {first} again another time, and they can call us back "
        "at {callback}. Have a good day.",
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
ANSWERS: dict[QuestionKind, tuple[str, ...]] = {
    QuestionKind.WHO_IS_CALLING: (
        "This is {agent}, an automated assistant with {business}.",
        "My name is {agent}; I'm an automated assistant calling for {business}.",
        "You're speaking with {agent}, {business}'s automated assistant.",
    ),
    QuestionKind.WHICH_COMPANY: (
        "I'm with {business}, calling about your account with {creditor}.",
        "I'm calling from {business} about your {creditor} account.",
        "{business}, on behalf of {creditor}.",
    ),
    QuestionKind.HOW_MUCH: (
        "The balance is {balance}, {days} days past due.",
        "You owe {balance} on the account, and it's {days} days overdue.",
        "It's {balance} in total, past due for {days} days.",
    ),
    QuestionKind.DEBT_ORIGIN: (
        "It's your {creditor} account, past due since {due}.",
        "This is the {creditor} account, which fell behind on {due}.",
        "The balance comes from your account with {creditor}; the payment due on {due} was missed.",
    ),
    QuestionKind.HOW_TO_PAY: (
        "You can pay by phone at {callback}, and we'll send the payment details in writing.",
        "Payments can be made by calling {callback}; you'll also get the details in writing.",
        "The number for payments is {callback}, and a letter will follow with the details.",
    ),
    QuestionKind.ARE_YOU_A_ROBOT: (
        "Yes, I'm an automated assistant, and this call is recorded. You can ask for a person at any time.",
        "I am an automated assistant, yes, on a recorded line. A person can call you back if you prefer.",
        "Yes, this is an automated assistant and the call is recorded; you can ask for a person whenever you like.",
    ),
    QuestionKind.REPEAT: ("Of course. {last}", "Sure, I said: {last}", "No problem. {last}"),
}
SUPERVISOR_ANSWERS = (
    "I'll have a supervisor call you back at this number within one business day.",
    "A supervisor will call you back at this number within one business day.",
)


def money(value: float) -> str:
    return f"${value:,.2f}".replace(".00", "")


def describe_terms(terms: OfferTerms) -> str:
    if terms.kind is OfferKind.PLAN:
        return (
            f"{money(terms.instalment)} {terms.period.value} for {terms.n_payments} payments, "
            f"starting {terms.first_due:%B} {terms.first_due.day}"
        )
    return f"a one-time payment of {money(terms.total)} by {terms.first_due:%B} {terms.first_due.day}"


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


def sentences(text: str) -> list[str]:
    """The sentences of a line (a full stop inside an amount, "$1,200.50", does not end one)."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


def lines(text: str) -> list[str]:
    """The sentences a listener notices hearing twice: short acknowledgements ("Thank you.", "Of course.") are
    left out, people repeat those naturally."""
    return [sentence for sentence in sentences(text) if len(sentence.split()) > 2]


@cache
def templates_version() -> str:
    """A digest of every template: a changed wording gets a new version in the events."""
    templates = {"openings": OPENINGS, "strategies": STRATEGIES, "guard": GUARD_ANSWERS, "answers": ANSWERS}
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
        self._said: set[str] = set()  # every line rendered in this call

    def _pick(self, key: object, options: tuple[str, ...], fields: dict, *, repeating: bool = False) -> str:
        """A paraphrase none of whose sentences was said yet in this call (rendered with `fields`), never the one
        this key used last time; a sentence repeats only when a key has run out of fresh paraphrases, or when the
        debtor asked to hear it again (`repeating`)."""
        rendered = {option: option.format(**fields) for option in options}
        fresh = [o for o in options if o != self._last.get(key) and self._said.isdisjoint(lines(rendered[o]))]
        choices = fresh or [o for o in options if o != self._last.get(key)] or list(options)
        if repeating:
            choices = [o for o in options if o != self._last.get(key)] or list(options)
        choice = self.rng.choice(choices)
        self._last[key] = choice
        if not repeating:
            self._said.update(lines(rendered[choice]))
        return rendered[choice]

    def opening(self, facts: CallFacts) -> str:
        """The first words: who calls, asking for the debtor by name; nothing about the debt."""
        return check_wording(self._pick("opening", OPENINGS, self._fields(facts)))

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
            "minimum": money(MIN_INSTALMENT),
            "months": MAX_PLAN_MONTHS,
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
        reading: DSTOutput | None = None,
    ) -> str:
        """The agent's words for one turn: the guard's answer where a rule fired, then the strategy (if any), in the
        paraphrase set that fits the tone of the debtor's `reading`."""
        fields = self._fields(facts)
        if terms is not None:
            described = describe_terms(terms)
            fields.update(plan=described, settlement=described, terms=described)
        parts = []
        if guard_rule is not None:
            parts.append(self._pick(guard_rule, GUARD_ANSWERS[guard_rule], fields))
        ends = guard_rule in (
            GuardRule.CEASE_REQUEST,
            GuardRule.DISPUTE_ESCALATED,
            GuardRule.COMMITMENT_CONFIRMED,
            GuardRule.TURN_LIMIT,
        )
        if action is not None and not ends:
            reading_tone = tone(reading)
            parts.append(self._pick((action, reading_tone), paraphrases(action, reading_tone), fields))
        return check_wording(" ".join(p.strip() for p in parts))

    def answer(self, facts: CallFacts, question: QuestionKind | None, last_reply: str, supervisor: bool) -> str:
        """What the debtor asked, answered from the facts (and a supervisor's callback where one was asked for);
        empty when nothing was asked."""
        parts, fields = [], self._fields(facts) | {"last": last_reply}
        if question is not None and (question is not QuestionKind.REPEAT or last_reply):
            parts.append(self._pick(question, ANSWERS[question], fields, repeating=question is QuestionKind.REPEAT))
        if supervisor:
            parts.append(self._pick("supervisor", SUPERVISOR_ANSWERS, fields))
        return check_wording(" ".join(parts))
