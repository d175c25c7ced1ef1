"""Claus & Boutilier's cooperative matrix games as PettingZoo parallel envs."""

import itertools

import numpy as np
import pytest

pytest.importorskip("pettingzoo", reason="the marl extra: pip install -e '.[marl]'")

from pettingzoo.test import parallel_api_test

from rlrun.envs.matrix_games import climbing_game, penalty_game

# Claus & Boutilier (1998), Tables 2 and 3 (rows: agent_0's a, b, c; columns: agent_1's)
CLIMBING = [[11, -30, 0], [-30, 7, 6], [0, 0, 5]]


def penalty(k):
    return [[10, 0, k], [0, 2, 0], [k, 0, 10]]


@pytest.mark.parametrize(
    ("env", "table"),
    [
        (climbing_game(), CLIMBING),
        (penalty_game(k=-25), penalty(-25)),
        (penalty_game(), penalty(0)),
    ],
)
def test_every_joint_action_pays_both_agents_the_table_entry(env, table):
    for a0, a1 in itertools.product(range(3), repeat=2):
        obs, _ = env.reset(seed=0)
        assert obs == {"agent_0": 0, "agent_1": 0}
        _, rewards, terminations, truncations, _ = env.step({"agent_0": a0, "agent_1": a1})
        assert rewards == {"agent_0": table[a0][a1], "agent_1": table[a0][a1]}
        assert terminations == {"agent_0": True, "agent_1": True}  # one play ends the game
        assert truncations == {"agent_0": False, "agent_1": False}
        assert env.agents == []


def test_a_repeated_game_ends_after_its_rounds():
    env = penalty_game(rounds=3)
    env.reset()
    ends = []
    for _ in range(3):
        _, _, terminations, _, _ = env.step({"agent_0": 0, "agent_1": 2})
        ends.append(terminations["agent_0"])
    assert ends == [False, False, True]
    assert env.agents == []


def test_passes_pettingzoos_parallel_api_test():
    parallel_api_test(climbing_game(rounds=5), num_cycles=20)
    parallel_api_test(penalty_game(k=-10, rounds=5), num_cycles=20)


def test_bad_arguments_say_what_would_work():
    with pytest.raises(ValueError, match="k is a penalty and must be <= 0"):
        penalty_game(k=5)
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        climbing_game(rounds=0)
    with pytest.raises(ValueError, match="square matrix"):
        from rlrun.envs.matrix_games import MatrixGame

        MatrixGame(np.zeros((2, 3)))
