"""Grafana dashboards generated in code (classic JSON model, schemaVersion 39 / Grafana 11).

    python -m telemetry.dashboards export DIR          # one JSON file per dashboard (what infra/ provisions)
    python -m telemetry.dashboards push --url URL      # through the Grafana HTTP API (GRAFANA_TOKEN from the env)

Five dashboards: Learning (learning curves per run, DQN vs DDQ), Policy (action x intent, actions over time,
Q-values, guard overrides), Voice latency (p50/p95 per stage, end-to-end heatmap), Calls (outcomes, recovery,
compliance), Alerts (one panel per alert of infra/prometheus/alerts.yml: the quantity it watches, over the window it
uses, with its threshold as a line). Every query uses only metric names from telemetry/metrics.py (and `up`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from agent_runtime.settings import load_settings

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
FOLDER_UID, FOLDER_TITLE = "debt-agent", "Debt-collection agent"
SCHEMA_VERSION = 39
RUN = "{{algo}} K={{k}} rr={{real_ratio}} wm={{world_model}} seed={{seed}}"


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]  # (PromQL, legend)
    kind: str = "timeseries"  # timeseries | heatmap | table | stat
    unit: str = "short"
    width: int = 12
    height: int = 8
    instant: bool = False
    threshold: float | None = None  # drawn as a line (an alert's threshold); None: no thresholds
    description: str = ""


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict:
    targets = [
        {
            "refId": chr(ord("A") + i),
            "datasource": DATASOURCE,
            "expr": expr,
            "legendFormat": legend,
            "range": not panel.instant,
            "instant": panel.instant,
            "format": "heatmap" if panel.kind == "heatmap" else ("table" if panel.kind == "table" else "time_series"),
        }
        for i, (expr, legend) in enumerate(panel.exprs)
    ]
    out = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
    }
    if panel.description:
        out["description"] = panel.description
    if panel.threshold is not None:
        defaults = out["fieldConfig"]["defaults"]
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": "green", "value": None}, {"color": "red", "value": panel.threshold}],
        }
        if panel.kind == "timeseries":
            defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    if panel.kind == "timeseries":
        out["options"] = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi"},
        }
    elif panel.kind == "heatmap":
        out["options"] = {
            "calculate": False,
            "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
            "yAxis": {"unit": panel.unit},
            "cellGap": 1,
        }
    return out


def dashboard(uid: str, title: str, panels: list[Panel], tags: tuple[str, ...]) -> dict:
    laid_out, x, y, row_height = [], 0, 0, 0
    for i, panel in enumerate(panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        laid_out.append(_panel(panel, i, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return {
        "uid": uid,
        "title": title,
        "tags": list(tags),
        "timezone": "browser",
        "refresh": "10s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": []},
        "panels": laid_out,
    }


def rate(metric: str, by: str = "", window: str = "$__rate_interval") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({metric}[{window}]))"


def _alert_panel(alert: str, title: str, expr: str, legend: str, threshold: float, unit: str, rule: str) -> Panel:
    return Panel(
        f"{alert}: {title}",
        ((expr, legend),),
        unit=unit,
        threshold=threshold,
        description=f"Alert {alert} (infra/prometheus/alerts.yml): {rule}",
    )


# One panel per alert of infra/prometheus/alerts.yml, keyed by the alert's name; each threshold is the alert's
# (tests/test_alerts.py keeps them in step). The queries use the alerts' windows, so the line is what the rule sees.
ALERT_PANELS: dict[str, Panel] = {
    panel.title.split(":")[0]: panel
    for panel in (
        _alert_panel(
            "ReplyLatencyP95High",
            "reply latency p95 (e2e, 5 m)",
            'histogram_quantile(0.95, sum by (job, le) (rate(agent_stage_latency_seconds_bucket{stage="e2e"}[5m])))',
            "{{job}}",
            1.0,
            "s",
            "above 1 s for 5 m",
        ),
        _alert_panel(
            "CallErrorRateHigh",
            "calls closed in error / all closed calls (15 m)",
            '(sum by (job) (rate(agent_calls_total{outcome="error"}[15m])) or sum by (job) '
            "(rate(agent_calls_total[15m])) * 0) / sum by (job) (rate(agent_calls_total[15m]))",
            "{{job}}",
            0.05,
            "percentunit",
            "above 5 % (and at least two failed calls) for 5 m",
        ),
        _alert_panel(
            "SpeechErrorRateHigh",
            "STT / TTS errors per voice turn (10 m)",
            "sum by (job, component) (rate(agent_speech_errors_total[10m])) / on (job) group_left () "
            'sum by (job) (rate(agent_stage_latency_seconds_count{stage="e2e"}[10m]))',
            "{{job}} {{component}}",
            0.05,
            "percentunit",
            "above 5 % of turns for 5 m (or errors where no turn was ever timed)",
        ),
        _alert_panel(
            "OutboxBacklogHigh",
            "events not yet delivered to the broker",
            "max by (job, instance) (agent_outbox_backlog_events)",
            "{{job}} {{instance}}",
            100,
            "short",
            "above 100 events for 10 m",
        ),
        _alert_panel(
            "RecorderLagHigh",
            "recorder lag p95, commit time - event time (10 m)",
            "histogram_quantile(0.95, sum by (le) (rate(recorder_lag_seconds_bucket[10m])))",
            "p95",
            30,
            "s",
            "above 30 s for 10 m",
        ),
        _alert_panel(
            "RecorderStalled",
            "seconds since the recorder's last commit",
            "time() - max(recorder_last_commit_timestamp_seconds)",
            "since last commit",
            600,
            "s",
            "above 10 m (or no recorder metrics) while the agent produces events, for 5 m",
        ),
        _alert_panel(
            "DoNotContactViolation",
            "calls started to do-not-contact numbers (10 m)",
            "sum by (job) (increase(agent_do_not_contact_violations_total[10m]))",
            "{{job}}",
            0,
            "short",
            "any increase, at once (critical: must stay 0)",
        ),
        _alert_panel(
            "TargetDown",
            "scrape targets not answering",
            "sum by (job) (up == bool 0)",
            "{{job}}",
            0,
            "short",
            "a target down for 5 m",
        ),
    )
}


def dashboards() -> list[dict]:
    learning = [
        Panel(
            "Greedy-evaluation success rate per run",
            (("max by (algo, k, real_ratio, world_model, seed) (training_eval_success_rate)", RUN),),
            unit="percentunit",
        ),
        Panel(
            "DQN vs DDQ: mean evaluation success over seeds",
            (("avg by (algo, k) (training_eval_success_rate)", "{{algo}} K={{k}}"),),
            unit="percentunit",
        ),
        Panel(
            "Rolling success rate (last 100 training episodes)", (("training_success_rate", RUN),), unit="percentunit"
        ),
        Panel("Rolling return (last 100 training episodes)", (("training_rolling_return", RUN),)),
        Panel("Losses (TD, world model)", (("training_loss", "{{loss}} " + RUN),)),
        Panel("Exploration rate", (("training_epsilon", RUN),), unit="percentunit"),
        Panel("Real vs imagined transitions", (("sum by (kind) (training_samples)", "{{kind}}"),), width=24),
    ]
    policy = [
        Panel(
            "Action x intent (live calls, executed strategies)",
            (("sum by (action, intent) (agent_actions_total)", "{{action}} / {{intent}}"),),
            kind="table",
            instant=True,
        ),
        Panel(
            "Actions over time (live calls)",
            ((f"{rate('agent_actions_total', 'action')}", "{{action}}"),),
            kind="heatmap",
        ),
        Panel(
            "Actions per persona (simulated training)",
            (("sum by (persona, action) (training_persona_actions_total)", "{{persona}} / {{action}}"),),
            kind="table",
            instant=True,
        ),
        Panel("Q-value spread: mean max-Q per episode", (("training_q_value_mean", RUN),)),
        Panel(
            "Guard overrides by rule",
            ((rate("agent_guard_overrides_total", "rule"), "{{rule}}"),),
            unit="ops",
            width=24,
        ),
    ]
    latency = [
        Panel(
            "p50 turn latency per stage",
            (
                (
                    "histogram_quantile(0.5, sum by (le, stage) "
                    "(rate(agent_stage_latency_seconds_bucket[$__rate_interval])))",
                    "{{stage}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "p95 turn latency per stage",
            (
                (
                    "histogram_quantile(0.95, sum by (le, stage) "
                    "(rate(agent_stage_latency_seconds_bucket[$__rate_interval])))",
                    "{{stage}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "End-to-end latency distribution",
            (('sum by (le) (increase(agent_stage_latency_seconds_bucket{stage="e2e"}[$__rate_interval]))', "{{le}}"),),
            kind="heatmap",
            unit="s",
            width=24,
        ),
        Panel(
            "Barge-ins: share of turns that cut the agent's line short",
            (
                (
                    "sum(rate(agent_barge_in_heard_seconds_count[$__rate_interval])) / "
                    'sum(rate(agent_stage_latency_seconds_count{stage="engine"}[$__rate_interval]))',
                    "barge-ins / turns",
                ),
            ),
            unit="percentunit",
        ),
        Panel(
            "How long the agent's line had played when cut short (p50, p95)",
            tuple(
                (
                    f"histogram_quantile({q}, sum by (le) "
                    "(rate(agent_barge_in_heard_seconds_bucket[$__rate_interval])))",
                    f"p{round(q * 100)}",
                )
                for q in (0.5, 0.95)
            ),
            unit="s",
        ),
    ]
    calls = [
        Panel("Calls by outcome", ((rate("agent_calls_total", "outcome"), "{{outcome}}"),), unit="ops"),
        Panel(
            "Success rate (commitments / closed calls, 5 min)",
            (('sum(rate(agent_calls_total{outcome="commitment"}[5m])) / sum(rate(agent_calls_total[5m]))', "success"),),
            unit="percentunit",
        ),
        Panel(
            "Recovery (committed value / balance, mean over calls, 5 min)",
            (
                (
                    "sum(rate(agent_call_recovery_ratio_sum[5m])) / sum(rate(agent_call_recovery_ratio_count[5m]))",
                    "recovery",
                ),
            ),
            unit="percentunit",
        ),
        Panel("Compliance rules fired", ((rate("agent_guard_rules_total", "rule"), "{{rule}}"),), unit="ops"),
        Panel("Do-not-contact marks", (("sum(agent_do_not_contact_total)", "do-not-contact"),), kind="stat", width=8),
        Panel("Outbox backlog", (("sum(agent_outbox_backlog_events)", "events"),), kind="stat", width=8),
        Panel(
            "STT / TTS errors",
            (("sum by (component) (agent_speech_errors_total)", "{{component}}"),),
            kind="stat",
            width=8,
        ),
    ]
    return [
        dashboard("debt-learning", "Learning", learning, ("training",)),
        dashboard("debt-policy", "Policy", policy, ("policy",)),
        dashboard("debt-voice-latency", "Voice latency", latency, ("runtime",)),
        dashboard("debt-calls", "Calls", calls, ("runtime", "compliance")),
        dashboard("debt-alerts", "Alerts", list(ALERT_PANELS.values()), ("runtime", "alerts")),
    ]


def export(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for board in dashboards():
        path = folder / f"{board['uid']}.json"
        path.write_text(json.dumps(board, indent=2) + "\n")
        paths.append(path)
    return paths


def push(url: str, token: str | None) -> list[str]:
    """Create the folder if missing and upsert every dashboard (overwrite), so repeated pushes are idempotent."""
    from grafana_client import GrafanaApi, TokenAuth

    api = GrafanaApi.from_url(url, credential=TokenAuth(token) if token else None)
    if not any(f.get("uid") == FOLDER_UID for f in api.folder.get_all_folders()):
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
    pushed = []
    for board in dashboards():
        api.dashboard.update_dashboard(
            {
                "dashboard": {**board, "id": None},
                "folderUid": FOLDER_UID,
                "overwrite": True,
                "message": "provisioned by telemetry.dashboards",
            }
        )
        pushed.append(board["uid"])
    return pushed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    export_parser = commands.add_parser("export", help="one JSON file per dashboard")
    export_parser.add_argument("dir", type=Path, help="folder for the JSON files (e.g. infra/grafana/dashboards)")
    push_parser = commands.add_parser("push", help="through the Grafana HTTP API")
    push_parser.add_argument("--url", required=True, help="Grafana base URL; the token comes from GRAFANA_TOKEN")
    args = parser.parse_args()
    if args.command == "export":
        for path in export(args.dir):
            print(path)
        return
    from grafana_client.client import GrafanaException

    token = load_settings().grafana_token
    try:
        pushed = push(args.url, token.get_secret_value() if token else None)
    except (GrafanaException, OSError) as exc:  # unreachable (a connection error is an OSError) or refused
        unset = "" if token else " (GRAFANA_TOKEN is not set)"
        raise SystemExit(f"error: could not push the dashboards to {args.url}{unset}: {exc}") from None
    for uid in pushed:
        print(f"pushed {uid}")


if __name__ == "__main__":
    main()
