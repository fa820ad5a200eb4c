from datetime import date

import pytest

from agent_runtime.call import CallController
from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.nlg import TemplateNLG
from agent_runtime.policy_source import load_policy


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


@pytest.fixture
def constant_call(facts, tracker):
    """make(action, **options): a call on `facts` whose policy always picks `action` (no Q-values), on a fixed date."""

    def make(action: Action, **options) -> CallController:
        policy = load_policy(f"constant:{action.label}")
        return CallController(facts, policy, tracker, TemplateNLG(seed=0), date(2026, 1, 5), **options)

    return make
