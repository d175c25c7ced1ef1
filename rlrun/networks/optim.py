"""The one optimizer step and the one target-network helper every agent uses."""

from __future__ import annotations

import copy

import torch

from rlrun.maths import polyak_update


def adam(params, lr: float, eps: float = 1e-8) -> torch.optim.Adam:
    """Adam as every agent uses it: the fused kernel (CPU and GPU) takes one call per step
    instead of several per parameter, 2-3x faster for these small networks."""
    return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)


def make_optimizer(name: str, params, lr: float, eps: float) -> torch.optim.Optimizer:
    """The optimizer `agent.optimizer` names (rlrun.config.fields.OPTIMIZERS), with the eps its
    agent's reference uses: adam, PyTorch's rmsprop (alpha 0.99) or TensorFlow's rmsprop_tf."""
    if name == "adam":
        return adam(params, lr, eps=eps)
    if name == "rmsprop_tf":
        return RMSpropTFLike(params, lr, alpha=0.99, eps=eps)
    return torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=eps, foreach=True)


def anneal_lr(optimizer: torch.optim.Optimizer, learning_rate: float, progress: float) -> None:
    """`lr_schedule=linear`: the learning rate falls linearly to 0 over the run (progress 0..1,
    clamped: past the horizon it stays 0, never negative)."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate * (1.0 - min(max(progress, 0.0), 1.0))


class RMSpropTFLike(torch.optim.Optimizer):
    """RMSprop as TensorFlow (and so the A2C paper's code and SB2) computes it, which the RL
    Zoo's Atari A2C asks for: the running mean of squared gradients starts at one, not zero,
    and eps goes inside the square root, p -= lr * g / sqrt(v + eps). PyTorch's RMSprop, which
    starts at zero with eps outside, takes huge first steps and is unstable there."""

    def __init__(self, params, lr: float, alpha: float = 0.99, eps: float = 1e-5) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None) -> None:  # type: ignore[override]
        assert closure is None
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            grads = [p.grad for p in params]
            for p in params:
                if "square_avg" not in self.state[p]:
                    self.state[p]["square_avg"] = torch.ones_like(p)
            square_avg = [self.state[p]["square_avg"] for p in params]
            torch._foreach_mul_(square_avg, group["alpha"])
            torch._foreach_addcmul_(square_avg, grads, grads, value=1 - group["alpha"])
            denom = torch._foreach_sqrt(torch._foreach_add(square_avg, group["eps"]))
            torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])


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
