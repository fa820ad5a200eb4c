import subprocess
import sys

import torch

from agent_runtime.contracts.actions import ACTION_SET_VERSION
from agent_runtime.contracts.state import STATE_SIZE
from policy.checkpoint import save_checkpoint
from policy.dqn import DQNConfig, QLearner
from policy.metadata import CheckpointMetadata


def _run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agent_runtime", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_dev_and_start_without_a_livekit_url_fail_clearly():
    env = {"PATH": "/usr/bin:/bin"}
    for command in ("dev", "start"):
        result = _run(command, env=env)
        assert result.returncode == 2
        assert "LIVEKIT_URL" in result.stderr and "Traceback" not in result.stderr


def test_a_mismatched_policy_checkpoint_fails_at_start_not_mid_call(tmp_path):
    torch.manual_seed(0)
    learner = QLearner(STATE_SIZE, 9, DQNConfig(hidden=(8,)))
    stale = save_checkpoint(
        tmp_path / "stale.pt",
        CheckpointMetadata(
            algorithm="dqn",
            hyperparameters={},
            obs_spec_version="state.v0",
            action_set_version=ACTION_SET_VERSION,
            obs_size=STATE_SIZE,
            n_actions=9,
        ),
        learner.q_network.state_dict(),
    )
    env = {"PATH": "/usr/bin:/bin", "LIVEKIT_URL": "ws://127.0.0.1:9", "POLICY_CHECKPOINT": str(stale)}
    result = _run("start", env=env)
    assert result.returncode == 2 and "obs_spec_version" in result.stderr and "state.v0" in result.stderr
    missing = _run("start", env={**env, "POLICY_CHECKPOINT": str(tmp_path / "missing.pt")})
    assert missing.returncode == 2 and "no checkpoint" in missing.stderr
