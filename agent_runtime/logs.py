"""Logs without personal data, at every level: INFO by default, and what would carry a debtor's words is withheld.

Two sources would otherwise leak: aiosqlite logs every SQL call with its parameters at DEBUG (the events' payloads:
names, balances, transcripts), and LiveKit Agents attaches transcripts and identities to its records as extras named
`lk.pii.<name>` (its own marking of personal data). The filter drops the first and blanks the second. It sits on the
loggers themselves, so it runs in the process that logs, before LiveKit forwards a job process's records to the
worker's handlers. The project's own log lines name calls by id and never include texts, names or amounts.
"""

from __future__ import annotations

import logging

WITHHELD = "[withheld]"
PII_MARK = "pii."  # LiveKit's marking: an extra named lk.pii.<name> holds personal data
SQL_LOGGERS = ("aiosqlite",)
LIVEKIT_LOGGERS = ("livekit", "livekit.agents")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PrivateDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(SQL_LOGGERS) and record.levelno < logging.WARNING:
            return False
        for key in [key for key in vars(record) if PII_MARK in key]:
            setattr(record, key, WITHHELD)
        return True


_FILTER = PrivateDataFilter()


def protect_logs() -> None:
    """Put the filter on every logger that could carry personal data (idempotent)."""
    for name in (*SQL_LOGGERS, *LIVEKIT_LOGGERS):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for handler in logging.getLogger().handlers:  # records of child loggers reach these without their parents' filters
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


def configure_logging(level: int | str = logging.INFO) -> None:
    """A command's logging: one line per record on stderr, at `level` (INFO unless asked), personal data withheld."""
    logging.basicConfig(level=level, format=FORMAT)
    protect_logs()
