"""PettingZoo envs by import path, and their copies stepped together as per-agent arrays."""

from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("pettingzoo", reason="the marl extra: pip install -e '.[marl]'")

from pettingzoo import ParallelEnv

from rlrun.envs.multiagent import ParallelVectorEnv, parallel_env_factory
from rlrun.errors import ConfigError, RlrunError


def test_copies_pay_their_own_joint_actions_and_reset_after_the_last_round():
    make = parallel_env_factory("rlrun.envs.matrix_games:penalty_game", {"k": -10, "rounds": 2})
    env = ParallelVectorEnv(make, 3)
    assert env.agents == ["agent_0", "agent_1"]
    obs, _ = env.reset(seed=0)
    assert obs["agent_0"].dtype == np.int64 and obs["agent_0"].shape == (3,)
    # copy 0: (a, a) = 10, copy 1: (a, c) = k, copy 2: (b, b) = 2
    joint = {"agent_0": np.array([0, 0, 1]), "agent_1": np.array([0, 2, 1])}
    first = env.step(joint)
    np.testing.assert_array_equal(first.reward["agent_1"], [10, -10, 2])
    assert not first.ended.any() and not first.terminated["agent_0"].any()
    second = env.step({"agent_0": np.array([2, 2, 1]), "agent_1": np.array([2, 0, 1])})
    assert second.ended.all() and second.terminated["agent_0"].all()
    np.testing.assert_array_equal(second.returns[:, 0], [20, -20, 4])  # both rounds summed
    np.testing.assert_array_equal(second.returns[:, 1], second.returns[:, 0])
    np.testing.assert_array_equal(second.lengths, [2, 2, 2])
    third = env.step(joint)  # a new episode: its returns start again from zero
    assert not third.ended.any() and env._returns[0, 0] == 10


def test_a_module_path_gives_its_parallel_env_and_an_aec_env_is_converted():
    for env_id in ("pettingzoo.classic.rps_v2", "pettingzoo.classic.rps_v2:env"):
        env = ParallelVectorEnv(parallel_env_factory(env_id, {"max_cycles": 3}), 2)
        env.reset(seed=1)
        rock, paper = np.zeros(2, dtype=np.int64), np.ones(2, dtype=np.int64)
        step = env.step({"player_0": rock, "player_1": paper})
        np.testing.assert_array_equal(step.reward["player_0"], [-1, -1])  # paper covers rock
        np.testing.assert_array_equal(step.reward["player_1"], [1, 1])
        np.testing.assert_array_equal(step.next_obs["player_0"], [1, 1])  # it saw paper


@pytest.mark.parametrize(
    ("env_id", "kwargs", "key", "says"),
    [
        ("pettingzoo.classic.tictactoe_v3:env", {}, "env.id", "turn-based (AEC)"),
        ("no_such_package.envs:env", {}, "env.id", "cannot import 'no_such_package.envs'"),
        ("rlrun.envs.matrix_games", {}, "env.id", "has no function parallel_env or env"),
        ("rlrun.envs.matrix_games:climbing_game", {"colour": 1}, "env.kwargs", "rejected"),
        ("rlrun.envs.matrix_games:AGENTS", {}, "env.id", "has no function AGENTS"),
    ],
)
def test_bad_env_ids_and_arguments_fail_in_one_line_naming_the_key(env_id, kwargs, key, says):
    with pytest.raises(ConfigError) as e:
        parallel_env_factory(env_id, kwargs)
    assert e.value.key == key and says in str(e.value) and "\n" not in str(e.value)


class EarlyExit(ParallelEnv):
    """`runner` plays 3 steps; `quitter` is terminated after its first."""

    metadata: ClassVar[dict] = {"name": "early_exit_v0"}

    def __init__(self, discrete: bool = False):
        self.possible_agents = ["runner", "quitter"]
        box = gym.spaces.Box(-10, 10, (2,), np.float32)
        self.obs_space = gym.spaces.Discrete(5) if discrete else box
        self.sent: list[dict] = []

    def observation_space(self, agent):
        return self.obs_space

    def action_space(self, agent):
        return gym.spaces.Discrete(2)

    def _obs(self):
        if isinstance(self.obs_space, gym.spaces.Discrete):
            return dict.fromkeys(self.agents, self.t)
        return {a: np.full(2, self.t + 1, np.float32) for a in self.agents}

    def reset(self, seed=None, options=None):
        self.agents, self.t = list(self.possible_agents), 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions):
        self.sent.append(dict(actions))
        self.t += 1
        term = {a: (a == "quitter") or self.t == 3 for a in self.agents}
        out = self._obs(), dict.fromkeys(self.agents, 1.0), term, dict.fromkeys(self.agents, False)
        self.agents = [a for a in self.agents if not term[a]]
        return (*out, {a: {} for a in out[1]})


def test_an_agent_done_early_is_death_masked_until_the_episode_ends():
    env = ParallelVectorEnv(EarlyExit, 1)
    env.reset(seed=0)
    both = {"runner": np.array([1]), "quitter": np.array([0])}
    first = env.step(both)
    assert first.terminated["quitter"][0] and not first.ended[0]
    np.testing.assert_array_equal(first.next_obs["quitter"][0], [2, 2])  # its real last obs
    for _ in range(2):
        step = env.step(both)
        assert step.terminated["quitter"][0] and step.reward["quitter"][0] == 0
        np.testing.assert_array_equal(step.next_obs["quitter"][0], [0, 0])
    assert step.ended[0] and step.terminated["runner"][0]
    np.testing.assert_array_equal(step.returns[0], [3, 1])
    assert [sorted(a) for a in env.envs[0].sent] == [["quitter", "runner"], ["runner"], ["runner"]]
    np.testing.assert_array_equal(step.obs["quitter"][0], [1, 1])  # the next episode's first


def test_death_masking_refuses_discrete_observations():
    env = ParallelVectorEnv(lambda: EarlyExit(discrete=True), 1)
    env.reset(seed=0)
    with pytest.raises(RlrunError, match="needs Box observations"):
        env.step({"runner": np.array([1]), "quitter": np.array([0])})


def test_simple_spread_runs_unmodified_from_mpe2():
    pytest.importorskip("mpe2")
    kwargs = {"N": 3, "max_cycles": 25, "continuous_actions": False}
    env = ParallelVectorEnv(parallel_env_factory("mpe2.simple_spread_v3", kwargs), 2)
    obs, _ = env.reset(seed=0)
    assert env.agents == ["agent_0", "agent_1", "agent_2"]
    assert obs["agent_0"].shape == (2, 18) and obs["agent_0"].dtype == np.float32
    rng = np.random.default_rng(0)
    for t in range(25):
        step = env.step({a: rng.integers(0, 5, 2) for a in env.agents})
        assert step.ended.all() == (t == 24)
    assert step.truncated["agent_1"].all() and not step.terminated["agent_1"].any()
    np.testing.assert_array_equal(step.lengths, [25, 25])
    assert (step.returns < 0).all()  # distances to landmarks are penalised every step
