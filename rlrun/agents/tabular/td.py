"""Tabular TD control in numpy: Q-learning, SARSA and Expected SARSA.

The three differ only in the value they bootstrap from at the next state; the table, the
exploration and the update rule Q(s,a) += lr * (target - Q(s,a)) are shared.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.agents.tabular.config import TabularConfig
from rlrun.agents.tabular.table import ValueTable
from rlrun.config.registry import ExplorationConfig
from rlrun.maths import td_target
from rlrun.transition import Spaces, Transition


class TabularAgent(ValueTable):
    """A table row per state: Q(s, a) += lr * (r + gamma * V(s') - Q(s, a))."""

    def __init__(
        self,
        cfg: TabularConfig,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: Any = None,
        seed: int = 0,
    ) -> None:
        obs = spaces.observation
        assert isinstance(obs, gym.spaces.Discrete)
        super().__init__(int(obs.n), cfg.init_value, exploration, spaces, seed)
        self.cfg = cfg
        self.obs_start = int(obs.start)

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        return self.act_rows(obs - self.obs_start, explore=explore)

    def observe(self, t: Transition, step: int) -> None:
        rows = t if self.obs_start == 0 else t.shift_obs(-self.obs_start)
        self.strategy.observe(rows, step)  # the strategy's states are the table's rows
        self.td_update(t)

    def td_update(self, t: Transition) -> None:
        """Q(s, a) towards r + gamma * V(s') for each env's transition."""
        next_q = self.q[t.next_obs - self.obs_start]
        next_v = self.next_value(t.next_obs, next_q)
        self.learn(t.obs, t.action, td_target(t.reward, next_v, t.terminated, self.cfg.gamma))

    def next_value(self, next_obs: np.ndarray, next_q: np.ndarray) -> np.ndarray:
        """The bootstrap value V(s') from the next state's action values."""
        raise NotImplementedError

    def learn(self, obs: np.ndarray, action: np.ndarray, target: np.ndarray) -> None:
        """Q(s, a) += lr * (target - Q(s, a)) for each env's transition."""
        self.learn_rows(obs - self.obs_start, action, target, self.cfg.learning_rate)


class QLearning(TabularAgent):
    """Off-policy: bootstrap from the greedy action, max_a' Q(s', a')."""

    def next_value(self, next_obs: np.ndarray, next_q: np.ndarray) -> np.ndarray:
        return next_q.max(axis=-1)


class ExpectedSarsa(TabularAgent):
    """Bootstrap from the expectation of Q(s', .) under the current exploration policy."""

    def next_value(self, next_obs: np.ndarray, next_q: np.ndarray) -> np.ndarray:
        return (self.strategy.probs(next_obs - self.obs_start, next_q) * next_q).sum(axis=-1)


class Sarsa(TabularAgent):
    """On-policy: bootstrap from Q(s', a') for the action a' actually taken at s'.

    That action is only chosen at the next step, so each env's update waits one step. At an
    episode end there is no next step: termination needs no a'; at a truncation a' is drawn
    from the policy at the true final observation.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: Transition | None = None

    def td_update(self, t: Transition) -> None:
        p = self._pending
        if p is not None:
            cont = ~(p.terminated | p.truncated)  # in these envs t.obs == p.next_obs
            if cont.any():
                next_v = self.q[t.obs[cont] - self.obs_start, t.action[cont]]
                target = td_target(p.reward[cont], next_v, 0.0, self.cfg.gamma)
                self.learn(p.obs[cont], p.action[cont], target)
        ended = t.terminated | t.truncated
        if ended.any():
            super().td_update(t.select(ended))
        self._pending = t

    def next_value(self, next_obs: np.ndarray, next_q: np.ndarray) -> np.ndarray:
        """Q(s', a') for a' drawn from the policy now (used only at episode ends)."""
        next_a = self.strategy.select(next_obs - self.obs_start, lambda: next_q, self.rng)
        return next_q[np.arange(len(next_q)), next_a]
