"""Do not act on a guess: the engine asks when it did not hear or read the words clearly, reads agreed terms back
and books them only on a yes, takes amounts strictly and keeps terms within the creditor's limits."""

from datetime import date

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import Intent, Period
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import MAX_PLAN_MONTHS, MIN_INSTALMENT, OfferKind, OfferTerms, within_limits
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.contracts.transitions import call_transitions
from agent_runtime.dst.amounts import read_amount
from agent_runtime.dst.text import clean, digits_for_number_words
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.policy_source import load_policy
from agent_runtime.services import CallServices
from simulator.calls import simulated_debtor, talk
from simulator.debtor import SimulatedDebtor
from simulator.personas import DebtorTraits, Persona
from telemetry.metrics import RuntimeMetrics


@pytest.mark.parametrize(
    ("said", "amount", "unclear"),
    [
        ("pay me 0 dollars", None, True),
        ("i'll pay $1e308", None, True),
        ("pay -50 dollars", None, True),
        ("i could maybe do $700 and $85 a month", 785.0, False),  # tiny.en's "785": one sum written in pieces
        ("i can do seven eighty five a month", 785.0, False),
        ("i can do twelve seventy five to settle", 1275.0, False),
        ("could i do like seventy no eighty eighty five a month", None, True),  # a correction, not 8,085
        ("i can pay twenty fifty a month", None, True),  # 20.50 or 2,050: asked
        ("i can pay ten fifty to settle", 1050.0, False),
        ("i can do $80.5 25 a month", None, True),  # not 80.525
        ("i'll pay my 6-hundred in one go", 600.0, False),
        ("i can pay 100 and 20 cents", None, True),  # cents are not part of the hundreds: asked, not read as 120
        ("i can do $200 now and $100 next month", None, True),  # two sums are not one
        ("i can do 2,000,000 dollars", None, True),
        ("i could maybe do 785 dollars a month", 785.0, False),
        ("i can do 100, yeah 100 a month", 100.0, False),
        ("i have 3 kids", None, False),  # not money at all
        ("$5 a month", 5.0, False),  # a clean amount: the creditor's limits judge it, not the parser
    ],
)
def test_amounts_are_read_strictly(said, amount, unclear):
    reading = read_amount(digits_for_number_words(clean(said)))
    assert (reading.amount, reading.unclear) == (amount, unclear)


@pytest.mark.parametrize(
    ("stated", "period", "balance", "allowed"),
    [
        (5.0, Period.MONTHLY, 1200.0, False),  # under the minimum payment, and 240 months long
        (MIN_INSTALMENT, Period.MONTHLY, 1200.0, False),  # 120 months: longer than the longest plan
        (1200.0 / MAX_PLAN_MONTHS, Period.MONTHLY, 1200.0, True),  # exactly the longest plan
        (50.0, Period.WEEKLY, 1200.0, True),
        (1205.0, Period.ONCE, 1200.0, True),  # "the whole 1,205" for $1,200 is the balance, rounded as people say it
        (1500.0, Period.ONCE, 1200.0, False),  # more than is owed
    ],
)
def test_the_creditors_limits(stated, period, balance, allowed):
    assert within_limits(stated, period, balance) is allowed


async def offered(constant_call, action=Action.OFFER_PAYMENT_PLAN):
    call = constant_call(action)
    await call.open()
    reply = await call.respond("what are my options?")
    assert "$400 monthly for 3 payments" in reply.text
    return call


@pytest.mark.parametrize("said", ["I'll pay 0 dollars", "I'll pay $1e308", "ok pay -50 dollars"])
async def test_a_sum_that_is_no_amount_is_asked_for_and_nothing_is_booked(constant_call, said):
    call = await offered(constant_call)
    reply = await call.respond(said)
    assert reply.event.guard_rule is GuardRule.ASK_AMOUNT and reply.event.proposed_action is None
    assert "amount" in reply.text and not call.ended
    again = await call.respond(said)  # still unclear: acted on without an amount, and still nothing booked
    assert again.event.guard_rule is not GuardRule.ASK_AMOUNT and again.event.proposed_action is not None
    assert not call.ended


async def test_agreed_terms_are_read_back_and_booked_only_on_a_yes(constant_call):
    call = await offered(constant_call)
    reply = await call.respond("okay, that works")
    assert reply.event.guard_rule is GuardRule.CONFIRM_TERMS and reply.event.proposed_action is None
    assert "$400 monthly for 3 payments" in reply.text and not call.ended
    closing = await call.respond("yes, that's right")
    assert closing.ends_call and closing.event.guard_rule is GuardRule.COMMITMENT_CONFIRMED
    outcome = call.engine.outcome
    assert outcome.kind is OutcomeKind.COMMITMENT and (outcome.terms.instalment, outcome.terms.n_payments) == (400, 3)


async def test_a_no_to_the_terms_read_back_books_nothing_and_counts_as_a_refused_plan(constant_call):
    call = await offered(constant_call)
    await call.respond("sure")
    reply = await call.respond("no, that's too much for me")
    assert not call.ended and reply.event.proposed_action is Action.OFFER_PAYMENT_PLAN
    assert call.engine.history.plans_refused == 1
    assert "$200 monthly for 6 payments" in reply.text  # the next rung of the ladder


async def test_two_sums_are_asked_for_and_the_repeated_one_is_used(constant_call):
    call = await offered(constant_call)
    reply = await call.respond("I could maybe do $700 or $800 a month")
    assert reply.event.guard_rule is GuardRule.ASK_AMOUNT
    reply = await call.respond("785 dollars a month")
    assert reply.event.guard_rule is not GuardRule.ASK_AMOUNT and "$785 monthly" in reply.text


async def test_terms_outside_the_creditors_limits_are_not_booked_and_the_limits_are_said(constant_call):
    call = await offered(constant_call)
    reply = await call.respond("ok, I'll pay $5 a month")
    assert reply.event.guard_rule is GuardRule.OUTSIDE_LIMITS and not call.ended
    assert f"${MIN_INSTALMENT:.0f}" in reply.text and f"{MAX_PLAN_MONTHS} months" in reply.text
    assert "$400 monthly for 3 payments" in reply.text  # the policy's offer stands


async def test_an_amount_over_the_balance_is_asked_for(constant_call):
    call = await offered(constant_call)
    reply = await call.respond("I'll pay 5,000 dollars today")
    assert reply.event.guard_rule is GuardRule.ASK_AMOUNT


async def test_words_recognition_doubts_are_asked_for_once_then_acted_on(constant_call):
    call = await offered(constant_call)
    reply = await call.respond("I'm even thrown right out", stt_confidence=0.1)
    assert reply.event.guard_rule is GuardRule.ASK_AGAIN and reply.event.proposed_action is None
    assert reply.event.stt_confidence == 0.1
    reply = await call.respond("I'm even thrown right out", stt_confidence=0.1)
    assert reply.event.proposed_action is not None  # one request to repeat, then the agent goes on


async def test_a_request_to_stop_is_honoured_however_it_was_heard(constant_call):
    call = await offered(constant_call)
    reply = await call.respond("stop calling me", stt_confidence=0.05)
    assert reply.ends_call and call.engine.outcome.kind is OutcomeKind.CEASE


async def test_a_sentence_the_classifier_doubts_is_asked_for_again(constant_call, tracker):
    said = "so my point is"
    assert tracker.read(said).confidence < 0.5 and tracker.read(said).question is None
    call = await offered(constant_call)
    reply = await call.respond(said)
    assert reply.event.guard_rule is GuardRule.ASK_AGAIN and "again" in reply.text.lower()


async def test_the_engines_questions_give_no_transitions(constant_call, facts):
    class Events:
        def __init__(self):
            self.events = []

        async def add(self, event):
            self.events.append(event)

    sink = Events()
    call = constant_call(Action.OFFER_PAYMENT_PLAN, sinks=(sink,))
    await call.open()
    for line in ("what are my options?", "so my point is", "okay, that works", "yes"):
        await call.respond(line)
    assert call.engine.outcome.kind is OutcomeKind.COMMITMENT
    transitions = call_transitions(sink.events)
    assert len(transitions) == 1 and transitions[0].done  # only the policy's offer; the commitment ends it


async def test_simulated_debtors_repeat_themselves_and_confirm_the_terms():
    """Text calls of simulated debtors through the controller: every commitment was read back and confirmed."""
    policy = load_policy("scripted:best_practice")
    services = CallServices(policy, DialogueStateTracker(), RuntimeMetrics(CollectorRegistry()))
    confirmed = 0
    for seed in range(30):
        who = simulated_debtor(seed)
        call = who.controller(services, f"clarify-{seed}")
        lines = await talk(call, who)
        if call.engine.outcome.kind is OutcomeKind.COMMITMENT:
            confirmed += 1
            assert any("guard confirm_terms" in line for line in lines), lines
    assert confirmed >= 5


@pytest.mark.parametrize("seed", range(6))  # the seeds draw each of the simulator's wordings of a correction
def test_a_simulated_debtor_corrects_a_misheard_amount_read_back_and_confirms_the_right_one(seed):
    traits = DebtorTraits(Persona.COOPERATIVE, 0.8, 0.8, 200.0, 300.0, 6, "none", False, False)
    debtor = SimulatedDebtor(traits, balance=1200.0, rng=np.random.default_rng(seed))
    stated = debtor._counter_offer(OfferKind.PLAN)
    reading = DialogueStateTracker().read(stated.text, True)
    assert reading.amount == 190.0  # 95 % of the capacity, to the nearest 5
    today = date(2026, 1, 5)
    misheard = OfferTerms(
        kind=OfferKind.PLAN, instalment=19.0, period=Period.MONTHLY, n_payments=64, total=1200.0,
        first_due=today, discount_pct=0.0, debtor_proposed=True,
    )  # fmt: skip
    correction = debtor.confirm(misheard)
    again = DialogueStateTracker().read(correction.text, True)
    assert (again.amount, again.period, correction.intent) == (190.0, Period.MONTHLY, Intent.REFUSE)
    right = misheard.model_copy(update={"instalment": 190.0, "n_payments": 7})
    assert debtor.confirm(right).intent is Intent.COMMIT


@pytest.mark.parametrize(
    "said",
    [
        "i make like four hundred every week but i send money to my mother too",
        "i make like four hundred every week and i can barely pay my rent",
        "we're living on six hundred a month",
    ],
)
async def test_an_income_is_not_taken_for_the_debtors_offer(constant_call, said):
    call = await offered(constant_call)
    reply = await call.respond(said)
    assert call.engine.history.stated_amount is None
    assert "$400 weekly" not in reply.text and "$600 monthly" not in reply.text
    assert "$100 monthly for 12 payments" in reply.text  # the ladder's plan for a hardship, not the income
