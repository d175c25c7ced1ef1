"""Tabular option-critic (Bacon, Harb & Precup 2017, Algorithm 1) in numpy.

Each training env runs an option o: actions from its softmax policy pi_o(a | s), and on arrival
in s' the option ends with probability beta_o(s') = sigmoid(vartheta[o, s']). After every step
(s, o, a, r, s'):

  critic     U(s', o) = (1 - beta_o(s')) Q(s', o) + beta_o(s') max_o' Q(s', o')
             Q(s, o) and Q(s, o, a) move towards r + gamma U(s', o)  (0 after a terminal s')
  actor      theta[o, s] += intra_lr (Q(s, o, a) - Q(s, o)) (onehot(a) - pi_o(. | s))
  terminate  vartheta[o, s'] -= termination_lr beta (1 - beta) (Q(s', o) - V(s') + xi)

as the paper's four-rooms code does it (the policy gradient's 1 / temperature folded into
intra_lr); then a new option is drawn epsilon-greedily from Q(s', .) where o ended.
Deterministic play runs the greedy option until beta_o(s) >= 1/2, taking its likeliest action.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.agents.hierarchical.base import (
    OptionStats,
    RunsOptions,
    option_table_spaces,
    softmax,
)
from rlrun.agents.hierarchical.config import OptionCriticConfig
from rlrun.agents.tabular.table import ValueTable, step_towards
from rlrun.config.registry import ExplorationConfig
from rlrun.exploration.strategies import sample_categorical
from rlrun.maths import option_arrival_value, td_target
from rlrun.transition import Spaces, Transition


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class OptionCritic(RunsOptions, ValueTable):
    """Q(s, o) is the table (its strategy picks options); Q(s, o, a), the options' policy
    preferences and termination logits are arrays beside it."""

    def __init__(
        self,
        cfg: OptionCriticConfig,
        exploration: ExplorationConfig,
        spaces: Spaces,
        device: Any = None,
        seed: int = 0,
    ) -> None:
        obs, action = spaces.observation, spaces.action
        assert isinstance(obs, gym.spaces.Discrete) and isinstance(action, gym.spaces.Discrete)
        n_states, n_actions, n_options = int(obs.n), int(action.n), cfg.n_options
        option_spaces = option_table_spaces(spaces, n_options)
        super().__init__(n_states, cfg.init_value, exploration, option_spaces, seed)
        self.cfg = cfg
        self.obs_start = int(obs.start)
        self.q_action = np.full((n_states * n_options, n_actions), cfg.init_value)  # row s*O+o
        self.preferences = np.zeros((n_options, n_states, n_actions))  # theta
        self.termination_logits = np.zeros((n_options, n_states))  # vartheta
        self.run_options(spaces.num_envs)
        self.option_stats = OptionStats(n_options, spaces.num_envs)

    def policy(self, o: np.ndarray, s: np.ndarray) -> np.ndarray:
        return softmax(self.preferences[o, s], self.cfg.temperature)

    def beta(self, o: np.ndarray, s: np.ndarray) -> np.ndarray:
        return sigmoid(self.termination_logits[o, s])

    def act(self, obs: np.ndarray, *, explore: bool) -> np.ndarray:
        s = obs - self.obs_start
        if not explore:
            o = self.eval_running
            ended = (o < 0) | (self.beta(o, s) >= 0.5)
            o[ended] = self.q[s[ended]].argmax(axis=-1)
            return self.preferences[o, s].argmax(axis=-1)
        new = self.running < 0
        if new.any():
            self.running[new] = self.act_rows(s[new], explore=True)
        return sample_categorical(self.policy(self.running, s), self.rng)

    def observe(self, t: Transition, step: int) -> None:
        cfg = self.cfg
        rows = t if self.obs_start == 0 else t.shift_obs(-self.obs_start)
        s, a, s2, o = rows.obs, rows.action, rows.next_obs, self.running
        self.strategy.observe(dataclasses.replace(rows, action=o), step)
        beta = self.beta(o, s2)
        q2 = self.q[s2]  # Q(s', .) before this step's updates, for the critic and termination
        v2, q2_o = q2.max(axis=-1), q2[np.arange(len(o)), o]
        target = td_target(
            rows.reward, option_arrival_value(q2_o, v2, beta), rows.terminated, cfg.gamma
        )
        # the actor's advantage from the critic before this step's update, as the paper's
        # four-rooms code has it
        advantage = self.q_action[s * cfg.n_options + o, a] - (
            self.q[s, o] if cfg.baseline else 0.0
        )
        self.learn_rows(s, o, target, cfg.learning_rate)
        step_towards(self.q_action, s * cfg.n_options + o, a, target, cfg.learning_rate)

        grad = -self.policy(o, s)
        grad[np.arange(len(a)), a] += 1.0
        np.add.at(self.preferences, (o, s), cfg.intra_lr * advantage[:, None] * grad)
        going_on = ~rows.terminated
        term_advantage = q2_o - v2 + cfg.deliberation_cost
        np.add.at(
            self.termination_logits,
            (o[going_on], s2[going_on]),
            -cfg.termination_lr * (beta * (1.0 - beta) * term_advantage)[going_on],
        )

        stops = rows.terminated | rows.truncated | (self.rng.random(len(o)) < beta)
        self.option_stats.record(o, beta, going_on, stops)
        self.running[stops] = -1

    def pop_metrics(self) -> dict[str, float]:
        return super().pop_metrics() | self.option_stats.pop()
