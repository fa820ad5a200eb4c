import itertools
from datetime import UTC, date, datetime

import pytest

from agent_runtime.compliance import (
    DISCLOSURE,
    FORBIDDEN_PHRASES,
    ComplianceError,
    call_permitted,
    check_wording,
    forbidden_phrases_in,
    require_permitted_hours,
)
from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import compute_offer_terms
from agent_runtime.contracts.state import CallHistory
from agent_runtime.engine import DialogueEngine
from agent_runtime.nlg import GUARD_ANSWERS, OPENINGS, STRATEGIES, TemplateNLG

TODAY = date(2026, 1, 5)


def test_no_template_or_paraphrase_threatens_insults_or_misstates_consequences():
    texts = [
        *OPENINGS,
        *(line for sets in STRATEGIES.values() for lines in sets.values() for line in lines),
        *itertools.chain.from_iterable(GUARD_ANSWERS.values()),
    ]
    assert len(texts) >= 3 * len(STRATEGIES)
    for text in texts:
        assert forbidden_phrases_in(text) == [], text


def test_the_checker_catches_forbidden_wording():
    assert forbidden_phrases_in("Pay now or we will call the POLICE and garnish your wages") == ["police", "garnish"]
    with pytest.raises(ComplianceError, match="arrest"):
        check_wording("You could face arrest.")


def test_every_strategy_is_worded_with_the_engines_terms(facts):
    nlg = TemplateNLG(seed=0)
    for action in Action:
        terms = compute_offer_terms(action, facts, CallHistory(), TODAY)
        text = nlg.say(facts, action, terms)
        assert text and "{" not in text
        if terms is not None:
            assert f"${terms.instalment:,.0f}" in text.replace(",", ",")
    plan = compute_offer_terms(Action.OFFER_PAYMENT_PLAN, facts, CallHistory(), TODAY)
    assert "$400 monthly for 3 payments, starting January 12" in nlg.say(facts, Action.OFFER_PAYMENT_PLAN, plan)


def test_never_the_same_wording_twice_in_a_row(facts):
    nlg = TemplateNLG(seed=3)
    for action in Action:
        terms = compute_offer_terms(action, facts, CallHistory(), TODAY)
        said = [nlg.say(facts, action, terms) for _ in range(30)]
        assert all(a != b for a, b in itertools.pairwise(said)), action


REVEALING = ("debt", "collect", "owe", "balance", "account", "payment", "past due", "$")


def test_the_opening_asks_for_the_debtor_and_reveals_nothing_about_the_debt(facts):
    nlg = TemplateNLG(seed=1)
    for _ in range(6):
        opening = nlg.opening(facts)
        assert facts.debtor_name in opening and facts.agent_name in opening and facts.business_name in opening
        assert "recorded" in opening and ("automated" in opening or "virtual" in opening)
        assert facts.creditor not in opening and not [word for word in REVEALING if word in opening.lower()]


def test_the_disclosure_comes_after_verification_with_the_creditor_and_balance(facts):
    nlg = TemplateNLG(seed=2)
    for _ in range(4):
        text = nlg.say(facts, None, guard_rule=GuardRule.DISCLOSURE)
        assert DISCLOSURE in text and facts.creditor in text and "$1,200" in text


@pytest.mark.parametrize(
    "rule",
    [GuardRule.RIGHT_PARTY_CHECK, GuardRule.IDENTIFIER_CHECK, GuardRule.THIRD_PARTY, GuardRule.VERIFICATION_FAILED,
     GuardRule.DO_NOT_CALL, GuardRule.VOICEMAIL],
)  # fmt: skip
def test_nothing_said_before_verification_reveals_the_debt(facts, rule):
    nlg = TemplateNLG(seed=0)
    for _ in range(len(GUARD_ANSWERS[rule])):
        text = nlg.say(facts, None, guard_rule=rule)
        assert facts.creditor not in text and not [word for word in REVEALING if word in text.lower()], text


def test_the_voicemail_is_regulation_fs_limited_content_message(facts):
    nlg = TemplateNLG(seed=0)
    for _ in range(len(GUARD_ANSWERS[GuardRule.VOICEMAIL])):
        text = nlg.say(facts, None, guard_rule=GuardRule.VOICEMAIL)
        # the consumer's name, a person to ask for, a request to call back and the number; nothing else of substance
        assert facts.debtor_name in text and facts.agent_name in text and facts.callback_number in text
        assert "call" in text.lower() and facts.business_name in text


def test_cease_request_is_closed_politely_and_the_call_marked_do_not_contact(facts, tracker):
    engine = DialogueEngine(facts, tracker, today=TODAY)
    observation = engine.observe("stop calling me")
    text = TemplateNLG(seed=0).say(facts, None, guard_rule=observation.guard_rule)
    assert observation.outcome.do_not_contact
    assert "stop calling" in text.lower() or "not receive further calls" in text


def test_dispute_gets_the_validation_notice_then_the_strategy(facts, tracker):
    engine = DialogueEngine(facts, tracker, today=TODAY)
    engine.observe("i want proof i owe this")
    decision = engine.act(Action.HARD_CLOSE)
    text = TemplateNLG(seed=0).say(facts, decision.executed, decision.terms, decision.guard_rule)
    assert decision.guard_rule is GuardRule.DISPUTE_VALIDATION
    assert "thirty days" in text and "writing" in text
    assert "full balance" not in text  # the pressure the policy proposed was replaced


@pytest.mark.parametrize(
    ("utc_time", "allowed"),
    [
        ("2026-01-05T13:59:00", False),
        ("2026-01-05T14:00:00", True),
        ("2026-01-06T02:59:00", True),
        ("2026-01-06T03:00:00", False),
    ],
)
def test_calls_only_between_8am_and_9pm_in_the_debtors_timezone(facts, utc_time, allowed):
    now = datetime.fromisoformat(utc_time).replace(tzinfo=UTC)  # facts: America/Chicago, UTC-6 in January
    assert call_permitted(facts, now) is allowed
    if not allowed:
        with pytest.raises(ComplianceError, match="08:00-21:00"):
            require_permitted_hours(facts, now)


def test_forbidden_list_is_not_empty_and_lower_case():
    assert len(FORBIDDEN_PHRASES) > 20 and all(p == p.lower() for p in FORBIDDEN_PHRASES)


def test_no_sentence_comes_twice_in_a_call_while_paraphrases_last(facts):
    """Twelve turns of the same strategy (a call's longest): twelve different lines while the set lasts (8 each)."""
    from agent_runtime.nlg import CALM, paraphrases

    for action in Action:
        nlg = TemplateNLG(seed=5)
        said = [nlg.say(facts, action, compute_offer_terms(action, facts, CallHistory(), TODAY)) for _ in range(12)]
        available = len(paraphrases(action, CALM))
        assert len(set(said[:available])) == available, action


def test_the_wording_fits_the_tone_of_the_debtors_words(facts, tracker):
    from agent_runtime.nlg import STRATEGIES, UPSET

    nlg, upset_lines = TemplateNLG(seed=0), STRATEGIES[Action.EMPATHETIC_LISTENING][UPSET]
    neutral_question = tracker.read("what are my options?")
    upset = tracker.read("i lost my job and i'm barely getting by")
    for _ in range(6):
        calm_line = nlg.say(facts, Action.EMPATHETIC_LISTENING, reading=neutral_question)
        assert calm_line not in upset_lines and "hard" not in calm_line
        assert nlg.say(facts, Action.EMPATHETIC_LISTENING, reading=upset) in upset_lines
        plan = compute_offer_terms(Action.VALIDATE_THEN_OFFER, facts, CallHistory(), TODAY)
        assert "concerns are valid" not in nlg.say(facts, Action.VALIDATE_THEN_OFFER, plan, reading=neutral_question)
