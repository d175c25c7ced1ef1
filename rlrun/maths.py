"""The small pure functions that RL correctness rests on. Each is pinned by unit tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import numpy as np
import torch

# The rollout maths runs on numpy arrays (tabular, GAE) and torch tensors (replay) alike.
Array = TypeVar("Array", np.ndarray, torch.Tensor)


def td_target(
    reward: Array, next_value: Array, terminated: Array | float, gamma: Array | float
) -> Array:
    """One-step TD target r + gamma * V(s') * (1 - terminated).

    Only termination stops bootstrapping: at a time-limit truncation, `next_value` is the value of
    the true final observation and is kept. Works on numpy arrays and torch tensors alike.
    """
    return reward + gamma * next_value * (1.0 - terminated)


def polyak_update(
    params: Iterable[torch.Tensor], target_params: Iterable[torch.Tensor], tau: float
) -> None:
    """target <- tau * online + (1 - tau) * target, in place; tau = 1 is a hard copy."""
    with torch.no_grad():
        if tau == 1.0:
            torch._foreach_copy_(list(target_params), list(params))
        else:
            torch._foreach_lerp_(list(target_params), list(params), tau)


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalized advantage estimation over a rollout of shape [steps, envs].

    `next_values[t]` is V of the TRUE next observation of step t: the final observation where an
    episode ended, the observation after the rollout at the last step. A termination stops the
    bootstrap; a truncation bootstraps from V(final obs). Either ends the lambda-chain, since the
    next row starts a new episode. Returns (advantages, returns = advantages + values).
    """
    advantages = np.zeros_like(rewards, dtype=np.float64)
    deltas = td_target(rewards, next_values, terminated, gamma) - values
    continues = 1.0 - np.logical_or(terminated, truncated)
    running = np.zeros(rewards.shape[1:], dtype=np.float64)
    for t in reversed(range(len(rewards))):
        running = deltas[t] + gamma * gae_lambda * continues[t] * running
        advantages[t] = running
    return advantages, advantages + values


def discounted_returns(
    rewards: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """Monte-Carlo returns G_t = r_t + gamma * G_{t+1} within each episode, bootstrapped from
    `next_values` where a rollout or a time limit cuts an episode: GAE with lambda 1, V = 0."""
    zeros = np.zeros_like(rewards, dtype=np.float64)
    return compute_gae(rewards, zeros, next_values, terminated, truncated, gamma, 1.0)[0]


def clipped_surrogate_loss(
    log_ratio: torch.Tensor, advantages: torch.Tensor, clip: float
) -> torch.Tensor:
    """PPO's per-row policy loss, max(-A r, -A clip(r, 1 - c, 1 + c)) with r = pi / pi_old:
    no incentive to move the ratio beyond [1 - c, 1 + c] in the advantage's direction."""
    ratio = log_ratio.exp()
    return torch.max(-advantages * ratio, -advantages * torch.clamp(ratio, 1 - clip, 1 + clip))


def clipped_value_loss(
    values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip: float
) -> torch.Tensor:
    """Per-row value loss with the prediction kept within `clip` of the rollout's value:
    max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2), as CleanRL and OpenAI Baselines."""
    clipped = old_values + torch.clamp(values - old_values, -clip, clip)
    return torch.max((values - returns) ** 2, (clipped - returns) ** 2)
