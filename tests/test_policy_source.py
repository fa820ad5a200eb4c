"""The runtime's policy source (agent_runtime.policy_source): specs, torch-free checkpoints, per-call policies."""

import subprocess
import sys

import numpy as np
import pytest

from agent_runtime.contracts.actions import Action
from agent_runtime.contracts.state import STATE_SIZE
from agent_runtime.policy_source import load_policy
from policy.metadata import CheckpointError
from policy.portable import portable_path

COMMITTED = "checkpoints/debtor_policy.safetensors"


def test_every_save_writes_a_torch_free_twin_that_acts_identically(debtor_checkpoint):
    path = debtor_checkpoint()
    twin = portable_path(path)
    assert twin.is_file()
    states = np.random.default_rng(0).uniform(-1, 1, (20, STATE_SIZE)).astype(np.float32)
    from_torch, from_twin = load_policy(str(path)).new_call(0), load_policy(str(twin)).new_call(0)
    for state in states:
        (a, q), (b, r) = from_torch.act(state), from_twin.act(state)
        assert a == b
        np.testing.assert_array_equal(q, r)


def test_the_committed_policy_loads_and_acts_without_torch():
    code = (
        "import sys, numpy as np\n"
        "from agent_runtime.policy_source import load_policy\n"
        f"source = load_policy({COMMITTED!r})\n"
        "action, q = source.new_call(0).act(np.zeros(64, np.float32))\n"
        "print(source.version, action, len(q), 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "debtor_policy.safetensors" and 0 <= int(out[1]) < 9 and out[2:] == ["9", "False"]


@pytest.mark.parametrize("poison", [float("nan"), float("inf"), float("-inf")])
def test_a_checkpoint_with_non_finite_weights_is_refused_in_either_format(debtor_checkpoint, poison):
    path = debtor_checkpoint(poison=poison)
    for spec in (path, portable_path(path)):
        with pytest.raises(CheckpointError, match=r"q_network weights contain NaN or inf \(net\.0\.weight\)"):
            load_policy(str(spec))


def test_a_damaged_torch_free_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(CheckpointError, match="not a readable safetensors checkpoint"):
        load_policy(str(bad))
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_policy(str(tmp_path / "missing.safetensors"))


def test_scripted_specs_and_a_clear_error_for_unknown_ones():
    state = np.zeros(STATE_SIZE, np.float32)
    assert load_policy("constant:hard_close").new_call(0).act(state) == (int(Action.HARD_CLOSE), None)
    assert load_policy("scripted:best_practice").new_call(0).act(state)[0] == int(Action.ASK_ABOUT_SITUATION)
    draws = [load_policy("random").new_call(seed).act(state)[0] for seed in (1, 1, 2)]
    assert draws[0] == draws[1]  # a call's seed fixes its random policy
    with pytest.raises(ValueError, match="unknown policy 'telepathy'"):
        load_policy("telepathy")
    with pytest.raises(ValueError, match="unknown action"):
        load_policy("constant:threaten")
