from datetime import date

import pytest

from agent_runtime.contracts.facts import CallFacts
from agent_runtime.dst.tracker import DialogueStateTracker


@pytest.fixture(scope="session")
def tracker() -> DialogueStateTracker:
    return DialogueStateTracker()


@pytest.fixture
def facts() -> CallFacts:
    return CallFacts(
        debtor_name="Sam Rivera",
        balance=1200.0,
        days_overdue=90,
        due_date=date(2025, 10, 1),
        timezone="America/Chicago",
        creditor="Northwind Bank",
    )
