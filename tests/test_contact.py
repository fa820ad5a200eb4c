"""Right-party contact before any disclosure (15 U.S.C. 1692b, 1692c(b); 12 CFR 1006.2(j)): the engine's contact
phase, its wording, and the simulated people who answer the phone."""

from collections import Counter
from datetime import date

import numpy as np
import pytest

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import Contact, QuestionKind
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.outcome import FollowUp, OutcomeKind
from agent_runtime.contracts.state import CallHistory, build_state
from agent_runtime.engine import DialogueEngine
from simulator.calls import simulated_debtor
from simulator.contact import ANSWERER_SHARES, ANSWERERS, Answerer

TODAY = date(2026, 1, 5)
REVEALING = ("debt", "collect", "owe", "balance", "past due", "$")


@pytest.fixture
def engine(facts, tracker):
    return DialogueEngine(facts, tracker, TODAY, verify=True)


@pytest.fixture
def engine_with_zip(facts, tracker):
    return DialogueEngine(facts.model_copy(update={"zip_code": "60614"}), tracker, TODAY, verify=True)


def test_a_person_who_confirms_being_the_debtor_hears_the_disclosure_and_the_policy_starts_fresh(engine, facts):
    step = engine.contact("yes, speaking")
    assert step.guard_rule is GuardRule.DISCLOSURE and not step.ended and engine.reached
    np.testing.assert_array_equal(engine.state(), build_state(CallHistory(), facts))  # nothing entered the history


def test_the_identifier_on_file_must_be_confirmed(engine_with_zip, tracker, facts):
    assert engine_with_zip.contact("this is sam").guard_rule is GuardRule.IDENTIFIER_CHECK
    assert engine_with_zip.contact("six zero six one four").guard_rule is GuardRule.DISCLOSURE
    misheard = DialogueEngine(facts.model_copy(update={"zip_code": "60614"}), tracker, TODAY, verify=True)
    misheard.contact("yes")
    assert misheard.contact("it's 6 0 6 1 7").guard_rule is GuardRule.DISCLOSURE  # one digit misheard
    wrong = DialogueEngine(facts.model_copy(update={"zip_code": "60614"}), tracker, TODAY, verify=True)
    wrong.contact("yes")
    assert wrong.contact("it's 90210").guard_rule is GuardRule.IDENTIFIER_CHECK  # asked once more
    step = wrong.contact("90211")
    assert step.guard_rule is GuardRule.VERIFICATION_FAILED and step.outcome.kind is OutcomeKind.THIRD_PARTY
    assert not wrong.reached and step.outcome.follow_ups == (FollowUp.CALLBACK,)
    unclear = DialogueEngine(facts.model_copy(update={"zip_code": "60614"}), tracker, TODAY, verify=True)
    unclear.contact("yeah")
    assert unclear.contact("why do you need that").guard_rule is GuardRule.IDENTIFIER_CHECK  # asked once more
    assert unclear.contact("i'd rather not say").guard_rule is GuardRule.VERIFICATION_FAILED


@pytest.mark.parametrize(
    ("reply", "rule", "kind", "follow_up"),
    [
        ("he's not home right now, can i take a message?", GuardRule.THIRD_PARTY, OutcomeKind.THIRD_PARTY,
         FollowUp.CALLBACK),
        ("this is his wife", GuardRule.THIRD_PARTY, OutcomeKind.THIRD_PARTY, FollowUp.CALLBACK),
        ("you have the wrong number", GuardRule.DO_NOT_CALL, OutcomeKind.WRONG_NUMBER, FollowUp.DO_NOT_CALL),
        ("there's no one here by that name", GuardRule.DO_NOT_CALL, OutcomeKind.WRONG_NUMBER, FollowUp.DO_NOT_CALL),
        ("hi you've reached sam, please leave a message after the tone", GuardRule.VOICEMAIL, OutcomeKind.VOICEMAIL,
         FollowUp.CALLBACK),
        # the greeting's second sentence alone (endpointing split it): the DST reads a cease in it, yet it is a machine
        ("Please leave a message after the tone.", GuardRule.VOICEMAIL, OutcomeKind.VOICEMAIL, FollowUp.CALLBACK),
        ("stop calling this number", GuardRule.DO_NOT_CALL, OutcomeKind.CEASE, FollowUp.DO_NOT_CALL),
    ],
)  # fmt: skip
def test_whoever_else_answers_hears_nothing_about_the_debt_and_the_call_ends(engine, reply, rule, kind, follow_up):
    step = engine.contact(reply)
    assert step.guard_rule is rule and step.ended and step.outcome.kind is kind
    assert follow_up in step.outcome.follow_ups and not step.outcome.success and not engine.reached


def test_an_unclear_reply_gets_the_question_again_then_the_call_ends_without_disclosure(engine):
    assert engine.contact("who is this?").guard_rule is GuardRule.RIGHT_PARTY_CHECK
    step = engine.contact("what do you want")
    assert step.guard_rule is GuardRule.THIRD_PARTY and step.outcome.kind is OutcomeKind.THIRD_PARTY


def test_a_hang_up_before_contact_is_a_hang_up_with_a_callback(engine):
    step = engine.contact("", hang_up=True)
    assert step.outcome.kind is OutcomeKind.HANG_UP and step.outcome.follow_ups == (FollowUp.CALLBACK,)


def test_the_calls_end_records_what_it_leaves_to_do(facts, tracker):
    committed = DialogueEngine(facts, tracker, TODAY)
    committed.observe("what are my options")
    committed.act(Action.OFFER_PAYMENT_PLAN)
    assert committed.observe("yes ok").outcome.follow_ups == (FollowUp.MAIL_WRITTEN_CONFIRMATION,)
    disputed = DialogueEngine(facts, tracker, TODAY)
    disputed.observe("i want proof i owe this")
    disputed.act(Action.VALIDATE_THEN_OFFER)
    assert disputed.observe("stop calling me").outcome.follow_ups == (
        FollowUp.MAIL_VALIDATION_NOTICE,
        FollowUp.DO_NOT_CONTACT,
    )


async def test_text_calls_never_say_the_debt_to_someone_who_is_not_the_debtor(constant_call):
    for replies in (
        ["this is his wife"],
        ["wrong number"],
        ["you've reached the voicemail of sam, leave a message"],
        ["who's this?", "why do you ask"],
    ):
        call = constant_call(Action.HARD_CLOSE, verify=True)
        said = [await call.open()]
        for reply in replies:
            said.append((await call.respond(reply)).text)
        assert call.ended and call.engine.outcome.unreached, replies
        for text in said:
            assert "Northwind" not in text and not [word for word in REVEALING if word in text.lower()], text


async def test_a_verified_text_call_discloses_then_the_policy_acts(constant_call):
    call = constant_call(Action.FIRM_REMINDER, verify=True)
    await call.open()
    disclosure = await call.respond("yes this is sam")
    assert "attempt to collect a debt" in disclosure.text and "Northwind Bank" in disclosure.text
    assert disclosure.event.executed_action is None and disclosure.event.guard_rule is GuardRule.DISCLOSURE
    answer = await call.respond("ok what is this about")
    assert answer.event.executed_action is Action.FIRM_REMINDER


def test_the_dst_reads_who_answered_only_when_the_agent_asked(tracker):
    assert tracker.read("yes speaking", asking_for_debtor=True).contact is Contact.CONFIRMS_IDENTITY
    assert tracker.read("yes speaking").contact is None
    assert tracker.read("where did this debt come from").question is QuestionKind.DEBT_ORIGIN


def test_who_picks_up_simulated_calls_follows_the_contact_mix():
    counts = Counter(simulated_debtor(seed).answerer.answerer for seed in range(2000))
    for answerer, share in zip(ANSWERERS, ANSWERER_SHARES, strict=True):
        assert abs(counts[answerer] / 2000 - share) < 0.03, counts
    assert {simulated_debtor(seed, reached=True).answerer.answerer for seed in range(200)} == {Answerer.DEBTOR}


def test_the_contact_phase_does_not_change_who_the_debtor_is():
    """The contact draws come from the call's own stream: the debtor after the disclosure is the env's."""
    from simulator.env import DebtorEnv

    env = DebtorEnv()
    for seed in range(20):
        env.reset(seed=seed)
        who = simulated_debtor(seed)
        assert who.traits == env.traits and who.facts.model_copy(update={"zip_code": None}) == env.facts
