"""The small pure functions that RL correctness rests on. Each is pinned by unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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


def of_actions(q: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Q(s, a) from Q(s, .): [..., batch, n_actions] and [batch] (or [..., batch]) actions."""
    index = actions.long().expand(q.shape[:-1]).unsqueeze(-1)
    return q.gather(-1, index).squeeze(-1)


def option_arrival_value(q_option: Array, q_max: Array, beta: Array) -> Array:
    """U(s', o) = (1 - beta_o(s')) Q(s', o) + beta_o(s') max_o' Q(s', o'): the value of arriving
    in s' with option o, which goes on with probability 1 - beta_o(s') and otherwise hands over
    to the best option (Sutton, Precup & Singh 1999; Bacon, Harb & Precup 2017)."""
    return (1.0 - beta) * q_option + beta * q_max


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


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    max_steps: int,
    residual_tol: float = 1e-10,
) -> torch.Tensor:
    """An approximate solution x of A x = b for a symmetric positive-definite A known only by its
    products `matvec(v) = A v` (TRPO's Fisher-vector products): conjugate gradient from x = 0,
    at most `max_steps` products, stopping once the squared residual is below `residual_tol`."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rr = r @ r
    for _ in range(max_steps):
        if rr < residual_tol:
            break
        ap = matvec(p)
        alpha = rr / (p @ ap)
        x += alpha * p
        r -= alpha * ap
        rr_next = r @ r
        p = r + (rr_next / rr) * p
        rr = rr_next
    return x


def categorical_kl(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) of categorical distributions given by logits, per row."""
    logp, logq = torch.log_softmax(logits_p, -1), torch.log_softmax(logits_q, -1)
    return (logp.exp() * (logp - logq)).sum(-1)


def diagonal_gaussian_kl(
    mean_p: torch.Tensor, log_std_p: torch.Tensor, mean_q: torch.Tensor, log_std_q: torch.Tensor
) -> torch.Tensor:
    """KL(p || q) of diagonal Gaussians, summed over the action dimensions, per row:
    log(s_q / s_p) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2) - 1/2."""
    var_p, var_q = (2 * log_std_p).exp(), (2 * log_std_q).exp()
    kl = log_std_q - log_std_p + (var_p + (mean_p - mean_q) ** 2) / (2 * var_q) - 0.5
    return kl.sum(-1)


def flat_grad(
    y: torch.Tensor, params: Sequence[torch.Tensor], *, create_graph: bool = False
) -> torch.Tensor:
    """dy/d(params), flattened into one vector (the graph kept for further products)."""
    grads = torch.autograd.grad(y, params, retain_graph=True, create_graph=create_graph)
    return torch.cat([g.reshape(-1) for g in grads])
