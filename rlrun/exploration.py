"""Exploration strategies for value-based agents, and the schedules their values follow.

A strategy turns a batch of action values into actions (and, for Expected SARSA, into the action
probabilities of the behaviour policy). It holds no RNG of its own: the agent passes its generator,
so one seed drives everything.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from rlrun.schema import ExplorationConfig, GaussianNoiseConfig, OUNoiseConfig


def linear_schedule(start: float, end: float, horizon: int, step: int) -> float:
    """Interpolate from `start` at step 0 to `end` at `horizon`, then stay at `end`."""
    progress = min(step / horizon, 1.0)
    return start + progress * (end - start)


def exponential_schedule(start: float, end: float, horizon: int, step: int) -> float:
    """Decay geometrically from `start` at step 0 to `end` at `horizon`, then stay at `end`."""
    if start == 0:
        return 0.0
    progress = min(step / horizon, 1.0)
    return start * math.exp(progress * math.log(end / start))


class Schedule:
    """A value that follows `cfg.schedule` over `cfg.decay_steps` or `cfg.fraction` of the run."""

    def __init__(self, cfg: ExplorationConfig, total_timesteps: int) -> None:
        self.kind = cfg.schedule
        self.start, self.end = cfg.start, cfg.end
        self.horizon = max(1, cfg.decay_steps or int(cfg.fraction * total_timesteps))

    def __call__(self, step: int) -> float:
        if self.kind == "constant":
            return self.start
        if self.kind == "linear":
            return linear_schedule(self.start, self.end, self.horizon, step)
        return exponential_schedule(self.start, self.end, self.horizon, step)


def greedy(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """argmax over the last axis, breaking ties uniformly at random.

    Tabular agents start with all-equal values; np.argmax would always pick action 0 there.
    """
    best = q == q.max(axis=-1, keepdims=True)
    noise = rng.random(q.shape)
    return np.argmax(np.where(best, noise, -1.0), axis=-1)


class Strategy:
    """Base of the value-based strategies: `select` acts, `probs` gives pi(a|s)."""

    tag = "value"  # charts/<tag> in TensorBoard

    def __init__(self, cfg: ExplorationConfig, total_timesteps: int, n_actions: int) -> None:
        self.schedule = Schedule(cfg, total_timesteps)
        self.value = self.schedule(0)
        self.n_actions = n_actions

    def set_step(self, step: int) -> None:
        self.value = self.schedule(step)

    def select(
        self, q_fn: Callable[[], np.ndarray], n: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Actions for `n` envs; `q_fn()` gives their action values, computed only if needed."""
        raise NotImplementedError

    def probs(self, q: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class EpsilonGreedy(Strategy):
    tag = "epsilon"

    def select(
        self, q_fn: Callable[[], np.ndarray], n: int, rng: np.random.Generator
    ) -> np.ndarray:
        explore = rng.random(n) < self.value
        if explore.all():  # no need for the values (most steps early in training)
            return rng.integers(0, self.n_actions, n)
        actions = greedy(q_fn(), rng)
        if explore.any():
            actions[explore] = rng.integers(0, self.n_actions, int(explore.sum()))
        return actions

    def probs(self, q: np.ndarray) -> np.ndarray:
        n = q.shape[-1]
        best = (q == q.max(axis=-1, keepdims=True)).astype(np.float64)
        best /= best.sum(axis=-1, keepdims=True)  # ties share the greedy mass, as `greedy` does
        return self.value / n + (1.0 - self.value) * best


class Boltzmann(Strategy):
    tag = "temperature"

    def probs(self, q: np.ndarray) -> np.ndarray:
        logits = (q - q.max(axis=-1, keepdims=True)) / self.value
        p = np.exp(logits)
        return p / p.sum(axis=-1, keepdims=True)

    def select(
        self, q_fn: Callable[[], np.ndarray], n: int, rng: np.random.Generator
    ) -> np.ndarray:
        cdf = np.cumsum(self.probs(q_fn()), axis=-1)
        u = rng.random((n, 1)) * cdf[:, -1:]
        return (u > cdf).sum(axis=-1)


STRATEGIES: dict[str, type[Strategy]] = {
    "epsilon_greedy": EpsilonGreedy,
    "boltzmann": Boltzmann,
}


def make_strategy(cfg: ExplorationConfig, total_timesteps: int, n_actions: int) -> Strategy:
    return STRATEGIES[cfg.name](cfg, total_timesteps, n_actions)


class GaussianNoise:
    """Independent N(0, sigma) per action dimension, sigma on the schedule."""

    tag = "action_noise"

    def __init__(self, cfg: GaussianNoiseConfig, total_timesteps: int, shape: tuple[int, int]):
        self.schedule = Schedule(cfg, total_timesteps)
        self.value = self.schedule(0)
        self.shape = shape  # (num_envs, action_dim)

    def set_step(self, step: int) -> None:
        self.value = self.schedule(step)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return self.value * rng.standard_normal(self.shape)

    def reset(self, envs: np.ndarray) -> None:
        """Episodes ended in `envs` (a mask); Gaussian noise has no state to reset."""


class OUNoise(GaussianNoise):
    """x <- x + theta * (0 - x) * dt + sigma * sqrt(dt) * N(0, 1), per env (Uhlenbeck-Ornstein),
    restarted from 0 at each episode start."""

    def __init__(self, cfg: OUNoiseConfig, total_timesteps: int, shape: tuple[int, int]):
        super().__init__(cfg, total_timesteps, shape)
        self.theta, self.dt = cfg.theta, cfg.dt
        self.state = np.zeros(shape)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        self.state = (
            self.state
            - self.theta * self.state * self.dt
            + self.value * np.sqrt(self.dt) * rng.standard_normal(self.shape)
        )
        return self.state

    def reset(self, envs: np.ndarray) -> None:
        self.state[envs] = 0.0


NOISES: dict[str, type[GaussianNoise]] = {"gaussian": GaussianNoise, "ou": OUNoise}


def make_noise(
    cfg: ExplorationConfig, total_timesteps: int, shape: tuple[int, int]
) -> GaussianNoise:
    return NOISES[cfg.name](cfg, total_timesteps, shape)
