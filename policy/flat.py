"""A network's parameters as views of one flat tensor, and the optimiser steps that then take one call each.

The Q-networks are small (about 17k weights in six tensors), so a gradient step on CPU costs more in per-tensor calls
and torch.optim's bookkeeping than in arithmetic. With every parameter (and every gradient) a view of one contiguous
tensor, Adam, the gradient-norm clip and the target network's update are a handful of element-wise operations on one
tensor. The arithmetic is torch.optim.Adam's (foreach), element for element, so a run is bit-identical to one with
torch.optim.Adam (tests/test_flat.py checks it).
"""

from __future__ import annotations

import torch
from torch import nn


class FlatParameters:
    """Rebinds `module`'s parameters to views of `self.values` and their gradients to views of `self.grads`.

    Autograd accumulates into an existing gradient in place, so after `zero_grad()` a backward pass writes every
    gradient into `self.grads`; in-place updates of `self.values` are updates of the module's weights.
    """

    def __init__(self, module: nn.Module):
        self.parameters = list(module.parameters())
        with torch.no_grad():
            self.values = torch.cat([p.detach().reshape(-1) for p in self.parameters])
        self.grads = torch.zeros_like(self.values)
        offset = 0
        for parameter in self.parameters:
            size = parameter.numel()
            parameter.data = self.values[offset : offset + size].view_as(parameter)
            parameter.grad = self.grads[offset : offset + size].view_as(parameter)
            offset += size

    def zero_grad(self) -> None:
        self.grads.zero_()

    def clip_grad_norm(self, max_norm: float) -> None:
        """torch.nn.utils.clip_grad_norm_: the norm of the per-tensor norms (the same rounding), then one scaling."""
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm([p.grad for p in self.parameters])))
        self.grads.mul_(torch.clamp(max_norm / (total + 1e-6), max=1.0))

    @torch.no_grad()
    def soft_update_from(self, source: FlatParameters, tau: float) -> None:
        """self <- (1 - tau) * self + tau * source (tau = 1 copies)."""
        self.values.mul_(1.0 - tau).add_(source.values, alpha=tau)


TINY = torch.finfo(torch.float32).tiny


class FlatAdam:
    """Adam (Kingma & Ba 2015) with torch.optim.Adam's defaults and its foreach arithmetic, over FlatParameters."""

    def __init__(self, flat: FlatParameters, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        if TINY**0.5 / (1 - betas[1]) ** 0.5 >= eps * 2**-25:  # see step(): invisible beside eps, or not exact
            raise ValueError(f"FlatAdam's eps {eps} is too small for its shortcut on zero moments")
        self.flat, self.lr, self.betas, self.eps = flat, lr, betas, eps
        self.exp_avg = torch.zeros_like(flat.values)
        self.exp_avg_sq = torch.zeros_like(flat.values)
        self.denominator = torch.empty_like(flat.values)  # reused: no allocation per step
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        grads = self.flat.grads
        self.steps += 1
        self.exp_avg.lerp_(grads, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(grads, grads, value=1 - beta2)
        step_size = (self.lr / (1 - beta1**self.steps)) * -1
        # torch.sqrt takes about nine times longer on a tensor holding exact zeros (the moments of dead ReLU units,
        # a quarter of them on CartPole); raised to the smallest normal float first, those entries still end as
        # eps exactly, because sqrt(tiny) / (1 - beta2**t) ** 0.5 lies far below half of eps's last bit
        torch.clamp(self.exp_avg_sq, min=TINY, out=self.denominator).sqrt_()
        self.denominator.div_((1 - beta2**self.steps) ** 0.5).add_(self.eps)
        self.flat.values.addcdiv_(self.exp_avg, self.denominator, value=step_size)
