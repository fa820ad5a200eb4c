"""The alert rules (infra/prometheus/alerts.yml): promtool accepts them, their unit tests pass (each alert fires on a
faulty series and stays quiet on a healthy one), they use only defined metrics, and each has its Grafana panel.

promtool comes with Debian's `prometheus` package (infra/apt-test.txt): without it these tests fail, never skip."""

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from telemetry.dashboards import ALERT_PANELS, dashboards
from telemetry.metrics import RecorderMetrics, RuntimeMetrics

PROMETHEUS = Path(__file__).resolve().parent.parent / "infra/prometheus"
RULES = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
ALERTS = {rule["alert"]: rule for group in RULES["groups"] for rule in group["rules"]}
METRIC = r"\b(?:agent|recorder)_[a-z_]+\b"


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: install the Debian package prometheus (infra/apt-test.txt, `make test-deps`)"
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_promtool_accepts_the_alert_rules():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_the_alerts_unit_tests_pass():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_unit_tested_firing_and_quiet():
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    assert tests["rule_files"] == ["alerts.yml"]
    cases = [case for test in tests["tests"] for case in test.get("alert_rule_test", [])]
    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert fires == set(ALERTS), "an alert without a test where it fires"
    assert quiet == set(ALERTS), "an alert without a test where it stays quiet"


def test_the_rules_are_what_prometheus_yml_loads_and_carry_a_severity_and_threshold():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    for name, rule in ALERTS.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert {"summary", "description", "threshold"} <= set(rule["annotations"]), name
        threshold = rule["annotations"]["threshold"]
        # the annotation is the number the expression compares with, not a stale copy
        assert re.search(rf"(?:>|>=|==)\s*{re.escape(threshold)}(?![\d.])", rule["expr"]), (name, threshold)
    assert ALERTS["DoNotContactViolation"]["labels"]["severity"] == "critical"
    assert "for" not in ALERTS["DoNotContactViolation"]  # no waiting: one violation is one too many


def _defined_metrics() -> set[str]:
    registry = CollectorRegistry()
    RuntimeMetrics(registry)
    RecorderMetrics(registry)
    suffixes = ("", "_total", "_bucket", "_sum", "_count")
    return {f"{metric.name}{suffix}" for metric in registry.collect() for suffix in suffixes}


def test_every_alert_uses_a_defined_metric():
    names = _defined_metrics()
    for name, rule in ALERTS.items():
        used = set(re.findall(METRIC, rule["expr"]))
        assert used or "up" in rule["expr"], name
        assert used <= names, f"{name}: unknown metrics {used - names}"


def test_every_alert_has_a_panel_with_its_threshold():
    assert set(ALERT_PANELS) == set(ALERTS)
    (board,) = [board for board in dashboards() if board["uid"] == "debt-alerts"]
    shown = {panel["title"].split(":")[0]: panel for panel in board["panels"]}
    assert set(shown) == set(ALERTS)
    for name, rule in ALERTS.items():
        panel = ALERT_PANELS[name]
        assert panel.threshold == float(rule["annotations"]["threshold"]), name
        steps = shown[name]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[-1]["value"] == panel.threshold
        # the panel watches what the alert watches
        (expr,) = [expr for expr, _ in panel.exprs]
        assert set(re.findall(METRIC, expr)) <= set(re.findall(METRIC, rule["expr"])), name
        assert set(re.findall(METRIC, expr)) or "up" in expr


def test_every_dashboard_query_is_valid_promql(tmp_path):
    """promtool parses each panel's query as a recording rule (Grafana's $__ variables replaced as Grafana does)."""
    rules = [
        {"record": f"panel_{i}", "expr": target["expr"].replace("$__rate_interval", "1m").replace("$__range", "1h")}
        for i, target in enumerate(t for board in dashboards() for panel in board["panels"] for t in panel["targets"])
    ]
    (tmp_path / "panels.yml").write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = promtool("check", "rules", "panels.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
