"""Strategies for value-based agents: turn action values into actions, and into the action
probabilities of the behaviour policy (Expected SARSA needs them).

The strategies that count (UCB, Thompson sampling) keep their tables per state of Discrete
observations, from the transitions they observe: a row per state for the TD learners, a row per
problem for the bandit learners."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from rlrun.config.registry import ExplorationConfig
from rlrun.errors import ConfigError
from rlrun.exploration.base import Exploration
from rlrun.exploration.config import ThompsonConfig, UCBConfig
from rlrun.transition import Spaces, Transition


def greedy(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """argmax over the last axis, breaking ties uniformly at random.

    Tabular agents start with all-equal values; np.argmax would always pick action 0 there.
    """
    best = q == q.max(axis=-1, keepdims=True)
    noise = rng.random(q.shape)
    return np.argmax(np.where(best, noise, -1.0), axis=-1)


def sample_categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row of `probs` (rows summing to 1, up to rounding)."""
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random((len(cdf), 1)) * cdf[:, -1:]
    return (u > cdf).sum(axis=-1)


class Strategy(Exploration):
    """`select` acts on a batch of observations; `probs` gives pi(a|s) for their action values."""

    def __init__(self, cfg: ExplorationConfig, spaces: Spaces) -> None:
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
        return sample_categorical(self.probs(obs, q_fn()), rng)


def visit_counts(spaces: Spaces) -> np.ndarray:
    """N(s, a) = 0 for the Discrete observations and actions of `spaces`."""
    obs, action = spaces.observation, spaces.action
    assert isinstance(obs, gym.spaces.Discrete) and isinstance(action, gym.spaces.Discrete)
    return np.zeros((int(obs.n), int(action.n)), dtype=np.int64)


def ucb_scores(q: np.ndarray, counts: np.ndarray, c: float) -> np.ndarray:
    """Q(s, a) + c sqrt(ln t / N(s, a)) with t = N(s) + 1, this visit counted (Sutton & Barto
    eq. 2.10, whose t is the bandit's 1-based step); an action never tried scores +inf, as the
    book makes it a maximizing action."""
    t = counts.sum(axis=-1, keepdims=True) + 1
    with np.errstate(divide="ignore", invalid="ignore"):  # N = 0: +inf below
        bonus = c * np.sqrt(np.log(t) / counts)
    return np.where(counts == 0, np.inf, q + bonus)


class UCB(Strategy):
    """Upper-confidence-bound action selection from the visit counts N(s, a) it observes."""

    tag = "ucb_c"

    def __init__(self, cfg: UCBConfig, spaces: Spaces) -> None:
        super().__init__(cfg, spaces)
        self.value = cfg.c
        self.counts = visit_counts(spaces)

    def observe(self, t: Transition, step: int) -> None:
        np.add.at(self.counts, (t.obs, t.action), 1)  # several envs may share a state

    def select(
        self, obs: np.ndarray, q_fn: Callable[[], np.ndarray], rng: np.random.Generator
    ) -> np.ndarray:
        return greedy(ucb_scores(q_fn(), self.counts[obs], self.value), rng)

    def probs(self, obs: np.ndarray, q: np.ndarray) -> np.ndarray:
        scores = ucb_scores(q, self.counts[obs], self.value)
        best = (scores == scores.max(axis=-1, keepdims=True)).astype(np.float64)
        return best / best.sum(axis=-1, keepdims=True)


def gaussian_posterior(
    n: np.ndarray, reward_sum: np.ndarray, prior_mean: float, prior_std: float, reward_std: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the posterior over an arm's mean reward after n rewards summing to
    `reward_sum`: a N(prior_mean, prior_std^2) prior, rewards N(mean, reward_std^2) with the
    noise known (conjugate: precisions add)."""
    precision = 1.0 / prior_std**2 + n / reward_std**2
    mean = (prior_mean / prior_std**2 + reward_sum / reward_std**2) / precision
    return mean, 1.0 / np.sqrt(precision)


class Thompson(Strategy):
    """Thompson sampling (Thompson 1933; Russo et al. 2018): draw each action's mean reward from
    its posterior, take the best draw. The posteriors are of the immediate reward per state and
    action, so this is for bandits: `beta` for 0/1 rewards (a Beta prior on each arm's success
    probability), `gaussian` for real rewards of known noise."""

    tag = None

    def __init__(self, cfg: ThompsonConfig, spaces: Spaces) -> None:
        super().__init__(cfg, spaces)
        self.cfg = cfg
        self.counts = visit_counts(spaces)
        self.reward_sums = np.zeros(self.counts.shape)  # gaussian: sum of rewards
        self.successes = np.zeros(self.counts.shape)  # beta: successes (the rest are failures)

    def observe(self, t: Transition, step: int) -> None:
        key = (t.obs, t.action)
        np.add.at(self.counts, key, 1)
        if self.cfg.posterior == "gaussian":
            np.add.at(self.reward_sums, key, t.reward)
            return
        if not np.isin(t.reward, (0.0, 1.0)).all():
            other = t.reward[~np.isin(t.reward, (0.0, 1.0))][0]
            raise ConfigError(
                "exploration.posterior",
                f"beta needs rewards of 0 or 1 (Bernoulli arms), got {other:g}; use gaussian",
            )
        np.add.at(self.successes, key, t.reward)

    def select(
        self, obs: np.ndarray, q_fn: Callable[[], np.ndarray], rng: np.random.Generator
    ) -> np.ndarray:
        c = self.cfg
        n = self.counts[obs]
        if c.posterior == "gaussian":
            mean, std = gaussian_posterior(
                n, self.reward_sums[obs], c.prior_mean, c.prior_std, c.reward_std
            )
            draws = mean + std * rng.standard_normal(mean.shape)
        else:
            s = self.successes[obs]
            draws = rng.beta(c.prior_alpha + s, c.prior_beta + n - s)
        return greedy(draws, rng)
