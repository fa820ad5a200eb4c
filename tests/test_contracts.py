import json
import subprocess
import sys
from datetime import date

import numpy as np
import pytest
from pydantic import ValidationError

from agent_runtime.contracts.actions import ACTION_NAMES, N_ACTIONS, Action, UnknownActionError, parse_action
from agent_runtime.contracts.dst import DSTOutput, Intent, Period
from agent_runtime.contracts.events import (
    EVENT_SCHEMA_VERSION,
    CallClosed,
    CallOpened,
    MalformedEventError,
    TurnEvent,
    UnknownSchemaVersionError,
    parse_event,
    read_event,
)
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.offers import OfferKind, compute_offer_terms
from agent_runtime.contracts.outcome import Outcome, OutcomeKind, OutcomeSummary
from agent_runtime.contracts.reward import outcome_reward
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.contracts.state import (
    STATE_FEATURES,
    STATE_SIZE,
    CallHistory,
    build_state,
    last_intent_of,
)
from policy.metadata import CheckpointMetadata, CheckpointMismatchError
from training.runs import EVAL_SEEDS, TARGET_SUCCESS_RATE, EpisodeRecord

TODAY = date(2026, 1, 5)


def test_action_ids_are_frozen_in_design_order():
    assert ACTION_NAMES == (
        "empathetic_listening",
        "ask_about_situation",
        "firm_reminder",
        "offer_payment_plan",
        "propose_settlement",
        "hard_close",
        "acknowledge_and_redirect",
        "validate_then_offer",
        "gentle_urgency",
    )
    assert N_ACTIONS == 9


@pytest.mark.parametrize("value", [3, "3", "offer_payment_plan", "OFFER_PAYMENT_PLAN", Action.OFFER_PAYMENT_PLAN])
def test_parse_action_accepts_ids_and_names(value):
    assert parse_action(value) is Action.OFFER_PAYMENT_PLAN


@pytest.mark.parametrize("value", [9, -1, "bribe", 2.0, True, None])
def test_parse_action_rejects_unknown_with_clear_error(value):
    with pytest.raises(UnknownActionError, match="action"):
        parse_action(value)


def test_state_vector_names_every_feature_and_reads_back_the_intent(facts):
    history = CallHistory()
    history.record_reading(DSTOutput(intent=Intent.HARDSHIP, sentiment=-0.5, amount=50, period=Period.MONTHLY))
    history.record_action(Action.FIRM_REMINDER, None)
    state = build_state(history, facts)
    assert state.shape == (STATE_SIZE,) == (len(STATE_FEATURES),)
    assert state.dtype == np.float32
    named = dict(zip(STATE_FEATURES, state, strict=True))
    assert named["intent_last_hardship"] == 1.0 and named["intent_seen_hardship"] == 1.0
    assert named["last_action_firm_reminder"] == 1.0
    assert named["pressure_before_rapport"] == 1.0
    assert named["stated_period_monthly"] == 1.0
    assert named["stated_amount_ratio"] == pytest.approx(50 / 1200)
    assert last_intent_of(state) is Intent.HARDSHIP
    assert last_intent_of(build_state(CallHistory(), facts)) is None


def test_call_facts_validate_timezone_and_balance():
    with pytest.raises(ValidationError, match="timezone"):
        CallFacts(debtor_name="A", balance=10, days_overdue=1, due_date=TODAY, timezone="Mars/Olympus", creditor="B")
    with pytest.raises(ValidationError):
        CallFacts(debtor_name="A", balance=0, days_overdue=1, due_date=TODAY, creditor="B")


def test_plan_terms_climb_the_ladder_after_each_refusal(facts):
    history = CallHistory()
    first = compute_offer_terms(Action.OFFER_PAYMENT_PLAN, facts, history, TODAY)
    assert (first.kind, first.instalment, first.n_payments, first.total) == (OfferKind.PLAN, 400.0, 3, 1200.0)
    assert first.first_due == date(2026, 1, 12)
    history.record_refusal(first)
    second = compute_offer_terms(Action.OFFER_PAYMENT_PLAN, facts, history, TODAY)
    assert second.instalment == 200.0 and second.n_payments == 6


def test_plan_terms_use_the_debtors_own_amount(facts):
    history = CallHistory()
    history.record_reading(DSTOutput(intent=Intent.WILLING, sentiment=0.0, amount=75, period=Period.MONTHLY))
    terms = compute_offer_terms(Action.VALIDATE_THEN_OFFER, facts, history, TODAY)
    assert terms.debtor_proposed and terms.instalment == 75 and terms.n_payments == 16


def test_settlement_terms_discount_and_floor(facts):
    history = CallHistory()
    terms = compute_offer_terms(Action.PROPOSE_SETTLEMENT, facts, history, TODAY)
    assert (terms.kind, terms.total, terms.discount_pct) == (OfferKind.SETTLEMENT, 1020.0, 15.0)
    for _ in range(5):
        history.record_refusal(terms)
    floor = compute_offer_terms(Action.PROPOSE_SETTLEMENT, facts, history, TODAY)
    assert floor.total == 660.0  # 55 % of the balance, never lower
    assert compute_offer_terms(Action.FIRM_REMINDER, facts, history, TODAY) is None


def test_outcome_success_and_recovery(facts):
    terms = compute_offer_terms(Action.PROPOSE_SETTLEMENT, facts, CallHistory(), TODAY)
    committed = Outcome(kind=OutcomeKind.COMMITMENT, terms=terms)
    assert committed.success and committed.recovery(facts) == pytest.approx(0.85)
    refused = Outcome(kind=OutcomeKind.REFUSAL)
    assert not refused.success and refused.recovery(facts) == 0.0
    assert OutcomeSummary.of(committed, facts).recovery == pytest.approx(0.85)


def _turn_event(**overrides) -> TurnEvent:
    fields = dict(
        call_id="call-1",
        turn=0,
        started_at="2026-01-05T15:00:00Z",
        user_text="i lost my job",
        dst=DSTOutput(intent=Intent.HARDSHIP, sentiment=-0.4),
        state=[0.0] * STATE_SIZE,
        proposed_action=Action.HARD_CLOSE,
        executed_action=Action.ACKNOWLEDGE_AND_REDIRECT,
        guard_rule=GuardRule.DISPUTE_VALIDATION,
        q_values=[0.1] * N_ACTIONS,
        policy_version="dqn-1",
        agent_text="I understand.",
        latencies_ms={LatencyStage.STT: 120.0, LatencyStage.E2E: 480.0},
    )
    fields.update(overrides)
    return TurnEvent(**fields)


def test_events_round_trip_through_json(facts):
    events = [
        CallOpened(call_id="call-1", facts=facts, policy_version="dqn-1", channel="simulated", persona="angry"),
        _turn_event(),
        CallClosed(
            call_id="call-1",
            turns=1,
            final_state=[0.0] * STATE_SIZE,
            outcome=OutcomeSummary.of(Outcome(kind=OutcomeKind.CEASE, do_not_contact=True), facts),
        ),
    ]
    for event in events:
        parsed = parse_event(event.model_dump_json())
        assert parsed == event
    assert len({e.event_id for e in events}) == 3


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        ("not json", MalformedEventError, "not valid JSON"),
        ("[1, 2]", MalformedEventError, "JSON object"),
        ('{"schema_version": 99, "type": "turn"}', UnknownSchemaVersionError, "99"),
        ('{"schema_version": 1, "type": "turn", "call_id": "x"}', MalformedEventError, "invalid event"),
        ('{"schema_version": 1, "type": "party", "call_id": "x"}', MalformedEventError, "invalid event"),
    ],
)
def test_malformed_events_fail_with_a_clear_error(payload, error, match):
    with pytest.raises(error, match=match):
        parse_event(payload)


def test_turn_event_rejects_unknown_latency_stage():
    with pytest.raises(ValidationError):
        _turn_event(latencies_ms={"warp_drive": 1.0})


def test_checkpoint_metadata_names_every_mismatch():
    meta = CheckpointMetadata(
        algorithm="dqn",
        hyperparameters={"lr": 1e-3},
        obs_spec_version="state.v1",
        action_set_version="actions.v1",
        obs_size=STATE_SIZE,
        n_actions=9,
    )
    meta.check_compatible(
        obs_spec_version="state.v1", action_set_version="actions.v1", obs_size=STATE_SIZE, n_actions=9
    )
    with pytest.raises(CheckpointMismatchError, match=r"obs_spec_version.*'state\.v2'.*n_actions") as info:
        meta.check_compatible(
            obs_spec_version="state.v2", action_set_version="actions.v1", obs_size=STATE_SIZE, n_actions=10
        )
    assert "obs_size" not in str(info.value)


def test_run_schema_and_constants():
    record = EpisodeRecord(
        episode=0,
        real_steps=5,
        length=5,
        episode_return=1.5,
        success=True,
        persona="sad",
        action_counts={"offer_payment_plan": 2},
        epsilon=0.5,
    )
    line = json.loads(record.model_dump_json(by_alias=True))
    assert line["kind"] == "episode" and line["return"] == 1.5
    assert 0 < TARGET_SUCCESS_RATE < 1
    assert min(EVAL_SEEDS) >= 1_000_000 and len(EVAL_SEEDS) == 2000


def test_contracts_dst_and_simulator_import_without_livekit_or_torch():
    code = (
        "import sys, agent_runtime.contracts, agent_runtime.dst, agent_runtime.engine, simulator.env, "
        "training.evaluate, policy.metadata; "
        "print(sorted(m for m in ('torch', 'livekit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_events_of_every_older_schema_version_are_read_as_the_current_one(facts):
    closed = CallClosed(
        call_id="call-1",
        turns=1,
        final_state=[0.0] * STATE_SIZE,
        outcome=OutcomeSummary.of(Outcome(kind=OutcomeKind.CEASE, do_not_contact=True), facts),
    )
    version_1 = json.loads(closed.model_dump_json(exclude={"reason"})) | {"schema_version": 1}
    event, upgraded = read_event(json.dumps(version_1))
    assert upgraded and event == closed and event.schema_version == EVENT_SCHEMA_VERSION
    assert read_event(closed.model_dump_json()) == (closed, False)
    newer = json.loads(closed.model_dump_json()) | {"schema_version": EVENT_SCHEMA_VERSION + 1}
    with pytest.raises(UnknownSchemaVersionError, match=str(EVENT_SCHEMA_VERSION + 1)):
        read_event(json.dumps(newer))


def test_outcomes_of_a_call_cut_short_have_no_terminal_reward(facts):
    for kind in (OutcomeKind.INTERRUPTED, OutcomeKind.ERROR):
        outcome = Outcome(kind=kind)
        assert outcome.truncated and not outcome.success and outcome.recovery(facts) == 0
        with pytest.raises(ValueError, match="no strategy led to it"):
            outcome_reward(outcome, facts)
    assert not Outcome(kind=OutcomeKind.HANG_UP).truncated
