"""Strategies for value-based agents: turn action values into actions, and into the action
probabilities of the behaviour policy (Expected SARSA needs them)."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from rlrun.exploration.base import Exploration
from rlrun.exploration.config import ScheduledConfig
from rlrun.transition import Spaces


def greedy(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """argmax over the last axis, breaking ties uniformly at random.

    Tabular agents start with all-equal values; np.argmax would always pick action 0 there.
    """
    best = q == q.max(axis=-1, keepdims=True)
    noise = rng.random(q.shape)
    return np.argmax(np.where(best, noise, -1.0), axis=-1)


class Strategy(Exploration):
    """`select` acts on a batch of observations; `probs` gives pi(a|s) for their action values."""

    def __init__(self, cfg: ScheduledConfig, spaces: Spaces) -> None:
        super().__init__(cfg, spaces)
        assert isinstance(spaces.action, gym.spaces.Discrete)
        self.n_actions = int(spaces.action.n)

    def select(
        self, obs: np.ndarray, q_fn: Callable[[], np.ndarray], rng: np.random.Generator
    ) -> np.ndarray:
        """Actions for the envs in `obs`; `q_fn()` gives their action values, computed only if
        needed."""
        raise NotImplementedError

    def probs(self, obs: np.ndarray, q: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class EpsilonGreedy(Strategy):
    tag = "epsilon"

    def select(
        self, obs: np.ndarray, q_fn: Callable[[], np.ndarray], rng: np.random.Generator
    ) -> np.ndarray:
        n = len(obs)
        explore = rng.random(n) < self.value
        if explore.all():  # no need for the values (most steps early in training)
            return rng.integers(0, self.n_actions, n)
        actions = greedy(q_fn(), rng)
        if explore.any():
            actions[explore] = rng.integers(0, self.n_actions, int(explore.sum()))
        return actions

    def probs(self, obs: np.ndarray, q: np.ndarray) -> np.ndarray:
        n = q.shape[-1]
        best = (q == q.max(axis=-1, keepdims=True)).astype(np.float64)
        best /= best.sum(axis=-1, keepdims=True)  # ties share the greedy mass, as `greedy` does
        return self.value / n + (1.0 - self.value) * best


class Boltzmann(Strategy):
    tag = "temperature"

    def probs(self, obs: np.ndarray, q: np.ndarray) -> np.ndarray:
        logits = (q - q.max(axis=-1, keepdims=True)) / self.value
        p = np.exp(logits)
        return p / p.sum(axis=-1, keepdims=True)

    def select(
        self, obs: np.ndarray, q_fn: Callable[[], np.ndarray], rng: np.random.Generator
    ) -> np.ndarray:
        cdf = np.cumsum(self.probs(obs, q_fn()), axis=-1)
        u = rng.random((len(obs), 1)) * cdf[:, -1:]
        return (u > cdf).sum(axis=-1)
