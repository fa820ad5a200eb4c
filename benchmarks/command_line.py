"""The command that reproduces a benchmark's report, as the report records it."""

from __future__ import annotations

import argparse


def command_line(module: str, args: argparse.Namespace, *, leave_out: tuple[str, ...] = ()) -> str:
    """`python -m MODULE` with every option of `args` spelled out (a list as its values; an empty one left out),
    except those named in `leave_out`."""
    options = [
        f"--{name.replace('_', '-')} {' '.join(map(str, value)) if isinstance(value, list) else value}"
        for name, value in vars(args).items()
        if name not in leave_out and value != []
    ]
    return " ".join([f"python -m {module}", *options])
