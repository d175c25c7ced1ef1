"""What replay-based agents share: every transition goes into one replay buffer, and every
`train_freq` env steps after `learning_starts` the agent runs `gradient_steps` updates.

Continuous-action agents (DDPG, TD3, SAC) also share how actions are scaled: the networks and the
buffer work in [-1, 1]; only the env sees its own bounds. Until `learning_starts` they act
uniformly at random, as Stable-Baselines3 does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlrun.agents.base import Agent, LossStats
from rlrun.buffers import FrameReplayBuffer, ReplayBuffer
from rlrun.transition import Spaces, Transition


def crossed(step: int, num_envs: int, interval: int) -> bool:
    """Whether the last vector step (num_envs env steps, ending at `step`) crossed a multiple of
    `interval`: how env-step intervals stay exact when each vector step adds several env steps."""
    return step // interval > (step - num_envs) // interval


def replay_buffer(
    cfg: Any, spaces: Spaces, action_space: gym.Space, device: torch.device
) -> ReplayBuffer:
    """The replay buffer `cfg` asks for: plain, or each observation (and frame) stored once."""
    if not cfg.optimize_memory_usage:
        return ReplayBuffer(cfg.buffer_size, spaces.observation, action_space, device)
    return FrameReplayBuffer(
        cfg.buffer_size,
        spaces.observation,
        action_space,
        device,
        spaces.num_envs,
        spaces.frame_stack,
    )


class OffPolicyAgent(Agent):
    def __init__(
        self,
        cfg: Any,
        spaces: Spaces,
        device: torch.device,
        seed: int,
        buffer_action_space: gym.Space,
    ) -> None:
        self.cfg = cfg
        self.device = device
        self.num_envs = spaces.num_envs
        self.total_timesteps = spaces.total_timesteps
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator(device).manual_seed(seed)
        self.buffer = replay_buffer(cfg, spaces, buffer_action_space, device)
        self.stats = LossStats()
        self.step = 0

    def as_tensor(self, obs: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(obs, device=self.device)

    def observe(self, t: Transition, step: int) -> None:
        self.step = step
        self.store(t)

    def store(self, t: Transition) -> None:
        self.buffer.add(t, self.cfg.gamma)

    def update(self, step: int) -> None:
        cfg = self.cfg
        # An n-step accumulator holds the first transitions back: never sample an empty buffer.
        if (
            step > cfg.learning_starts
            and crossed(step, self.num_envs, cfg.train_freq)
            and len(self.buffer) > 0
        ):
            self.train(cfg.gradient_steps)

    def train(self, gradient_steps: int) -> None:
        raise NotImplementedError

    def pop_metrics(self) -> dict[str, float]:
        return self.stats.pop() if self.stats.count else {}


class ContinuousOffPolicyAgent(OffPolicyAgent):
    """Box actions: policy outputs in [-1, 1], scaled to the env's bounds only when acting."""

    def __init__(self, cfg: Any, spaces: Spaces, device: torch.device, seed: int) -> None:
        action = spaces.action
        assert isinstance(action, gym.spaces.Box)
        self.action_dim = gym.spaces.flatdim(action)
        unit = gym.spaces.Box(-1.0, 1.0, action.shape, np.float32)
        super().__init__(cfg, spaces, device, seed, unit)
        self.center = ((action.high + action.low) / 2).astype(np.float32)
        self.half_range = ((action.high - action.low) / 2).astype(np.float32)

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        if explore and self.step < self.cfg.learning_starts:
            unit = self.rng.uniform(-1.0, 1.0, (len(obs), self.action_dim))
        else:
            unit = self.policy_action(obs, explore)
        return self.center + self.half_range * unit.astype(np.float32)

    def policy_action(self, obs: np.ndarray, explore: bool) -> np.ndarray:
        """Actions in [-1, 1]: exploring when `explore`, else deterministic."""
        raise NotImplementedError

    def observe(self, t: Transition, step: int) -> None:
        unit = np.clip((t.action - self.center) / self.half_range, -1.0, 1.0)
        super().observe(dataclasses.replace(t, action=unit), step)
