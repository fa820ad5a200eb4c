"""The flat-parameter learner does torch.optim.Adam's and clip_grad_norm_'s arithmetic, bit for bit."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from policy.flat import FlatAdam, FlatParameters
from policy.networks import QNetwork


def _steps(network: QNetwork, step, batches) -> None:
    for obs, target in batches:
        loss = F.smooth_l1_loss(network(obs).max(dim=1).values, target)
        step(loss)


@pytest.mark.parametrize("max_norm", [10.0, 0.05])  # 0.05: the clip scales every step
def test_flat_adam_with_clipping_matches_torch_optim_adam_bit_for_bit(max_norm):
    torch.manual_seed(0)
    reference = QNetwork(6, 3, (32, 32))
    flat_network = copy.deepcopy(reference)
    initial = copy.deepcopy(reference.state_dict())
    batches = [(torch.randn(16, 6), torch.randn(16) * 5) for _ in range(200)]

    optimizer = torch.optim.Adam(reference.parameters(), lr=3e-3, foreach=True)

    def torch_step(loss):
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
        optimizer.step()

    flat = FlatParameters(flat_network)
    adam = FlatAdam(flat, lr=3e-3)

    def flat_step(loss):
        flat.zero_grad()
        loss.backward()
        flat.clip_grad_norm(max_norm)
        adam.step()

    _steps(reference, torch_step, batches)
    _steps(flat_network, flat_step, batches)
    for expected, actual in zip(reference.state_dict().values(), flat_network.state_dict().values(), strict=True):
        assert torch.equal(expected, actual)
    assert not torch.equal(flat_network.state_dict()["net.0.weight"], initial["net.0.weight"])


def test_flat_parameters_are_the_modules_weights_and_a_soft_update_moves_them():
    torch.manual_seed(1)
    online, target = QNetwork(4, 2, (8,)), QNetwork(4, 2, (8,))
    online_flat, target_flat = FlatParameters(online), FlatParameters(target)
    before = {name: value.clone() for name, value in target.state_dict().items()}
    target_flat.soft_update_from(online_flat, tau=0.25)
    for name, value in target.state_dict().items():
        assert torch.allclose(value, 0.75 * before[name] + 0.25 * online.state_dict()[name])
    target_flat.soft_update_from(online_flat, tau=1.0)
    for name, value in target.state_dict().items():
        assert torch.equal(value, online.state_dict()[name])
    online.load_state_dict({name: torch.zeros_like(value) for name, value in online.state_dict().items()})
    assert torch.count_nonzero(online_flat.values) == 0  # loading weights writes through to the flat tensor


def test_training_flushes_subnormals_only_while_it_runs():
    import sys

    import gymnasium as gym

    from policy.dqn import DQNConfig, subnormals_flushed, train

    seen = []

    class Probe:
        def on_episode(self, record: dict) -> None:
            seen.append(sys.float_info.min / 2)

        def on_eval(self, record: dict) -> None:
            pass

    config = DQNConfig(seed=0, total_steps=60, learning_starts=20, batch_size=8, hidden=(8,), eval_episodes=1)
    train(lambda: gym.make("CartPole-v1"), config, callbacks=(Probe(),))
    assert seen and all(value == 0.0 for value in seen)  # flushed during training
    assert sys.float_info.min / 2 > 0.0  # and representable again afterwards
    with subnormals_flushed(), subnormals_flushed():
        pass
    assert sys.float_info.min / 2 > 0.0
