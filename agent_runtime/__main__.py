"""`python -m agent_runtime simulate ...`: the agent against simulated debtors (see agent_runtime/simulate.py).

The LiveKit worker commands (dev, start, console) arrive with the voice runtime.
"""

from __future__ import annotations

import argparse

from agent_runtime import simulate


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m agent_runtime", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    simulate.add_arguments(commands.add_parser("simulate", help="calls with simulated debtors"))
    args = parser.parse_args()
    simulate.main(args)


if __name__ == "__main__":
    main()
