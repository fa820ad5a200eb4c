"""Every Prometheus metric of the system, defined once.

Names follow Prometheus style (snake_case, unit suffixes; counters are exposed with `_total`). Latency stage
labels are the contracts' `LatencyStage` values and nothing else. Runtime metrics describe live calls; recorder
metrics the central store's intake; training metrics carry the run's labels (algo, k, real_ratio, world_model, seed)
and, for simulated runs only, persona. Batch jobs push to a Pushgateway when `PUSHGATEWAY_URL` is set; the runtime
and the recorder serve /metrics. infra/prometheus/alerts.yml alerts on these names.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, push_to_gateway

from agent_runtime.contracts.events import CallClosed, CallOpened, Event, TurnEvent
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.events.ingest import Refusal

HEARD_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 0.9, 1.2, 1.5, 2.0, 3.0, 5.0)
# recorder lag: event written -> committed to the central store; normally well under a second, minutes after an outage
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
RECOVERY_BUCKETS = (0.0, 0.1, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
RUN_LABELS = ("algo", "k", "real_ratio", "world_model", "seed")
ROLLING_EPISODES = 100


class RuntimeMetrics:
    """Metrics of live calls (one instance per process; pass a registry in tests). It is the metrics sink of
    agent_runtime.call.CallController, so every driver of a call (worker, console, simulate) records the same way."""

    def __init__(self, registry: CollectorRegistry = REGISTRY):
        self.stage_latency = Histogram(
            "agent_stage_latency_seconds",
            "Turn latency per stage (e2e: last debtor speech to first agent audio)",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.actions = Counter(
            "agent_actions", "Executed strategies by the debtor's intent", ["action", "intent"], registry=registry
        )
        self.guard_overrides = Counter(
            "agent_guard_overrides", "Policy proposals replaced by the compliance guard", ["rule"], registry=registry
        )
        self.guard_rules = Counter(
            "agent_guard_rules", "Compliance rules that fired, override or not", ["rule"], registry=registry
        )
        self.calls = Counter("agent_calls", "Closed calls by outcome", ["outcome"], registry=registry)
        self.barge_ins = Histogram(
            "agent_barge_in_heard_seconds",
            "How long the agent's line had played when the debtor's words cut it short (one per barge-in)",
            buckets=HEARD_BUCKETS,
            registry=registry,
        )
        self.call_recovery = Histogram(
            "agent_call_recovery_ratio",
            "Committed value / balance per closed call",
            buckets=RECOVERY_BUCKETS,
            registry=registry,
        )
        self.do_not_contact = Counter(
            "agent_do_not_contact", "Calls closed with a do-not-contact mark", registry=registry
        )
        # no labels: exported at zero from the start, so the alert on any increase sees the first one
        self.do_not_contact_violations = Counter(
            "agent_do_not_contact_violations",
            "Calls started to a number on the do-not-contact list (must stay 0: the dispatcher refuses them, this "
            "counts what the worker's own last-moment check caught)",
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "agent_outbox_backlog_events",
            "Events written but not yet delivered to the broker",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.speech_errors = Counter("agent_speech_errors", "STT / TTS failures", ["component"], registry=registry)
        for component in ("stt", "tts"):  # exported at zero from the start, so "no errors" is data, not absence
            self.speech_errors.labels(component=component)
        self.open_calls = Gauge(
            "agent_open_calls", "Calls in progress", registry=registry, multiprocess_mode="livesum"
        )

    def observe_event(self, event: Event) -> None:
        """One event of a call, as CallController logs it."""
        if isinstance(event, TurnEvent):
            self.observe_turn(event)
        elif isinstance(event, CallClosed):
            self.observe_call_closed(event)
        elif isinstance(event, CallOpened):
            self.open_calls.inc()

    def observe_latency(self, stage: LatencyStage, milliseconds: float) -> None:
        self.stage_latency.labels(stage=LatencyStage(stage).value).observe(milliseconds / 1000.0)

    def count_error(self, component: str) -> None:
        self.speech_errors.labels(component=component).inc()

    def count_do_not_contact_violation(self) -> None:
        """A call was about to start to a number on the do-not-contact list (the worker's last-moment check)."""
        self.do_not_contact_violations.inc()

    def observe_turn(self, event: TurnEvent) -> None:
        """The executed strategy by intent, the guard rule that fired (an override if it changed the proposal), the
        stages timed while the turn was answered, and how much of the agent's line it cut short, if it did."""
        executed, proposed, rule = event.executed_action, event.proposed_action, event.guard_rule
        if executed is not None:
            self.actions.labels(action=executed.label, intent=event.dst.intent.value).inc()
        if rule is not None:
            self.guard_rules.labels(rule=rule.value).inc()
            if proposed is not None and proposed != executed:
                self.guard_overrides.labels(rule=rule.value).inc()
        for stage, milliseconds in event.latencies_ms.items():
            self.observe_latency(stage, milliseconds)
        if event.interrupted_reply is not None:
            self.barge_ins.observe(event.interrupted_reply.heard_ms / 1000.0)

    def observe_call_closed(self, event: CallClosed) -> None:
        self.open_calls.dec()
        self.calls.labels(outcome=event.outcome.kind.value).inc()
        self.call_recovery.observe(event.outcome.recovery)
        if event.outcome.do_not_contact:
            self.do_not_contact.inc()


class RecorderMetrics:
    """Metrics of the recorder (agent_runtime.recorder): what it stored, what it quarantined and why, how far behind
    the producers it commits. One instance per recorder process; pass a registry in tests."""

    def __init__(self, registry: CollectorRegistry = REGISTRY):
        self.stored = Counter(
            "recorder_events_stored",
            "Events newly stored in the central store (redeliveries not counted)",
            registry=registry,
        )
        self.quarantined = Counter(
            "recorder_events_quarantined",
            "Messages refused into the quarantine table, by reason (agent_runtime.events.ingest.Refusal)",
            ["reason"],
            registry=registry,
        )
        for reason in Refusal:  # exported at zero from the start, so "none refused" is data, not absence
            self.quarantined.labels(reason=reason.value)
        self.lag = Histogram(
            "recorder_lag_seconds",
            "Commit time minus the event's own `at`, per admitted event of a committed batch",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.last_commit = Gauge(
            "recorder_last_commit_timestamp_seconds",
            "Unix time of the last committed batch (0: none yet)",
            registry=registry,
            multiprocess_mode="max",
        )

    def count_quarantined(self, reason: str) -> None:
        self.quarantined.labels(reason=Refusal(reason).value).inc()

    def observe_commit(self, stored: int, event_times: Iterable[datetime | str], now: float | None = None) -> None:
        """A batch committed: `stored` new events, and the `at` of every admitted event in it (datetimes or the
        ISO strings of the store's rows; redeliveries included, since they too arrived this late)."""
        now = time.time() if now is None else now
        self.stored.inc(stored)
        for at in event_times:
            moment = datetime.fromisoformat(at) if isinstance(at, str) else at
            if moment.tzinfo is None:  # the contract's timestamps are UTC
                moment = moment.replace(tzinfo=UTC)
            self.lag.observe(max(0.0, now - moment.timestamp()))  # a producer's clock ahead is no negative lag
        self.last_commit.set(now)


class TrainingMetrics:
    """A training callback (policy.dqn.TrainingCallback) that records and, if configured, pushes run metrics."""

    def __init__(
        self,
        run: dict[str, object],
        *,
        simulated: bool,
        registry: CollectorRegistry | None = None,
        pushgateway: str | None = None,
        push_every: int = 50,
    ):
        self.registry = registry or CollectorRegistry()
        self.run = {name: str(run.get(name, "")) for name in RUN_LABELS}
        self.simulated = simulated
        self.pushgateway = pushgateway  # None or "": nothing is pushed
        self.push_every = push_every
        self._window: deque[tuple[float, float | None, float | None]] = deque(maxlen=ROLLING_EPISODES)
        labels = list(RUN_LABELS)

        def gauge(name: str, doc: str, extra: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, [*labels, *extra], registry=self.registry)

        self.episode_return = gauge("training_episode_return", "Return of the last real episode")
        self.rolling_return = gauge("training_rolling_return", f"Mean return of the last {ROLLING_EPISODES} episodes")
        self.success_rate = gauge("training_success_rate", f"Success rate of the last {ROLLING_EPISODES} episodes")
        self.recovery_rate = gauge("training_recovery_rate", f"Recovery rate of the last {ROLLING_EPISODES} episodes")
        self.eval_success = gauge("training_eval_success_rate", "Greedy-evaluation success rate")
        self.eval_recovery = gauge("training_eval_recovery_rate", "Greedy-evaluation recovery rate")
        self.eval_return = gauge("training_eval_mean_return", "Greedy-evaluation mean return")
        self.loss = gauge("training_loss", "Last loss value by kind (td, world_model_*)", ("loss",))
        self.epsilon = gauge("training_epsilon", "Exploration rate")
        self.q_mean = gauge("training_q_value_mean", "Mean max-Q of the last episode")
        self.real_episodes = gauge("training_real_episodes", "Real episodes so far")
        self.samples = gauge("training_samples", "Transitions so far by kind (real, imagined)", ("kind",))
        self.actions = Counter(
            "training_actions", "Actions chosen in training episodes", [*labels, "action"], registry=self.registry
        )
        if simulated:
            self.persona_actions = Counter(
                "training_persona_actions",
                "Actions chosen per simulated persona",
                [*labels, "persona", "action"],
                registry=self.registry,
            )
            self.persona_success = Gauge(
                "training_persona_eval_success_rate",
                "Greedy success per simulated persona",
                [*labels, "persona"],
                registry=self.registry,
            )

    def on_episode(self, record: dict) -> None:
        run = self.run
        self.episode_return.labels(**run).set(record["return"])
        self._window.append((record["return"], record.get("success"), record.get("recovery")))
        self.rolling_return.labels(**run).set(sum(w[0] for w in self._window) / len(self._window))
        if record.get("success") is not None:
            self.success_rate.labels(**run).set(sum(bool(w[1]) for w in self._window) / len(self._window))
            self.recovery_rate.labels(**run).set(sum(w[2] or 0.0 for w in self._window) / len(self._window))
        for name, value in record.get("losses", {}).items():
            self.loss.labels(**run, loss=name.removeprefix("losses/")).set(value)
        self.epsilon.labels(**run).set(record["epsilon"])
        if record.get("q_stats"):
            self.q_mean.labels(**run).set(record["q_stats"]["mean"])
        self.real_episodes.labels(**run).set(record["episode"] + 1)
        self.samples.labels(**run, kind="real").set(record["real_steps"])
        self.samples.labels(**run, kind="imagined").set(record.get("imagined_steps", 0))
        for action, count in record["action_counts"].items():
            self.actions.labels(**run, action=action).inc(count)
            if self.simulated and record.get("persona"):
                self.persona_actions.labels(**run, persona=record["persona"], action=action).inc(count)
        if self.pushgateway and (record["episode"] + 1) % self.push_every == 0:
            self.push()

    def on_eval(self, record: dict) -> None:
        run = self.run
        self.eval_return.labels(**run).set(record["eval_mean_return"])
        if record.get("eval_success_rate") is not None:
            self.eval_success.labels(**run).set(record["eval_success_rate"])
            self.eval_recovery.labels(**run).set(record["eval_recovery_rate"])
        if self.simulated:
            for persona, values in (record.get("per_persona") or {}).items():
                self.persona_success.labels(**run, persona=persona).set(values["success_rate"])
        if self.pushgateway:
            self.push()

    def push(self) -> None:
        """Push to the Pushgateway under job 'training', grouped by the run's labels."""
        push_to_gateway(
            self.pushgateway,
            job="training",
            registry=self.registry,
            grouping_key={k: v or "none" for k, v in self.run.items()},
        )
