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


@pytest.mark.parametrize(
    "max_norm, dead_inputs",
    [(10.0, False), (0.05, False), (10.0, True)],  # 0.05: the clip scales every step
)
def test_flat_adam_with_clipping_matches_torch_optim_adam_bit_for_bit(max_norm, dead_inputs):
    torch.manual_seed(0)
    reference = QNetwork(6, 3, (32, 32))
    flat_network = copy.deepcopy(reference)
    initial = copy.deepcopy(reference.state_dict())
    batches = [(torch.randn(16, 6), torch.randn(16) * 5) for _ in range(200)]
    if dead_inputs:  # inputs that are always 0: their first-layer weights get gradients and moments of exactly 0
        for obs, _ in batches:
            obs[:, :2] = 0.0

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
    if dead_inputs:
        assert bool((adam.exp_avg_sq == 0).any())
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


@pytest.mark.parametrize("hidden", [(32, 32), (16,)])
def test_the_learners_gradients_without_autograd_are_autograds_bit_for_bit(hidden):
    from policy.dqn import td_loss_gradients

    torch.manual_seed(2)
    network = QNetwork(5, 3, hidden)
    flat = FlatParameters(network)
    obs, actions, target = torch.randn(50, 5), torch.randint(0, 3, (50, 1)), torch.randn(50) * 3  # 1/50 rounds

    flat.zero_grad()
    F.smooth_l1_loss(network(obs).gather(1, actions).squeeze(1), target).backward()
    autograd_grads = flat.grads.clone()

    flat.grads.fill_(float("nan"))  # backward must overwrite every gradient, not add to it
    td_loss_gradients(network, obs, actions, target)
    assert torch.equal(flat.grads, autograd_grads)
    assert bool((autograd_grads != 0).any())


def test_flat_adam_refuses_an_eps_too_small_for_its_zero_moment_shortcut():
    with pytest.raises(ValueError, match="eps"):
        FlatAdam(FlatParameters(QNetwork(2, 2, (4,))), lr=1e-3, eps=1e-14)
