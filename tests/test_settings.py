"""One typed settings object (agent_runtime.settings): read in one place, validated at start, printed masked."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from agent_runtime.settings import FIELDS, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent_runtime", "policy", "simulator", "training", "telemetry", "benchmarks", "infra")


def _environment_reads(path: Path) -> list[int]:
    """Lines that read the process environment (os.environ[...] / .get / os.getenv), assignments excluded."""
    tree = ast.parse(path.read_text())
    assignments = [node for node in ast.walk(tree) if isinstance(node, ast.Assign)]
    written = {id(node.targets[0].value) for node in assignments if isinstance(node.targets[0], ast.Subscript)}
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        and (node.attr == "getenv" or (node.attr == "environ" and id(node) not in written))
    ]


def test_environment_variables_are_read_only_by_the_settings_module():
    readers = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (lines := _environment_reads(path))
    }
    readers.pop("agent_runtime/settings.py", None)  # the one reader (pydantic-settings, and children's environments)
    assert readers == {}


def test_the_settings_command_masks_secrets():
    env = {
        "PATH": "/usr/bin:/bin",
        "MQTT_PASSWORD": "hunter2-mqtt",
        "OPENAI_API_KEY": "sk-secret-value",
        "LIVEKIT_API_SECRET": "lk-secret-value",
        "STT_BACKEND": "openai",
        "METRICS_PORT": "9464",
    }
    done = subprocess.run(
        [sys.executable, "-m", "agent_runtime", "settings"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    shown = dict(line.split(maxsplit=1) for line in done.stdout.splitlines())
    assert set(shown) == {name for name, _, _ in FIELDS}
    assert shown["STT_BACKEND"] == "openai" and shown["METRICS_PORT"] == "9464"
    assert shown["MQTT_PASSWORD"] == shown["OPENAI_API_KEY"] == shown["LIVEKIT_API_SECRET"] == "******"
    assert "secret-value" not in done.stdout and "hunter2" not in done.stdout


def test_bad_settings_name_the_variable():
    with pytest.raises(SettingsError, match="METRICS_PORT"):
        load_settings(metrics_port=70000)
    with pytest.raises(SettingsError, match=r"EVENTS_MQTT_URL: .*password"):
        load_settings(events_mqtt_url="mqtt://agent:pw@broker")
    with pytest.raises(SettingsError, match="CALL_FACTS"):
        load_settings(call_facts={"debtor_name": "x"})


def test_the_readme_lists_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name, _, _ in FIELDS if f"`{name}`" not in readme]
    assert missing == []
