import re
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime

import pexpect

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.events.store import read_events
from agent_runtime.nlg import STRATEGIES
from tests.services import free_port


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


def test_a_mismatched_policy_checkpoint_fails_at_start_not_mid_call(tmp_path, debtor_checkpoint):
    stale = debtor_checkpoint("stale.pt", obs_spec_version="state.v0")
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


def _console(tmp_path, facts, metrics_port: int | None = None) -> pexpect.spawn:
    """`console --text` needs libportaudio2 (infra/apt-runtime.txt) and a terminal, hence pexpect."""
    call_facts = facts.model_copy(update={"timezone": _midday_timezone()}).model_dump_json()
    env = {
        "PATH": "/usr/bin:/bin",
        "TERM": "xterm",
        "CALL_FACTS": call_facts,
        "POLICY_CHECKPOINT": "constant:empathetic_listening",
        "EVENTS_DB": str(tmp_path / "events.db"),
    }
    if metrics_port:
        env |= {"METRICS_PORT": str(metrics_port), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    console = pexpect.spawn(
        sys.executable,
        ["-m", "agent_runtime", "console", "--text", "--log-level", "warn"],
        env=env,
        encoding="utf-8",
        codec_errors="replace",  # the console's UI redraws can split a multi-byte character between reads
        timeout=90,
        dimensions=(40, 400),
    )
    console.expect("Type to talk")
    console.send("yes, speaking\r")
    console.expect("attempt to collect a debt", timeout=60)
    console.send("I lost my job and I cannot pay right now\r")
    replies = [line for lines in STRATEGIES[Action.EMPATHETIC_LISTENING].values() for line in lines]
    console.expect("|".join(re.escape(reply[:40]) for reply in replies), timeout=60)
    return console


def _stop(console: pexpect.spawn, *, must_exit: bool = True) -> None:
    console.sendintr()  # Ctrl-C
    try:
        console.expect(pexpect.EOF, timeout=30)
    except pexpect.TIMEOUT:
        # livekit's console UI sometimes spins after Ctrl-C once the session has closed (about 1 run in 5); the
        # call is over and logged by then, which is what the tests check
        if must_exit:
            raise
    finally:
        console.terminate(force=True)


def test_console_answers_a_typed_line_serves_its_metrics_and_ctrl_c_closes_the_call_as_interrupted(tmp_path, facts):
    port = free_port()
    console = _console(tmp_path, facts, metrics_port=port)
    try:
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    finally:
        _stop(console)
    assert 'agent_actions_total{action="empathetic_listening",intent="hardship"} 1.0' in metrics
    assert 'agent_stage_latency_seconds_count{stage="engine"} 2.0' in metrics  # the verification turn, the answer
    events = list(read_events(tmp_path / "events.db"))
    verification, turn = [event for event in events if event.type == "turn"]
    assert verification.guard_rule.value == "disclosure" and verification.executed_action is None
    assert turn.user_text == "I lost my job and I cannot pay right now"
    assert turn.executed_action is Action.EMPATHETIC_LISTENING
    (closed,) = [event for event in events if event.type == "call_closed"]
    assert closed.outcome.kind is OutcomeKind.INTERRUPTED and closed.turns == 2


def test_console_call_that_ended_stays_ended(tmp_path, facts):
    """After a cease request the closing line is spoken and the session ends: a later line is not answered and
    nothing crashes."""
    console = _console(tmp_path, facts)
    console.send("stop calling me\r")
    console.expect("(?i)further|not receive", timeout=60)
    time.sleep(1)
    console.send("hello? are you still there?\r")
    time.sleep(2)
    _stop(console, must_exit=False)
    events = list(read_events(tmp_path / "events.db"))
    assert [event.user_text for event in events if event.type == "turn"] == [
        "yes, speaking",
        "I lost my job and I cannot pay right now",
        "stop calling me",
    ]
    (closed,) = [event for event in events if event.type == "call_closed"]
    assert closed.outcome.kind is OutcomeKind.CEASE and closed.outcome.do_not_contact


def test_a_checkpoint_with_nan_weights_fails_at_start(debtor_checkpoint):
    poisoned = debtor_checkpoint("nan.pt", poison=float("nan")).with_suffix(".safetensors")
    env = {"PATH": "/usr/bin:/bin", "LIVEKIT_URL": "ws://127.0.0.1:9", "POLICY_CHECKPOINT": str(poisoned)}
    result = _run("start", env=env)
    assert result.returncode == 2 and "NaN or inf" in result.stderr and "Traceback" not in result.stderr


LIVE_PATH = """
import asyncio, sys
from datetime import date
from pathlib import Path
from prometheus_client import CollectorRegistry
import agent_runtime.worker
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.policy_source import load_policy
from agent_runtime.services import CallServices, event_outbox
from agent_runtime.settings import load_settings
from telemetry.metrics import RuntimeMetrics

async def main():
    settings = load_settings()
    facts = CallFacts(debtor_name="Sam Rivera", balance=1200, days_overdue=90, due_date=date(2025, 10, 1),
                      creditor="Northwind Bank")
    async with event_outbox(Path(sys.argv[1])) as outbox:
        services = CallServices(load_policy(settings.policy_checkpoint), DialogueStateTracker(),
                                RuntimeMetrics(CollectorRegistry()), sinks=(outbox,))
        call = services.new_call(facts, today=date(2026, 1, 5), channel="text")
        await call.open()
        for line in ("who is this", "i lost my job", "i could do fifty a month", "ok that works"):
            if (await call.respond(line)).ends_call:
                break
        await call.close(OutcomeKind.INTERRUPTED)  # only if still open

asyncio.run(main())
print(sorted({m.split(".")[0] for m in sys.modules} & {"training", "simulator", "torch"}))
"""


def test_the_live_worker_and_a_text_call_load_no_trainer_no_simulator_and_no_torch(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", LIVE_PATH, str(tmp_path / "events.db")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
    kinds = [event.type for event in read_events(tmp_path / "events.db")]
    assert kinds[0] == "call_opened" and kinds.count("call_closed") == 1 and "turn" in kinds
