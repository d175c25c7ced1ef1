"""Derivative-free policy search: the linear policies and update rules by hand, and learning."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlrun.agents.derivative_free.config import CEMConfig, RandomSearchConfig
from rlrun.agents.derivative_free.search import (
    CEM,
    RandomSearch,
    adapt_noise,
    linear_actions,
    refit,
)
from rlrun.config.run import EnvConfig
from rlrun.envs.vector import make_vec_env
from rlrun.transition import Spaces, Transition

from .conftest import read_scalars, train


def test_linear_actions_by_hand():
    w = np.array([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, -1.0]]])  # two envs' W
    obs = np.array([[0.2, 0.5], [0.2, 0.5]])
    # W s = (0.2, 0.5) -> action 1; (0.4, -0.5) -> action 0
    np.testing.assert_array_equal(linear_actions(w, obs, gym.spaces.Discrete(2)), [1, 0])
    box = gym.spaces.Box(-0.3, 0.3, (2,), np.float32)
    np.testing.assert_allclose(linear_actions(w, obs, box), [[0.2, 0.3], [0.3, -0.3]])


def test_adaptive_noise_halves_on_improvement_and_doubles_otherwise():
    assert adapt_noise(1.0, True, 1e-3, 2.0) == 0.5
    assert adapt_noise(1.0, False, 1e-3, 2.0) == 2.0
    assert adapt_noise(1.5, False, 1e-3, 2.0) == 2.0  # capped
    assert adapt_noise(1.5e-3, True, 1e-3, 2.0) == 1e-3  # floored


def agent_for(variant: str, num_envs: int = 2) -> RandomSearch:
    env = make_vec_env(EnvConfig(id="CartPole-v1"), num_envs)
    return RandomSearch(RandomSearchConfig(variant=variant), None, Spaces.of(env, 1000))


def end_episodes(agent: RandomSearch, rewards: list[float], done: list[bool]) -> None:
    n = len(rewards)
    zeros = np.zeros((n, 4), np.float32)
    t = Transition(
        zeros, np.zeros(n, np.int64), np.array(rewards), zeros, np.array(done), np.zeros(n, bool)
    )
    agent.observe(t, 0)


def test_random_search_keeps_the_best_candidate_and_draws_fresh_ones():
    agent = agent_for("random")
    first, second = agent.candidates[0].copy(), agent.candidates[1].copy()
    end_episodes(agent, [3.0, 0.0], [False, False])
    end_episodes(agent, [2.0, 4.0], [True, True])  # returns: env 0 5.0, env 1 4.0
    assert agent.best_score == 5.0 and np.array_equal(agent.best, first)
    assert agent.tried == 2 and not np.array_equal(agent.candidates[1], second)
    end_episodes(agent, [1.0, 9.0], [True, True])  # 1.0 and 9.0: env 1's new candidate wins
    assert agent.best_score == 9.0 and agent.tried == 4


def test_hill_climbing_perturbs_the_best_with_an_adaptive_scale():
    agent = agent_for("hill_climbing", num_envs=1)
    end_episodes(agent, [5.0], [True])  # the first score: the best, the scale stays
    best = agent.best.copy()
    assert agent.best_score == 5.0 and agent.noise == 1.0
    step = agent.candidates[0] - best  # the next candidate: best + 1.0 * N(0, I)
    assert 0 < np.abs(step).max() < 10
    end_episodes(agent, [4.0], [True])  # worse: the scale doubles (to the cap, 2.0)
    assert agent.noise == 2.0 and np.array_equal(agent.best, best)
    end_episodes(agent, [7.0], [True])  # better: kept, the scale halves
    assert agent.noise == 1.0 and agent.best_score == 7.0


@pytest.mark.parametrize("variant", ["random", "hill_climbing"])
def test_a_500_return_linear_policy_within_200_candidates(tmp_path, variant):
    """Issue 12's beginner target, on 3 seeds: the candidate count is read when best_return
    first shows 500 (logged every 250 steps, so an upper bound). Evaluation acts with the best:
    far above a random linear policy (~20-50 here), if not always 500 on 10 other episodes (a
    candidate can score 500 on its own 3 episodes by luck; benchmarks/README.md)."""
    for seed in range(3):
        run = tmp_path / str(seed)
        trainer = train(
            run,
            "agent=random_search",
            f"agent.variant={variant}",
            "agent.episodes_per_candidate=3",
            "env=cartpole",
            f"seed={seed}",
            "total_timesteps=30000",
            "logger.log_every_steps=250",
            "eval.every_steps=30000",
        )
        scalars = read_scalars(run)
        best = scalars["charts/best_return"]
        solved = next(step for step, value in best if value >= 500)
        candidates = dict(scalars["charts/candidates"])[solved]
        assert candidates <= 200, (seed, candidates)
        assert trainer.result.final_eval.mean_return >= 200, seed


def test_cem_refits_to_the_elite_by_hand():
    candidates = np.array([[[0.0]], [[1.0]], [[3.0]], [[5.0]]])
    scores = np.array([1.0, 4.0, 3.0, 2.0])
    # elite_frac 0.5: the best 2 are 1.0 (score 4) and 3.0 (score 3): mean 2, std 1
    mean, std = refit(candidates, scores, 0.5, extra_std=0.25)
    np.testing.assert_allclose(mean, [[2.0]])
    np.testing.assert_allclose(std, [[1.25]])
    # a fraction that rounds up: ceil(0.3 * 4) = 2 again; at least one elite
    np.testing.assert_allclose(refit(candidates, scores, 0.3, 0.0)[0], [[2.0]])
    np.testing.assert_allclose(refit(candidates, scores, 0.01, 0.0)[0], [[1.0]])


def test_cem_refits_once_a_population_is_scored():
    env = make_vec_env(EnvConfig(id="CartPole-v1"), 2)
    agent = CEM(CEMConfig(population=4, elite_frac=0.5), None, Spaces.of(env, 1000))
    assert np.array_equal(agent.mean, np.zeros((2, 4))) and agent.std.max() == 1.0
    seen = [agent.candidates[0].copy(), agent.candidates[1].copy()]
    end_episodes(agent, [1.0, 2.0], [True, True])
    seen += [agent.candidates[0].copy(), agent.candidates[1].copy()]
    assert agent.generations == 0 and len(agent.generation) == 2
    end_episodes(agent, [4.0, 3.0], [True, True])  # scores 1, 2, 4, 3: the elite is seen[2:]
    assert agent.generations == 1 and agent.generation == []
    np.testing.assert_allclose(agent.mean, (seen[2] + seen[3]) / 2)
    np.testing.assert_allclose(agent.std, np.abs(seen[2] - seen[3]) / 2)


def test_cem_solves_cartpole(tmp_path):
    for seed in range(3):
        trainer = train(
            tmp_path / str(seed),
            "agent=cem",
            "env=cartpole",
            f"seed={seed}",
            "total_timesteps=100000",
            "eval.every_steps=20000",
        )
        assert trainer.result.best_eval_mean_return >= 475, seed
