"""The web console: talk to the agent in a browser (voice or text) and watch every turn's decision.

`python -m agent_runtime web` (agent_runtime.web.server); its options are defined here, so that parsing the command
line loads none of the console.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (non-loopback needs CONSOLE_TOKEN)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--policy", help="the default policy spec (default: POLICY_CHECKPOINT)")
    parser.add_argument("--events", type=Path, help="events database (default: EVENTS_DB)")
    parser.add_argument(
        "--calls-from",
        metavar="PATH|URL",
        help="where the Calls view reads stored calls: a SQLite file, a postgresql:// URL, or database-url (the "
        "recorder's DATABASE_URL) (default: the console's own events database)",
    )
    parser.add_argument("--runs", type=Path, nargs="*", help="folders with training runs and study reports")
