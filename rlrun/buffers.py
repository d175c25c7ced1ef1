"""Replay storage: preallocated arrays written a vector-env step at a time, sampled in batches."""

from __future__ import annotations

from typing import NamedTuple

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
