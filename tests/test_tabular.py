"""Tabular TD updates against hand-computed values."""

import gymnasium as gym
import numpy as np
import pytest

from rlrun.agents.tabular.config import TabularConfig
from rlrun.agents.tabular.td import ExpectedSarsa, QLearning, Sarsa
from rlrun.exploration.config import EpsilonGreedyConfig
from rlrun.transition import Spaces, Transition


def make(cls, epsilon: float = 0.0, lr: float = 0.5, gamma: float = 0.9):
    spaces = Spaces(gym.spaces.Discrete(3), gym.spaces.Discrete(2), num_envs=1, total_timesteps=100)
    exploration = EpsilonGreedyConfig(name="epsilon_greedy", schedule="constant", start=epsilon)
    return cls(TabularConfig(learning_rate=lr, gamma=gamma), exploration, spaces, seed=0)


def tr(s, a, r, s2, terminated=False, truncated=False) -> Transition:
    return Transition(
        np.array([s]),
        np.array([a]),
        np.array([r]),
        np.array([s2]),
        np.array([terminated]),
        np.array([truncated]),
    )


def test_qlearning_update():
    agent = make(QLearning)
    agent.q[1] = [2.0, 4.0]
    agent.observe(tr(0, 1, 1.0, 1), step=1)
    # target 1 + 0.9 * max(2, 4) = 4.6; Q(0,1) = 0 + 0.5 * 4.6
    assert agent.q[0, 1] == pytest.approx(2.3)


def test_qlearning_bootstraps_on_truncation_not_termination():
    agent = make(QLearning)
    agent.q[1] = [2.0, 4.0]
    agent.observe(tr(0, 0, 1.0, 1, truncated=True), step=1)
    agent.observe(tr(2, 0, 1.0, 1, terminated=True), step=2)
    assert agent.q[0, 0] == pytest.approx(2.3)  # 0.5 * (1 + 0.9 * 4)
    assert agent.q[2, 0] == pytest.approx(0.5)  # 0.5 * 1


def test_expected_sarsa_uses_policy_expectation():
    agent = make(ExpectedSarsa, epsilon=0.5)
    agent.q[1] = [2.0, 4.0]
    agent.observe(tr(0, 1, 1.0, 1), step=1)
    # pi(.|1) = (0.25, 0.75): V = 0.5 + 3 = 3.5; target 1 + 0.9 * 3.5 = 4.15
    assert agent.q[0, 1] == pytest.approx(0.5 * 4.15)


def test_sarsa_bootstraps_from_the_action_taken_next():
    agent = make(Sarsa)
    agent.q[1] = [2.0, 4.0]
    agent.observe(tr(0, 1, 1.0, 1), step=1)
    assert agent.q[0, 1] == 0.0  # waits for a'
    agent.observe(tr(1, 0, 0.0, 2), step=2)  # a' = 0 although 1 is greedy
    assert agent.q[0, 1] == pytest.approx(0.5 * (1.0 + 0.9 * 2.0))


def test_sarsa_episode_ends():
    agent = make(Sarsa)  # epsilon 0: a' at a truncation is the greedy action
    agent.q[1] = [2.0, 4.0]
    agent.observe(tr(0, 0, 1.0, 1, terminated=True), step=1)
    assert agent.q[0, 0] == pytest.approx(0.5)  # no bootstrap, updated at once
    agent.observe(tr(2, 1, 1.0, 1, truncated=True), step=2)
    assert agent.q[2, 1] == pytest.approx(0.5 * (1.0 + 0.9 * 4.0))
    # The next step starts a new episode: nothing pending from the ended one is updated again.
    before = agent.q.copy()
    agent.observe(tr(0, 1, 0.0, 1), step=3)
    np.testing.assert_array_equal(agent.q, before)
