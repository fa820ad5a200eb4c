"""`python -m agent_runtime dev|start|console|connect ...` runs the LiveKit worker (agent_runtime/worker.py);
`python -m agent_runtime simulate ...` calls simulated debtors (agent_runtime/simulate.py)."""

from __future__ import annotations

import argparse
import os
import sys

WORKER_COMMANDS = ("dev", "start", "console", "connect", "download-files")
NEEDS_SERVER = ("dev", "start", "connect")


def run_worker(command: str) -> int:
    if command in NEEDS_SERVER and not (os.environ.get("LIVEKIT_URL") or "--url" in sys.argv):
        print(
            f"error: `{command}` needs a LiveKit server: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET "
            "(or pass --url/--api-key/--api-secret); `console` and `simulate` work without one.",
            file=sys.stderr,
        )
        return 2
    from agent_runtime.worker import check_settings, server

    try:
        check_settings(command)  # bad settings or a missing or mismatched checkpoint fail here, never mid-call
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from livekit.agents import cli

    cli.run_app(server)
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] in WORKER_COMMANDS:
        return run_worker(sys.argv[1])
    from agent_runtime import simulate

    parser = argparse.ArgumentParser(prog="python -m agent_runtime", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in WORKER_COMMANDS:
        commands.add_parser(name, help="LiveKit worker command (see `python -m agent_runtime dev --help`)")
    simulate.add_arguments(commands.add_parser("simulate", help="calls with simulated debtors"))
    args = parser.parse_args()
    simulate.main(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
