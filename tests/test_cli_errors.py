"""The command lines as a user meets them: a bad value is a usage error (exit 2) naming the option, `--help` needs
no environment and shows the defaults, no default output is a shipped artefact, and a known error is one line on
stderr with a non-zero exit, never a traceback. Each runs the real command in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_runtime.__main__ import WORKER_COMMANDS
from agent_runtime.dst.classifier import MODEL_PATH
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[1]
# Wide enough that help text never wraps a default or a path.
BARE_ENV = {"PATH": os.environ["PATH"], "COLUMNS": "250"}


def run_together(calls: list[tuple[str, tuple[str, ...], dict | None]]) -> list[subprocess.CompletedProcess]:
    """`python -m MODULE ARGS` in `env` (None: this one's) for each call, all at once: they mostly wait on imports."""
    started = [
        subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for module, args, env in calls
    ]
    results = []
    for process in started:
        stdout, stderr = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return results


def run_cli(module: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_together([(module, args, env)])[0]


def assert_one_clear_line(result: subprocess.CompletedProcess, naming: str) -> None:
    """A non-zero exit, no traceback, and a line of stderr that names the problem."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert any(naming in line for line in result.stderr.splitlines()), result.stderr


@pytest.mark.parametrize(
    ("module", "args", "option"),
    [
        ("training.evaluate", ("--episodes", "0"), "--episodes"),
        ("training.evaluate", ("--episodes", "-5"), "--episodes"),
        ("training.evaluate", ("--episodes", "1", "--stt-noise", "1.5", "--no-progress"), "--stt-noise"),
        ("training.train", ("--episodes", "0"), "--episodes"),
        ("training.train", ("--episodes", "1", "--stt-noise", "1.5", "--no-progress"), "--stt-noise"),
        ("agent_runtime", ("simulate", "--text", "--calls", "-3"), "--calls"),
    ],
)
def test_a_bad_value_is_a_usage_error_before_anything_is_written(tmp_path, module, args, option):
    out = tmp_path / "out"
    result = run_cli(module, *args, *(() if module == "training.evaluate" else ("--out", str(out))))
    assert_one_clear_line(result, option)
    assert result.returncode == 2
    assert not out.exists()


@pytest.mark.parametrize(
    ("module", "args", "naming"),
    [
        ("training.evaluate", ("--policy", "missing.pt", "--episodes", "1"), "no checkpoint at missing.pt"),
        ("training.train", ("--episodes", "1", "--env", "gymnasium:NoSuchEnv-v0"), "NoSuchEnv"),
        ("training.train", ("--env", "debtor"), "--episodes"),
        ("training.train", ("--episodes", "1", "--world-model", "debtor", "--k", "2"), "--k, --world-model only apply"),
        ("agent_runtime", ("simulate", "--text", "--calls", "1", "--policy", "nonsense"), "nonsense"),
    ],
)
def test_a_known_error_is_one_line_and_writes_nothing(tmp_path, module, args, naming):
    out = tmp_path / "out"
    result = run_cli(module, *args, *(() if module == "training.evaluate" else ("--out", str(out))))
    assert_one_clear_line(result, naming)
    assert not out.exists()


def test_every_runtime_subcommand_gives_help_whatever_the_environment():
    broken = {**BARE_ENV, "TTS_BACKEND": "festival"}  # a bad setting must not stand between a user and --help
    subcommands = [*WORKER_COMMANDS, "simulate", "web", "chat", "settings"]
    calls = [("agent_runtime", (command, "--help"), env) for command in subcommands for env in (BARE_ENV, broken)]
    failed = {
        (args[0], env is broken): result.stderr[-300:]
        for (_, args, env), result in zip(calls, run_together(calls), strict=True)
        if result.returncode != 0 or "usage" not in result.stdout.lower() or "Traceback" in result.stderr
    }
    assert not failed


def test_help_shows_the_defaults():
    shown = {
        ("agent_runtime", ("simulate", "--help")): ("(default: 4)", "(default: runs/simulate)"),
        ("training.evaluate", ("--help",)): ("(default: 2000)",),
        ("training.train", ("--help",)): ("(default: runs/latest)",),
        ("training.report", ("--help",)): ("(default: 200)",),
        ("training.train_dst", ("--help",)): ("(default: runs/dst/intent_model.npz)",),
    }
    results = run_together([(module, args, BARE_ENV) for module, args in shown])
    assert all(result.returncode == 0 for result in results)
    missing = [
        (module, default)
        for ((module, _), defaults), result in zip(shown.items(), results, strict=True)
        for default in defaults
        if default not in result.stdout
    ]
    assert not missing


def test_train_dst_never_overwrites_the_shipped_model_by_default():
    from training.train_dst import Args

    assert Args().out.resolve() != MODEL_PATH.resolve()
    shown = run_cli("training.train_dst", "--help", env=BARE_ENV).stdout
    assert str(MODEL_PATH.relative_to(ROOT)) in shown  # how to replace it, explicitly


def test_report_plots_a_cartpole_run_in_its_documented_usage(tmp_path):
    run, plots = tmp_path / "cartpole", tmp_path / "plots"
    trained = run_cli(
        "training.train",
        *("--env", "gymnasium:CartPole-v1", "--episodes", "3", "--eval-episodes", "2", "--no-progress"),
        *("--out", str(run)),
    )
    assert trained.returncode == 0, trained.stderr
    result = run_cli("training.report", "--runs", str(run), "--out", str(plots))
    assert result.returncode == 0, result.stderr
    assert {path.name for path in plots.iterdir()} == {"learning_curves.png", "q_values.png"}
    assert (plots / "learning_curves.png").read_bytes().startswith(b"\x89PNG")
    assert "actions_by_persona.png" in result.stderr  # the note on the debtor-only plots left out


def test_report_refuses_a_folder_that_is_no_run(tmp_path):
    result = run_cli("training.report", "--runs", str(tmp_path / "missing"), "--out", str(tmp_path / "plots"))
    assert_one_clear_line(result, str(tmp_path / "missing"))
    assert not (tmp_path / "plots").exists()


def test_dashboard_push_without_grafana_is_one_line():
    result = run_cli("telemetry.dashboards", "push", "--url", f"http://127.0.0.1:{free_port()}", env=BARE_ENV)
    assert_one_clear_line(result, "GRAFANA_TOKEN")
