"""`python -m agent_runtime COMMAND`:

    dev | start | console | connect   the LiveKit worker (agent_runtime.worker; COMMAND --help for its options)
    simulate                          calls with simulated debtors (agent_runtime.simulate)
    chat                              a scripted text call: debtor lines on stdin, JSON agent turns on stdout
    web                               the web console: talk to the agent in a browser (agent_runtime.web)
    settings                          the effective settings, secrets masked (agent_runtime.settings)
    dispatch                          call a list of accounts after the campaign rules (agent_runtime.dispatch)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

WORKER_COMMANDS = ("dev", "start", "console", "connect", "download-files")
NEEDS_SERVER = ("dev", "start", "connect")


def serve_worker_metrics(port: int, folder: Path | None) -> None:
    """/metrics for the worker's job processes: each writes its own files in one folder, this process sums them.
    The folder must be in the environment before any process imports prometheus_client."""
    folder = folder or Path(tempfile.gettempdir()) / f"agent-metrics-{port}"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # an earlier run's counters would be summed in
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    from telemetry.exporter import serve_metrics

    serve_metrics(port, addr="0.0.0.0", multiprocess_dir=folder)


def run_worker(command: str) -> int:
    if "--help" not in sys.argv and "-h" not in sys.argv:  # help needs no settings, nor valid ones
        problem = prepare_worker(command)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    from livekit.agents import cli

    from agent_runtime.worker import server

    cli.run_app(server)
    return 0


def prepare_worker(command: str) -> str | None:
    """Check what the worker needs and serve its /metrics if asked; returns why it cannot start (bad settings, no
    LiveKit server, a missing or mismatched checkpoint), or None."""
    from agent_runtime.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        return str(exc)
    if command in NEEDS_SERVER and not (settings.livekit_url or "--url" in sys.argv):
        return (
            f"`{command}` needs a LiveKit server: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET "
            "(or pass --url/--api-key/--api-secret); `console` and `simulate` work without one."
        )
    if settings.metrics_port:
        serve_worker_metrics(settings.metrics_port, settings.prometheus_multiproc_dir)
    from agent_runtime.worker import check_settings

    try:
        check_settings(command)  # a missing or mismatched checkpoint fails here, never mid-call
    except Exception as exc:
        return str(exc)
    return None


def print_settings() -> int:
    from agent_runtime.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    shown = settings.masked()
    width = max(map(len, shown))
    for name, value in shown.items():
        print(f"{name:<{width}}  {value}")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] in WORKER_COMMANDS:
        return run_worker(sys.argv[1])
    parser = argparse.ArgumentParser(
        prog="python -m agent_runtime", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in WORKER_COMMANDS:
        commands.add_parser(name, help="LiveKit worker command (see `python -m agent_runtime dev --help`)")
    from agent_runtime import simulate

    simulate.add_arguments(
        commands.add_parser(
            "simulate", help="calls with simulated debtors", formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )
    )
    from agent_runtime import web

    web.add_arguments(commands.add_parser("web", help="the web console (voice and text, turn cards, training)"))
    from agent_runtime import chat

    chat.add_arguments(commands.add_parser("chat", help="a scripted text call (stdin -> JSON lines)"))
    commands.add_parser("settings", help="the effective settings, secrets masked")
    from agent_runtime import dispatch

    dispatch.add_arguments(commands.add_parser("dispatch", help="call a list of accounts through LiveKit (SIP)"))
    args = parser.parse_args()
    if args.command == "settings":
        return print_settings()
    if args.command == "chat":
        return chat.main(args)
    if args.command == "dispatch":
        return dispatch.main(args)
    if args.command == "web":
        from agent_runtime.web import server

        try:
            return server.main(args)
        except (ValueError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    from agent_runtime.events.mqtt import BrokerRefusedError

    try:
        simulate.main(args)
    except BrokerRefusedError as exc:  # before the first call (agent_runtime.services.event_outbox)
        print(f"error: --mqtt: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
