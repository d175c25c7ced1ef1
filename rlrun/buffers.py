"""Replay storage: preallocated arrays written a vector-env step at a time, sampled in batches."""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch

from rlrun.agents.base import Transition


class ReplayBatch(NamedTuple):
    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    terminated: (
        torch.Tensor
    )  # bootstrap mask = 1 - terminated; truncation keeps bootstrapping


class ReplayBuffer:
    """A ring buffer of transitions. `next_obs` is the true next observation, final ones included."""

    def __init__(
        self,
        capacity: int,
        obs_space: gym.Space,
        action_space: gym.Space,
        device: torch.device,
    ) -> None:
        self.capacity = capacity
        self.device = device
        self.obs = np.zeros((capacity, *obs_space.shape), dtype=obs_space.dtype)
        self.next_obs = np.zeros_like(self.obs)
        self.actions = np.zeros(
            (capacity, *action_space.shape), dtype=action_space.dtype
        )
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.pos = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, t: Transition) -> None:
        """Write one row per env, wrapping around to overwrite the oldest rows."""
        n = len(t.reward)
        idx = (
            (self.pos + np.arange(n)) % self.capacity
            if self.pos + n > self.capacity
            else (slice(self.pos, self.pos + n))
        )
        self.obs[idx] = t.obs
        self.next_obs[idx] = t.next_obs
        self.actions[idx] = t.action
        self.rewards[idx] = t.reward
        self.terminated[idx] = t.terminated
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample_indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, self.size, n)

    def get(self, idx: np.ndarray) -> ReplayBatch:
        def to(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a[idx], device=self.device)

        return ReplayBatch(
            to(self.obs),
            to(self.actions),
            to(self.rewards),
            to(self.next_obs),
            to(self.terminated),
        )


class RolloutBuffer:
    """One on-policy rollout, [n_steps, num_envs], written a vector-env step at a time.

    Besides each step's data it keeps what GAE needs to bootstrap correctly: V of the true final
    observation where an episode was truncated, and V of the observation after the last step.
    """

    def __init__(
        self,
        n_steps: int,
        num_envs: int,
        obs_shape: tuple[int, ...],
        obs_dtype: Any,
        action_shape: tuple[int, ...],
        action_dtype: Any,
    ) -> None:
        shape = (n_steps, num_envs)
        self.obs = np.zeros((*shape, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((*shape, *action_shape), dtype=action_dtype)
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.terminated = np.zeros(shape, dtype=bool)
        self.truncated = np.zeros(shape, dtype=bool)
        self.log_probs = np.zeros(shape, dtype=np.float32)
        self.values = np.zeros(shape, dtype=np.float32)
        self.final_values = np.zeros(
            shape, dtype=np.float32
        )  # V(final obs) at truncations
        self.last_values = np.zeros(
            num_envs, dtype=np.float32
        )  # V(obs after the last step)
        self.n_steps = n_steps
        self.pos = 0

    @property
    def full(self) -> bool:
        return self.pos == self.n_steps

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        log_probs: np.ndarray,
        values: np.ndarray,
    ) -> None:
        t = self.pos
        self.obs[t], self.actions[t], self.rewards[t] = obs, actions, rewards
        self.terminated[t], self.truncated[t] = terminated, truncated
        self.log_probs[t], self.values[t] = log_probs, values
        self.pos += 1

    def next_values(self) -> np.ndarray:
        """V of each step's true next observation, for `compute_gae`."""
        out = np.empty_like(self.values)
        out[:-1] = self.values[1:]  # the next row's observation, where no episode ended
        out[-1] = self.last_values
        return np.where(self.truncated, self.final_values, out)
