"""Networks: the Q-network (an MLP over the observation) and the layer stack it shares with the world models."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def mlp(in_size: int, hidden: Sequence[int], out_size: int, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_size, width), activation()]
        in_size = width
    layers.append(nn.Linear(in_size, out_size))
    return nn.Sequential(*layers)


class QNetwork(nn.Module):
    def __init__(self, obs_size: int, n_actions: int, hidden: Sequence[int] = (128, 128)):
        super().__init__()
        self.obs_size, self.n_actions, self.hidden = obs_size, n_actions, tuple(hidden)
        self.net = mlp(obs_size, hidden, n_actions)
        self.layers = [layer for layer in self.net if isinstance(layer, nn.Linear)]

    def forward(self, obs: torch.Tensor, layer_inputs: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The same arithmetic as self.net(obs), without a module call per layer: the learner runs this three times
        per gradient step on tiny batches, where the calls cost as much as the matrix products. `layer_inputs`, if
        given, receives each layer's input, for `backward`."""
        *hidden, last = self.layers
        for layer in hidden:
            if layer_inputs is not None:
                layer_inputs.append(obs)
            obs = F.linear(obs, layer.weight, layer.bias).relu_()  # in place: one tensor less per layer
        if layer_inputs is not None:
            layer_inputs.append(obs)
        return F.linear(obs, last.weight, last.bias)

    @torch.no_grad()
    def backward(self, layer_inputs: list[torch.Tensor], output_grad: torch.Tensor) -> None:
        """Writes d(loss)/d(parameter) into every parameter's existing `.grad`, given d(loss)/d(output) of the
        forward pass that filled `layer_inputs`.

        Autograd's own operations (the same matrix products, ReLU's threshold_backward), so the gradients are
        autograd's bit for bit (tests/test_networks.py); without the graph and the engine, a gradient step of the
        learner costs about a tenth less."""
        grad = output_grad
        for index in range(len(self.layers) - 1, -1, -1):
            layer, layer_input = self.layers[index], layer_inputs[index]
            torch.mm(grad.t(), layer_input, out=layer.weight.grad)
            torch.sum(grad, 0, out=layer.bias.grad)
            if index:
                grad = torch.ops.aten.threshold_backward(grad.mm(layer.weight), layer_input, 0)
