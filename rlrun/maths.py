"""The small pure functions that RL correctness rests on. Each is pinned by unit tests."""

from __future__ import annotations


def td_target(reward, next_value, terminated, gamma: float):
    """One-step TD target r + gamma * V(s') * (1 - terminated).

    Only termination stops bootstrapping: at a time-limit truncation, `next_value` is the value of
    the true final observation and is kept. Works on numpy arrays and torch tensors alike.
    """
    return reward + gamma * next_value * (1.0 - terminated)


def polyak_update(params, target_params, tau: float) -> None:
    """target <- tau * online + (1 - tau) * target, in place; tau = 1 is a hard copy."""
    import torch

    with torch.no_grad():
        if tau == 1.0:
            torch._foreach_copy_(list(target_params), list(params))
        else:
            torch._foreach_lerp_(list(target_params), list(params), tau)
