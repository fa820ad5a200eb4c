import re
import subprocess
import sys
from datetime import UTC, datetime

import pexpect
import torch

from agent_runtime.contracts.actions import ACTION_SET_VERSION, Action
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.events.store import read_events
from agent_runtime.nlg import STRATEGIES
from policy.checkpoint import save_checkpoint
from policy.dqn import DQNConfig, QLearner
from policy.metadata import CheckpointMetadata


def _run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agent_runtime", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_dev_and_start_without_a_livekit_url_fail_clearly():
    env = {"PATH": "/usr/bin:/bin"}
    for command in ("dev", "start"):
        result = _run(command, env=env)
        assert result.returncode == 2
        assert "LIVEKIT_URL" in result.stderr and "Traceback" not in result.stderr


def test_a_mismatched_policy_checkpoint_fails_at_start_not_mid_call(tmp_path):
    torch.manual_seed(0)
    learner = QLearner(STATE_SIZE, 9, DQNConfig(hidden=(8,)))
    stale = save_checkpoint(
        tmp_path / "stale.pt",
        CheckpointMetadata(
            algorithm="dqn",
            hyperparameters={},
            obs_spec_version="state.v0",
            action_set_version=ACTION_SET_VERSION,
            obs_size=STATE_SIZE,
            n_actions=9,
        ),
        learner.q_network.state_dict(),
    )
    env = {"PATH": "/usr/bin:/bin", "LIVEKIT_URL": "ws://127.0.0.1:9", "POLICY_CHECKPOINT": str(stale)}
    result = _run("start", env=env)
    assert result.returncode == 2 and "obs_spec_version" in result.stderr and "state.v0" in result.stderr
    missing = _run("start", env={**env, "POLICY_CHECKPOINT": str(tmp_path / "missing.pt")})
    assert missing.returncode == 2 and "no checkpoint" in missing.stderr


def _midday_timezone() -> str:
    """An IANA zone where it is now about noon, so that the permitted-hours rule lets the call through."""
    hours_ahead_of_utc = 12 - datetime.now(UTC).hour  # -11 .. 12
    return f"Etc/GMT{-hours_ahead_of_utc:+d}"  # POSIX sign: Etc/GMT-5 is UTC+5


def test_settings_are_checked_at_start():
    env = {"PATH": "/usr/bin:/bin", "LIVEKIT_URL": "ws://127.0.0.1:9"}
    no_key = _run("start", env={**env, "STT_BACKEND": "openai"})
    assert no_key.returncode == 2 and "set OPENAI_API_KEY" in no_key.stderr and "Traceback" not in no_key.stderr
    unknown = _run("start", env={**env, "TTS_BACKEND": "festival"})
    assert unknown.returncode == 2 and "espeak, piper, openai" in unknown.stderr
    console = _run("console", env={"PATH": "/usr/bin:/bin"})
    assert console.returncode == 2 and "set CALL_FACTS" in console.stderr


def test_console_text_mode_answers_a_typed_debtor_line(tmp_path, facts):
    """`console --text` needs libportaudio2 (infra/apt-packages.txt) and a terminal, hence pexpect."""
    call_facts = facts.model_copy(update={"timezone": _midday_timezone()}).model_dump_json()
    env = {
        "PATH": "/usr/bin:/bin",
        "TERM": "xterm",
        "CALL_FACTS": call_facts,
        "POLICY_CHECKPOINT": "constant:empathetic_listening",
        "EVENTS_DB": str(tmp_path / "events.db"),
    }
    console = pexpect.spawn(
        sys.executable,
        ["-m", "agent_runtime", "console", "--text", "--log-level", "warn"],
        env=env,
        encoding="utf-8",
        timeout=90,
        dimensions=(40, 400),
    )
    try:
        console.expect("Type to talk")
        console.send("I lost my job and I cannot pay right now\r")
        replies = STRATEGIES[Action.EMPATHETIC_LISTENING]
        console.expect("|".join(re.escape(reply[:40]) for reply in replies), timeout=60)
    finally:
        console.terminate(force=True)
    (turn,) = [event for event in read_events(tmp_path / "events.db") if event["type"] == "turn"]
    assert turn["user_text"] == "I lost my job and I cannot pay right now"
    assert turn["executed_action"] == int(Action.EMPATHETIC_LISTENING)
