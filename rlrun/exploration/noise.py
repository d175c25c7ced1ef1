"""Action noise for deterministic continuous-control actors (DDPG, TD3), in units of half the
action range, its scale on a schedule."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlrun.exploration.base import Exploration
from rlrun.exploration.config import GaussianNoiseConfig, OUNoiseConfig
from rlrun.transition import Spaces, Transition


class GaussianNoise(Exploration):
    """Independent N(0, sigma) per action dimension, sigma on the schedule."""

    tag = "action_noise"

    def __init__(self, cfg: GaussianNoiseConfig, spaces: Spaces) -> None:
        super().__init__(cfg, spaces)
        self.shape = (spaces.num_envs, gym.spaces.flatdim(spaces.action))

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return self.value * rng.standard_normal(self.shape)

    def observe(self, t: Transition, step: int) -> None:
        super().observe(t, step)
        self.reset(t.terminated | t.truncated)

    def reset(self, envs: np.ndarray) -> None:
        """Episodes ended in `envs` (a mask); Gaussian noise has no state to reset."""


class OUNoise(GaussianNoise):
    """x <- x + theta * (0 - x) * dt + sigma * sqrt(dt) * N(0, 1), per env (Uhlenbeck-Ornstein),
    restarted from 0 at each episode start."""

    def __init__(self, cfg: OUNoiseConfig, spaces: Spaces) -> None:
        super().__init__(cfg, spaces)
        self.theta, self.dt = cfg.theta, cfg.dt
        self.state = np.zeros(self.shape)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        self.state = (
            self.state
            - self.theta * self.state * self.dt
            + self.value * np.sqrt(self.dt) * rng.standard_normal(self.shape)
        )
        return self.state

    def reset(self, envs: np.ndarray) -> None:
        self.state[envs] = 0.0
