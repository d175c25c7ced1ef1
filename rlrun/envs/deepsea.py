"""DeepSea (Osband et al. 2019, bsuite; "Deep Exploration via Randomized Value Functions"): an
N x N grid in which the agent falls one row per step from the top-left cell, moving one column
left or right. Only the bottom-right cell pays (+1, on the action that would move right there);
every move right costs 0.01 / N. The optimal episode returns 0.99, and a policy that dithers
(epsilon-greedy) finds it with probability about 2^-N per episode: what deep exploration buys.

Which action means "right" is drawn per cell from `mapping_seed` (fixed for the env's life, so
the training and evaluation envs face one problem); `deterministic=false` is bsuite's stochastic
variant (a right move fails with probability 1/N, the chain's end rewards get N(0, 1) noise).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class DeepSea(gym.Env):
    metadata = {"render_modes": []}  # noqa: RUF012  (gymnasium's own class attribute)

    def __init__(
        self,
        size: int = 10,
        deterministic: bool = True,
        unscaled_move_cost: float = 0.01,
        randomize_actions: bool = True,
        mapping_seed: int = 0,
        discrete_obs: bool = False,
    ) -> None:
        if size < 2:
            raise ValueError(f"size must be at least 2, got {size}")
        self.size = size
        self.deterministic = deterministic
        self.move_cost = unscaled_move_cost / size
        self.right = (
            np.random.default_rng(mapping_seed).integers(0, 2, (size, size))
            if randomize_actions
            else np.ones((size, size), dtype=np.int64)
        )
        self.discrete_obs = discrete_obs
        # Discrete: the cell's index row * N + col, and N * N for the end of an episode
        self.observation_space: gym.Space = (
            gym.spaces.Discrete(size * size + 1)
            if discrete_obs
            else gym.spaces.Box(0.0, 1.0, (size, size), np.float32)
        )
        self.action_space = gym.spaces.Discrete(2)
        self.row = self.column = 0

    @property
    def optimal_return(self) -> float:
        reach = 1.0 if self.deterministic else (1 - 1 / self.size) ** (self.size - 1)
        return reach - self.move_cost * self.size

    def _obs(self) -> Any:
        if self.discrete_obs:
            return (
                self.size * self.size
                if self.row >= self.size
                else self.row * self.size + self.column
            )
        grid = np.zeros((self.size, self.size), np.float32)
        if self.row < self.size:  # the end of an episode is an empty grid, as bsuite's
            grid[self.row, self.column] = 1.0
        return grid

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self.row = self.column = 0
        return self._obs(), {}

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        n = self.size
        right = int(action) == self.right[self.row, self.column]
        reward = 0.0
        treasure = self.column == n - 1 and right  # only possible on the last row
        if treasure:
            reward += 1.0
        if not self.deterministic and self.row == n - 1 and self.column in (0, n - 1):
            reward += float(self.np_random.standard_normal())
        if right:
            if self.deterministic or self.np_random.random() > 1 / n:
                self.column = min(self.column + 1, n - 1)
            reward -= self.move_cost
        else:
            self.column = max(self.column - 1, 0)
        self.row += 1
        # is_success: the treasure, whatever the stochastic variant's noise does to the reward
        return self._obs(), reward, self.row == n, False, {"is_success": treasure}
