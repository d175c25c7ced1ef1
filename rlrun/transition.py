"""What flows from the env to an agent: one vector-env step, and the spaces it is built for."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import gymnasium as gym
import numpy as np


@dataclass
class Transition:
    """One vector-env step. No `done`: the two reasons an episode ends are kept apart.

    `next_obs` is the TRUE next observation: at an episode end it is the final observation, not
    the first of the next episode. Bootstrap mask = 1 - terminated; a truncated (time-limit)
    step still bootstraps from `next_obs`.
    """

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray

    def select(self, mask: np.ndarray) -> Transition:
        """The same step restricted to the envs where `mask` is true."""
        return Transition(
            self.obs[mask],
            self.action[mask],
            self.reward[mask],
            self.next_obs[mask],
            self.terminated[mask],
            self.truncated[mask],
        )

    def shift_obs(self, offset: int) -> Transition:
        """The same step with `offset` added to the (Discrete) observations."""
        return dataclasses.replace(self, obs=self.obs + offset, next_obs=self.next_obs + offset)


@dataclass
class Spaces:
    """What an agent is built for: single-env spaces, the number of vector envs, the budget."""

    observation: gym.Space
    action: gym.Space
    num_envs: int
    total_timesteps: int
    frame_stack: int = 1  # observations are stacks of this many frames along axis 0 (Atari's 4)

    @classmethod
    def of(cls, env: gym.vector.VectorEnv, total_timesteps: int, frame_stack: int = 1) -> Spaces:
        return cls(
            env.single_observation_space,
            env.single_action_space,
            env.num_envs,
            total_timesteps,
            frame_stack,
        )
