from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.dst import DSTOutput, Intent
from agent_runtime.contracts.events import CallClosed, InterruptedReply, TurnEvent
from agent_runtime.contracts.guard import GuardRule
from agent_runtime.contracts.outcome import Outcome, OutcomeKind, OutcomeSummary
from agent_runtime.contracts.stages import LATENCY_STAGES, LatencyStage
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.events.ingest import Refusal
from agent_runtime.events.store import event_row
from telemetry.metrics import RecorderMetrics, RuntimeMetrics, TrainingMetrics


def _turn(proposed: Action, executed: Action, rule: GuardRule | None) -> TurnEvent:
    return TurnEvent(
        call_id="c",
        turn=1,
        started_at=datetime.now(UTC),
        user_text="prove it",
        dst=DSTOutput(intent=Intent.DISPUTE, sentiment=-0.2),
        state=[0.0] * STATE_SIZE,
        proposed_action=proposed,
        executed_action=executed,
        guard_rule=rule,
        policy_version="v",
        agent_text="...",
        latencies_ms={LatencyStage.STT: 380.0, LatencyStage.E2E: 650.0},
    )


def test_runtime_metrics_count_actions_overrides_latency_and_outcomes(facts):
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry)
    metrics.observe_turn(_turn(Action.HARD_CLOSE, Action.ACKNOWLEDGE_AND_REDIRECT, GuardRule.DISPUTE_VALIDATION))
    metrics.observe_turn(_turn(Action.VALIDATE_THEN_OFFER, Action.VALIDATE_THEN_OFFER, GuardRule.DISPUTE_VALIDATION))
    outcome = OutcomeSummary.of(Outcome(kind=OutcomeKind.CEASE, do_not_contact=True), facts)
    metrics.observe_call_closed(CallClosed(call_id="c", outcome=outcome, turns=2, final_state=[0.0] * STATE_SIZE))
    value = registry.get_sample_value
    assert value("agent_actions_total", {"action": "acknowledge_and_redirect", "intent": "dispute"}) == 1
    assert value("agent_guard_overrides_total", {"rule": "dispute_validation"}) == 1  # the compliant one is no override
    assert value("agent_guard_rules_total", {"rule": "dispute_validation"}) == 2
    assert value("agent_stage_latency_seconds_count", {"stage": "e2e"}) == 2
    assert value("agent_stage_latency_seconds_sum", {"stage": "stt"}) == 0.76
    assert value("agent_calls_total", {"outcome": "cease"}) == 1
    assert value("agent_do_not_contact_total") == 1
    assert value("agent_barge_in_heard_seconds_count") == 0
    cut = _turn(Action.HARD_CLOSE, Action.HARD_CLOSE, None).model_copy(
        update={"interrupted_reply": InterruptedReply(heard_ms=1500.0, heard_text="We can")}
    )
    metrics.observe_turn(cut)
    assert value("agent_barge_in_heard_seconds_count") == 1 and value("agent_barge_in_heard_seconds_sum") == 1.5


def test_do_not_contact_violations_are_exported_at_zero_and_counted():
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry)
    assert registry.get_sample_value("agent_do_not_contact_violations_total") == 0  # "none" is data, not absence
    metrics.count_do_not_contact_violation()
    assert registry.get_sample_value("agent_do_not_contact_violations_total") == 1
    assert registry.get_sample_value("agent_do_not_contact_total") == 0  # a closed call's mark is another counter


def test_recorder_metrics_count_stored_and_quarantined_and_time_the_lag(facts):
    registry = CollectorRegistry()
    metrics = RecorderMetrics(registry)
    value = registry.get_sample_value
    assert {value("recorder_events_quarantined_total", {"reason": r.value}) for r in Refusal} == {0.0}
    assert value("recorder_last_commit_timestamp_seconds") == 0  # no commit yet
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    closed = CallClosed(
        call_id="c",
        at=now - timedelta(seconds=2),
        outcome=OutcomeSummary.of(Outcome(kind=OutcomeKind.REFUSAL), facts),
        turns=1,
        final_state=[0.0] * STATE_SIZE,
    )
    row_at = event_row(closed)[5]  # the store's rows carry `at` as ISO text: what the recorder has at commit
    assert datetime.fromisoformat(row_at) == closed.at
    # two admitted events (one a redelivery, so one new row), one 40 s old, and a producer clock 1 s ahead
    metrics.observe_commit(1, [row_at, now - timedelta(seconds=40), now + timedelta(seconds=1)], now=now.timestamp())
    metrics.count_quarantined(Refusal.BAD_SIGNATURE)
    metrics.count_quarantined("bad_signature")
    assert value("recorder_events_stored_total") == 1
    assert value("recorder_events_quarantined_total", {"reason": "bad_signature"}) == 2
    assert value("recorder_lag_seconds_count") == 3
    assert value("recorder_lag_seconds_sum") == 42.0  # 2 + 40 + 0: a clock ahead is no negative lag
    assert value("recorder_lag_seconds_bucket", {"le": "2.5"}) == 2
    assert value("recorder_lag_seconds_bucket", {"le": "30.0"}) == 2
    assert value("recorder_lag_seconds_bucket", {"le": "60.0"}) == 3
    assert value("recorder_last_commit_timestamp_seconds") == now.timestamp()
    naive = datetime(2025, 1, 2, 3, 4, 0)  # a naive time is read as UTC, like the contract's
    metrics.observe_commit(0, [naive], now=now.timestamp())
    assert value("recorder_lag_seconds_sum") == 47.0
    with pytest.raises(ValueError):  # an unknown reason creates no new label value
        metrics.count_quarantined("no_such_reason")


def test_latency_stage_labels_come_from_the_contract():
    registry = CollectorRegistry()
    metrics = RuntimeMetrics(registry)
    for stage in LATENCY_STAGES:
        metrics.observe_latency(stage, 1.0)
    stages = {
        sample.labels["stage"]
        for metric in registry.collect()
        if metric.name == "agent_stage_latency_seconds"
        for sample in metric.samples
    }
    assert stages == {s.value for s in LATENCY_STAGES}


def test_training_metrics_label_runs_and_only_simulated_runs_carry_persona():
    run = {"algo": "ddq", "k": 5, "real_ratio": 0.75, "world_model": "mlp", "seed": 3}
    record = {
        "episode": 9,
        "real_steps": 50,
        "imagined_steps": 250,
        "return": 2.5,
        "success": True,
        "recovery": 0.8,
        "persona": "angry",
        "action_counts": {"offer_payment_plan": 2},
        "epsilon": 0.3,
        "losses": {"losses/td_loss": 0.1},
        "q_stats": {"mean": 1.0, "std": 0, "min": 1, "max": 1},
    }
    simulated = TrainingMetrics(run, simulated=True, pushgateway="")
    simulated.on_episode(record)
    labels = {k: str(v) for k, v in run.items()}
    value = simulated.registry.get_sample_value
    assert value("training_samples", {**labels, "kind": "imagined"}) == 250
    assert value("training_success_rate", labels) == 1.0
    assert value("training_loss", {**labels, "loss": "td_loss"}) == 0.1
    assert value("training_persona_actions_total", {**labels, "persona": "angry", "action": "offer_payment_plan"}) == 2
    replayed = TrainingMetrics(run, simulated=False, pushgateway="")
    replayed.on_episode(record)
    assert "persona" not in generate_latest(replayed.registry).decode()


def test_multiprocess_mode_sums_the_workers(tmp_path):
    """Calls served by several worker processes: /metrics reports their sum."""
    import os
    import subprocess
    import sys
    import urllib.request

    from tests.services import free_port, wait_for_port

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker = (
        "from telemetry.metrics import RuntimeMetrics\n"
        "m = RuntimeMetrics()\n"
        "for _ in range(5): m.calls.labels(outcome='commitment').inc()\n"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], env=env, check=True, timeout=60)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from telemetry.exporter import serve_metrics\nimport time\n"
            f"serve_metrics({port}, multiprocess_dir={str(tmp_path)!r})\ntime.sleep(60)",
        ],
        env=env,
    )
    try:
        wait_for_port(port, timeout=30)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.terminate()
        server.wait()
    assert 'agent_calls_total{outcome="commitment"} 10.0' in text
    assert "agent_do_not_contact_violations_total 0.0" in text  # at zero in multiprocess mode too, for the alert
