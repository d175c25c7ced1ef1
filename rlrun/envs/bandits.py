"""The k-armed bandit testbed of Sutton & Barto (2nd ed.) section 2.3, its nonstationary variant
(exercise 2.5) and Bernoulli arms.

`BanditTestbed` is a Gymnasium vector env whose every copy is its own problem (its own q*), all
stepped at once in numpy: the book's 2000 runs of 1000 steps are one env of 2000 copies stepped
1000 times. `BanditEnv` is one problem as a plain Gymnasium env. Both are registered as
rlrun/Bandit-v0 (`gym.make` gives the single env, `gym.make_vec` the batched one). The
observation is always 0: a bandit has one state. `info["optimal_action"]` says whether the arm
pulled had the highest q* at that step (ties included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

DISTRIBUTIONS = ("gaussian", "bernoulli")


@dataclass(frozen=True)
class Arms:
    """How problems are drawn and rewards paid. gaussian: q*(a) ~ N(q_mean, q_std^2), rewards
    N(q*(a), reward_std^2); bernoulli: q*(a) ~ U(0, 1), rewards 1 with probability q*(a).
    walk_std > 0: every step each q*(a) takes an independent N(0, walk_std^2) step (exercise 2.5
    uses 0.01 from q* = 0: q_std=0), kept in [0, 1] for Bernoulli arms."""

    k: int = 10
    distribution: str = "gaussian"
    q_mean: float = 0.0
    q_std: float = 1.0
    reward_std: float = 1.0
    walk_std: float = 0.0

    def __post_init__(self) -> None:
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution {self.distribution!r}: choose one of {DISTRIBUTIONS}")
        if self.k < 2 or self.q_std < 0 or self.reward_std < 0 or self.walk_std < 0:
            raise ValueError("k >= 2 and q_std, reward_std, walk_std >= 0")

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.distribution == "bernoulli":
            return rng.random((n, self.k))
        return self.q_mean + self.q_std * rng.standard_normal((n, self.k))

    def pull(self, rng: np.random.Generator, q: np.ndarray, action: np.ndarray) -> np.ndarray:
        means = q[np.arange(len(q)), action]
        if self.distribution == "bernoulli":
            return (rng.random(len(q)) < means).astype(np.float64)
        return means + self.reward_std * rng.standard_normal(len(q))

    def walk(self, rng: np.random.Generator, q: np.ndarray) -> np.ndarray:
        q = q + self.walk_std * rng.standard_normal(q.shape)
        return np.clip(q, 0.0, 1.0) if self.distribution == "bernoulli" else q


def optimal(q: np.ndarray, action: np.ndarray) -> np.ndarray:
    """Whether each problem's pulled arm has its highest q* (any of tied best arms counts)."""
    return q[np.arange(len(q)), action] == q.max(axis=-1)


class BanditTestbed(gym.vector.VectorEnv):
    """`num_envs` independent k-armed problems. The batch is drawn from one generator seeded by
    `reset(seed=)`: each problem has its own q* and rewards, and the whole batch is reproducible.
    With `max_episode_steps`, a problem is truncated there and replaced by a fresh one (same-step
    autoreset); without it a problem runs for as long as it is stepped."""

    def __init__(
        self, num_envs: int = 1, max_episode_steps: int | None = None, **arms: Any
    ) -> None:
        self.arms = Arms(**arms)
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.single_observation_space = gym.spaces.Discrete(1)
        self.single_action_space = gym.spaces.Discrete(self.arms.k)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.q_star = np.zeros((num_envs, self.arms.k))
        self.steps = np.zeros(num_envs, dtype=np.int64)
        self._obs = np.zeros(num_envs, dtype=np.int64)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seed)
        mask = (options or {}).get("reset_mask", np.ones(self.num_envs, dtype=bool))
        self.q_star[mask] = self.arms.draw(self.np_random, int(mask.sum()))
        self.steps[mask] = 0
        return self._obs.copy(), {}

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        actions = np.asarray(actions)
        best = optimal(self.q_star, actions)
        rewards = self.arms.pull(self.np_random, self.q_star, actions)
        if self.arms.walk_std > 0:
            self.q_star = self.arms.walk(self.np_random, self.q_star)
        self.steps += 1
        truncated = (
            np.zeros(self.num_envs, dtype=bool)
            if self.max_episode_steps is None
            else self.steps >= self.max_episode_steps
        )
        ones = np.ones(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {"optimal_action": best, "_optimal_action": ones}
        if truncated.any():
            infos["final_obs"] = np.array([0] * self.num_envs, dtype=object)
            infos["_final_obs"] = truncated
            self.reset(options={"reset_mask": truncated})
        return self._obs.copy(), rewards, np.zeros(self.num_envs, dtype=bool), truncated, infos


class BanditEnv(gym.Env):
    """One k-armed problem as a plain Gymnasium env (the testbed's arms, a new q* each reset)."""

    def __init__(self, **arms: Any) -> None:
        self.arms = Arms(**arms)
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(self.arms.k)
        self.q_star = np.zeros((1, self.arms.k))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.q_star = self.arms.draw(self.np_random, 1)
        return 0, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        a = np.array([action])
        best = bool(optimal(self.q_star, a)[0])
        reward = float(self.arms.pull(self.np_random, self.q_star, a)[0])
        if self.arms.walk_std > 0:
            self.q_star = self.arms.walk(self.np_random, self.q_star)
        return 0, reward, False, False, {"optimal_action": best}
