from datetime import date

import pytest

from agent_runtime.call import CallController
from agent_runtime.chat import DEFAULT_FACTS
from agent_runtime.contracts.actions import ACTION_SET_VERSION, Action
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.state import STATE_SIZE, STATE_SPEC_VERSION
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.nlg import TemplateNLG
from agent_runtime.policy_source import load_policy


@pytest.fixture(scope="session")
def tracker() -> DialogueStateTracker:
    return DialogueStateTracker()


@pytest.fixture
def facts() -> CallFacts:
    return DEFAULT_FACTS  # the sample account of `chat`


@pytest.fixture
def constant_call(facts, tracker):
    """make(action, **options): a call on `facts` whose policy always picks `action` (no Q-values), on a fixed date,
    with the debtor already reached (verify=True starts at the contact phase, as live calls do)."""

    def make(action: Action, **options) -> CallController:
        options.setdefault("verify", False)
        policy = load_policy(f"constant:{action.label}")
        return CallController(facts, policy, tracker, TemplateNLG(seed=0), date(2026, 1, 5), **options)

    return make


@pytest.fixture
def debtor_checkpoint(tmp_path):
    """make(name, poison=None, **metadata): a small debtor Q-network saved as NAME (.pt, with its .safetensors twin);
    `poison` goes into one weight (NaN or inf), metadata fields override the matching ones."""
    import torch

    from policy.checkpoint import save_checkpoint
    from policy.dqn import DQNConfig, QLearner
    from policy.metadata import CheckpointMetadata

    def make(name: str = "c.pt", poison: float | None = None, **metadata):
        torch.manual_seed(0)
        weights = QLearner(STATE_SIZE, 9, DQNConfig(hidden=(16,))).q_network.state_dict()
        if poison is not None:
            weights["net.0.weight"][3, 5] = poison
        fields = {
            "algorithm": "dqn",
            "hyperparameters": {},
            "obs_spec_version": STATE_SPEC_VERSION,
            "action_set_version": ACTION_SET_VERSION,
            "obs_size": STATE_SIZE,
            "n_actions": 9,
        }
        return save_checkpoint(tmp_path / name, CheckpointMetadata(**(fields | metadata)), weights)

    return make
