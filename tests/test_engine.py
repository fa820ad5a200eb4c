from datetime import date

import pytest

from agent_runtime.contracts.actions import Action, UnknownActionError
from agent_runtime.contracts.dst import Intent
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import OfferKind
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.engine import CallEndedError, DialogueEngine

TODAY = date(2026, 1, 5)


@pytest.fixture
def engine(facts, tracker) -> DialogueEngine:
    return DialogueEngine(facts, tracker, today=TODAY, max_turns=4)


def test_cease_ends_the_call_marks_do_not_contact_and_blocks_everything_after(engine):
    engine.observe("who is this")
    engine.act(Action.FIRM_REMINDER)
    observation = engine.observe("stop calling me")
    assert observation.ended and observation.guard_rule is GuardRule.CEASE_REQUEST
    assert observation.outcome.kind is OutcomeKind.CEASE and observation.outcome.do_not_contact
    with pytest.raises(CallEndedError, match="cease"):
        engine.act(Action.HARD_CLOSE)
    with pytest.raises(CallEndedError):
        engine.observe("hello?")


def test_dispute_gets_the_validation_answer_and_pressure_is_replaced(engine):
    observation = engine.observe("how do i know this is real, prove it")
    assert observation.reading.intent is Intent.DISPUTE and not observation.ended
    decision = engine.act(Action.HARD_CLOSE)
    assert decision.proposed is Action.HARD_CLOSE
    assert decision.executed is Action.ACKNOWLEDGE_AND_REDIRECT
    assert decision.guard_rule is GuardRule.DISPUTE_VALIDATION
    assert engine.history.validation_given


def test_compliant_answer_to_a_dispute_is_kept_but_the_rule_is_recorded(engine):
    engine.observe("i want proof that i owe this")
    decision = engine.act(Action.VALIDATE_THEN_OFFER)
    assert decision.executed is Action.VALIDATE_THEN_OFFER and decision.guard_rule is GuardRule.DISPUTE_VALIDATION
    assert decision.terms is not None and decision.terms.kind is OfferKind.PLAN


def test_repeated_dispute_after_validation_escalates(engine):
    engine.observe("prove it")
    engine.act(Action.VALIDATE_THEN_OFFER)
    observation = engine.observe("i still dispute it, that amount is wrong")
    assert observation.ended and observation.outcome.kind is OutcomeKind.DISPUTE
    assert observation.guard_rule is GuardRule.DISPUTE_ESCALATED


def test_legal_dispute_ends_the_call_at_once(engine):
    observation = engine.observe("i filed for bankruptcy, talk to my lawyer")
    assert observation.ended and observation.outcome.kind is OutcomeKind.DISPUTE


def test_commitment_confirms_the_pending_offer(engine, facts):
    engine.observe("what are my options")
    decision = engine.act(Action.PROPOSE_SETTLEMENT)
    observation = engine.observe("okay deal, set it up")
    assert observation.ended and observation.guard_rule is GuardRule.COMMITMENT_CONFIRMED
    assert observation.outcome.terms == decision.terms
    assert observation.outcome.recovery(facts) == pytest.approx(0.85)


def test_commitment_without_terms_does_not_end_the_call(engine):
    observation = engine.observe("yes i want to pay")
    assert not observation.ended


def test_commitment_to_the_debtors_own_amount(engine, facts):
    engine.observe("hi")
    engine.act(Action.ASK_ABOUT_SITUATION)
    observation = engine.observe("ok i'll pay a hundred a month starting friday")
    assert observation.outcome.kind is OutcomeKind.COMMITMENT
    terms = observation.outcome.terms
    assert terms.debtor_proposed and terms.instalment == 100 and terms.total == facts.balance


def test_an_unanswered_offer_counts_as_refused_and_the_next_plan_is_longer(engine):
    engine.observe("is there a payment plan")
    first = engine.act(Action.OFFER_PAYMENT_PLAN).terms
    engine.observe("that's way too much for me")
    assert engine.history.plans_refused == 1
    second = engine.act(Action.OFFER_PAYMENT_PLAN).terms
    assert second.n_payments > first.n_payments


def test_hang_up_after_refusing_is_a_refusal_otherwise_a_hang_up(facts, tracker):
    refuser = DialogueEngine(facts, tracker, today=TODAY)
    refuser.observe("i'm not paying that")
    refuser.act(Action.FIRM_REMINDER)
    assert refuser.observe("", hang_up=True).outcome.kind is OutcomeKind.REFUSAL
    leaver = DialogueEngine(facts, tracker, today=TODAY)
    leaver.observe("who is this")
    leaver.act(Action.ASK_ABOUT_SITUATION)
    assert leaver.observe("gotta go", hang_up=True).outcome.kind is OutcomeKind.HANG_UP


def test_turn_limit(engine):
    engine.observe("hello")
    for _ in range(4):
        engine.act(Action.EMPATHETIC_LISTENING)
        observation = engine.observe("uh huh")
    assert observation.ended and observation.outcome.kind is OutcomeKind.TURN_LIMIT
    assert observation.guard_rule is GuardRule.TURN_LIMIT


@pytest.mark.parametrize("bad", [9, -3, "threaten"])
def test_unknown_action_is_rejected(engine, bad):
    engine.observe("hello")
    with pytest.raises(UnknownActionError):
        engine.act(bad)


def test_a_call_cut_short_by_the_agent_side_ends_without_a_debtor_outcome(engine):
    engine.observe("what are my options")
    engine.act(Action.OFFER_PAYMENT_PLAN)
    engine.cut_short(OutcomeKind.INTERRUPTED)
    assert engine.ended and engine.outcome.truncated and not engine.outcome.success
    engine.cut_short(OutcomeKind.ERROR)  # the first end stands
    assert engine.outcome.kind is OutcomeKind.INTERRUPTED
    with pytest.raises(ValueError, match="not a call cut short"):
        engine.cut_short(OutcomeKind.REFUSAL)
