"""Tabular TD control in numpy: Q-learning, SARSA and Expected SARSA.

The three differ only in the value they bootstrap from at the next state; the table, the
exploration and the update rule Q(s,a) += lr * (target - Q(s,a)) are shared.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.agents.base import Agent
from rlrun.agents.tabular.config import TabularConfig
from rlrun.config.registry import ExplorationConfig
from rlrun.exploration.base import make_exploration
from rlrun.exploration.strategies import Strategy
from rlrun.maths import td_target
from rlrun.transition import Spaces, Transition


class TabularAgent(Agent):
    def __init__(
        self,
        cfg: TabularConfig,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: Any = None,
        seed: int = 0,
    ) -> None:
        obs, action = spaces.observation, spaces.action
        assert isinstance(obs, gym.spaces.Discrete) and isinstance(action, gym.spaces.Discrete)
        self.cfg = cfg
        self.obs_start = int(obs.start)
        self.q = np.full((int(obs.n), int(action.n)), cfg.init_value, dtype=np.float64)
        self.strategy = make_exploration(exploration, spaces, Strategy)
        self.rng = np.random.default_rng(seed)
        self._td_sq_sum = 0.0
        self._q_sum = 0.0
        self._count = 0

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        q = self.q[obs - self.obs_start]
        if explore:
            return self.strategy.select(obs, lambda: q, self.rng)
        return q.argmax(axis=-1)  # deterministic evaluation: ties go to the first action

    def observe(self, t: Transition, step: int) -> None:
        self.strategy.observe(t, step)
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
        """Q(s, a) += lr * (target - Q(s, a)) for each env's transition, one after another where
        several envs updated the same (s, a) in this step: each update stays a convex step
        towards its target (all at once, k updates of one pair would step k x lr)."""
        s = obs - self.obs_start
        pairs = s * self.q.shape[1] + action
        if len(pairs) == 1 or len(np.unique(pairs)) == len(pairs):  # one env: no sort per step
            td_error = target - self.q[s, action]
            self.q[s, action] += self.cfg.learning_rate * td_error
        else:
            td_error = np.empty(len(pairs))
            for i in range(len(pairs)):
                td_error[i] = target[i] - self.q[s[i], action[i]]
                self.q[s[i], action[i]] += self.cfg.learning_rate * td_error[i]
        self._td_sq_sum += float(np.dot(td_error, td_error))
        self._q_sum += float(self.q[s, action].sum())
        self._count += len(td_error)

    def pop_metrics(self) -> dict[str, float]:
        if self._count == 0:
            return {}
        out = {
            "losses/td_loss": self._td_sq_sum / self._count,
            "losses/q_values": self._q_sum / self._count,
        }
        self._td_sq_sum = self._q_sum = 0.0
        self._count = 0
        return out

    def exploration_value(self) -> tuple[str, float]:
        return self.strategy.tag, self.strategy.value


class QLearning(TabularAgent):
    """Off-policy: bootstrap from the greedy action, max_a' Q(s', a')."""

    def next_value(self, next_obs: np.ndarray, next_q: np.ndarray) -> np.ndarray:
        return next_q.max(axis=-1)


class ExpectedSarsa(TabularAgent):
    """Bootstrap from the expectation of Q(s', .) under the current exploration policy."""

    def next_value(self, next_obs: np.ndarray, next_q: np.ndarray) -> np.ndarray:
        return (self.strategy.probs(next_obs, next_q) * next_q).sum(axis=-1)


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
        next_a = self.strategy.select(next_obs, lambda: next_q, self.rng)
        return next_q[np.arange(len(next_q)), next_a]
