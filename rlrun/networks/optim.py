"""The one optimizer step and the one target-network helper every agent uses."""

from __future__ import annotations

import copy

import torch

from rlrun.maths import polyak_update


def adam(params, lr: float, eps: float = 1e-8) -> torch.optim.Adam:
    """Adam as every agent uses it: the fused kernel (CPU and GPU) takes one call per step
    instead of several per parameter, 2-3x faster for these small networks."""
    return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)


def optimizer_step(
    optimizer: torch.optim.Optimizer, loss: torch.Tensor, max_grad_norm: float | None = None
) -> None:
    """zero_grad, backward, clip the gradient norm of its parameters (if asked), step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_grad_norm is not None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    optimizer.step()


def target_network(net: torch.nn.Module) -> torch.nn.Module:
    """A target network: a copy that gradients never reach, moved towards `net` by
    `update_target`."""
    return copy.deepcopy(net).requires_grad_(False)


def update_target(target: torch.nn.Module, net: torch.nn.Module, tau: float) -> None:
    """target <- tau * net + (1 - tau) * target (tau = 1: a hard copy)."""
    polyak_update(net.parameters(), target.parameters(), tau)
