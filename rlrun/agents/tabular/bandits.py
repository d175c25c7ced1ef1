"""Bandit learners of Sutton & Barto (2nd ed.) chapter 2, in numpy.

Each vector env is its own bandit problem (the testbed's runs), so every table is per env: the
action values a row per env, and the strategy's counts and posteriors with them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.agents.base import Agent
from rlrun.agents.tabular.config import ActionValueConfig, GradientBanditConfig
from rlrun.agents.tabular.table import ValueTable
from rlrun.config.registry import ExplorationConfig
from rlrun.exploration.strategies import sample_categorical
from rlrun.transition import Spaces, Transition


class ActionValue(ValueTable):
    """Q(a) += lr (R - Q(a)), lr = 1/N(a) (sample averages) or constant; actions from the
    exploration strategy (epsilon-greedy, UCB, Thompson sampling, Boltzmann)."""

    def __init__(
        self,
        cfg: ActionValueConfig,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: Any = None,
        seed: int = 0,
    ) -> None:
        super().__init__(spaces.num_envs, cfg.init_value, exploration, spaces, seed)
        self.cfg = cfg
        self.runs = np.arange(spaces.num_envs)
        self.counts = np.zeros(self.q.shape, dtype=np.int64)  # N(a) per run

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        return self.act_rows(self.runs, explore=explore)

    def observe(self, t: Transition, step: int) -> None:
        # each env's problem is a row of every table
        self.strategy.observe(dataclasses.replace(t, obs=self.runs, next_obs=self.runs), step)
        self.counts[self.runs, t.action] += 1
        lr = (
            1.0 / self.counts[self.runs, t.action]
            if self.cfg.learning_rate is None
            else self.cfg.learning_rate
        )
        self.learn_rows(self.runs, t.action, t.reward, lr, distinct=True)  # a row per env


def softmax(h: np.ndarray) -> np.ndarray:
    """pi(a) = exp(H(a)) / sum_b exp(H(b)) over the last axis (shifted: no overflow)."""
    e = np.exp(h - h.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def gradient_bandit_step(
    h: np.ndarray, action: np.ndarray, reward: np.ndarray, baseline: np.ndarray, lr: float
) -> np.ndarray:
    """Preferences after one step (Sutton & Barto eq. 2.12): H(a) += lr (R - baseline)
    (1[a = A] - pi(a)) for every a, pi the softmax of H before the step."""
    one_hot = np.zeros_like(h)
    one_hot[np.arange(len(h)), action] = 1.0
    return h + lr * (reward - baseline)[:, None] * (one_hot - softmax(h))


class GradientBandit(Agent):
    """Action preferences H per run, actions sampled from their softmax (exploration=policy);
    evaluation takes the most preferred."""

    def __init__(
        self,
        cfg: GradientBanditConfig,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: Any = None,
        seed: int = 0,
    ) -> None:
        assert isinstance(spaces.action, gym.spaces.Discrete)
        self.cfg = cfg
        self.h = np.zeros((spaces.num_envs, int(spaces.action.n)))
        self.mean_reward = np.zeros(spaces.num_envs)  # the rewards before this step, averaged
        self.t = 0
        self.rng = np.random.default_rng(seed)

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        if not explore:
            return self.h.argmax(axis=-1)
        return sample_categorical(softmax(self.h), self.rng)

    def observe(self, t: Transition, step: int) -> None:
        """The book's baseline (2nd ed., 2018 text of section 2.8): the average of the rewards
        *before* step t, R_1 at t = 1, so it does not depend on A_t. (The public reproduction,
        ShangtongZhang's chapter02, averages this step's reward in too, as an earlier draft read:
        a difference of (R_t - baseline) / t, gone within tens of steps.)"""
        self.t += 1
        if self.t == 1:
            self.mean_reward = t.reward.astype(np.float64)  # R-bar_1 = R_1
        baseline = self.mean_reward if self.cfg.baseline else np.zeros_like(self.mean_reward)
        self.h = gradient_bandit_step(self.h, t.action, t.reward, baseline, self.cfg.learning_rate)
        self.mean_reward = self.mean_reward + (t.reward - self.mean_reward) / self.t
