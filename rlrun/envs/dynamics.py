"""Known dynamics of a tabular env, as arrays: what planning and inverse RL need.

Gymnasium's toy-text envs (FrozenLake, Taxi, CliffWalking) publish theirs as `env.unwrapped.P`:
P[s][a] = [(probability, next_state, reward, terminated), ...]. `TabularModel` pads those lists
to K outcomes per (s, a), so every backup is a gather over fixed-shape arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.errors import ConfigError


@dataclass
class TabularModel:
    """Outcome k of taking a in s: `next_state[s, a, k]` with `prob[s, a, k]`, the reward
    `reward[s, a, k]`, and whether the episode ends there (`terminated[s, a, k]`)."""

    next_state: np.ndarray  # (S, A, K) int
    prob: np.ndarray  # (S, A, K) float, sums to 1 over k
    reward: np.ndarray  # (S, A, K) float
    terminated: np.ndarray  # (S, A, K) bool

    @property
    def n_states(self) -> int:
        return self.next_state.shape[0]

    @property
    def n_actions(self) -> int:
        return self.next_state.shape[1]

    @property
    def expected_reward(self) -> np.ndarray:
        """r(s, a): the reward's expectation over outcomes."""
        return (self.prob * self.reward).sum(-1)


def model_from_p(p: dict[int, dict[int, list[tuple[Any, ...]]]]) -> TabularModel:
    """A TabularModel from Gymnasium's toy-text P table."""
    n_states, n_actions = len(p), len(p[0])
    k = max(len(outcomes) for row in p.values() for outcomes in row.values())
    next_state = np.zeros((n_states, n_actions, k), dtype=np.int64)
    prob = np.zeros((n_states, n_actions, k))
    reward = np.zeros((n_states, n_actions, k))
    terminated = np.zeros((n_states, n_actions, k), dtype=bool)
    for s, row in p.items():
        for a, outcomes in row.items():
            for i, (pr, s2, r, term) in enumerate(outcomes):
                next_state[s, a, i], prob[s, a, i] = s2, pr
                reward[s, a, i], terminated[s, a, i] = r, term
            next_state[s, a, len(outcomes) :] = s  # padding: probability 0
    return TabularModel(next_state, prob, reward, terminated)


def tabular_model(env: gym.Env, env_id: str) -> TabularModel:
    """`env`'s dynamics, or a one-line error naming the envs that publish theirs."""
    p = getattr(env.unwrapped, "P", None)
    if not isinstance(p, dict):
        raise ConfigError(
            "env",
            f"{env_id} does not publish its dynamics (env.unwrapped.P); this agent needs them: "
            "use a tabular env that does, e.g. env=frozenlake, frozenlake8x8, taxi or cliffwalking",
        )
    return model_from_p(p)


def grid_shape(env: gym.Env) -> tuple[int, int] | None:
    """(rows, columns) of a grid env whose states are its cells row by row (FrozenLake,
    CliffWalking), else None."""
    inner = env.unwrapped
    desc = getattr(inner, "desc", None)
    shape = getattr(inner, "shape", None)
    if desc is not None and np.ndim(desc) == 2:
        rows, cols = np.shape(desc)
    elif isinstance(shape, tuple) and len(shape) == 2:
        rows, cols = shape
    else:
        return None
    n = getattr(inner.observation_space, "n", None)
    return (int(rows), int(cols)) if n == rows * cols else None
