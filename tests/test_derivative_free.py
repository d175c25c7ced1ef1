"""Derivative-free policy search: the linear policies and update rules by hand, and learning."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlrun.agents.derivative_free.config import ARSConfig, CEMConfig, RandomSearchConfig
from rlrun.agents.derivative_free.policies import FlatPolicy
from rlrun.agents.derivative_free.search import (
    ARS,
    CEM,
    RandomSearch,
    adapt_noise,
    ars_step,
    refit,
)
from rlrun.config.run import EnvConfig
from rlrun.envs.vector import make_vec_env
from rlrun.transition import Spaces, Transition

from .conftest import read_scalars, train


def test_linear_actions_by_hand():
    w = np.array([[1.0, 0.0, 0.0, 1.0], [2.0, 0.0, 0.0, -1.0]])  # two envs' W, row-major
    obs = np.array([[0.2, 0.5], [0.2, 0.5]])
    # W s = (0.2, 0.5) -> action 1; (0.4, -0.5) -> action 0
    discrete = FlatPolicy(2, gym.spaces.Discrete(2), "linear", [], "relu", "clip")
    assert discrete.size == 4
    np.testing.assert_array_equal(discrete.actions(w, obs), [1, 0])
    box = gym.spaces.Box(-0.3, 0.3, (2,), np.float32)
    clipped = FlatPolicy(2, box, "linear", [], "relu", "clip")
    np.testing.assert_allclose(clipped.actions(w, obs), [[0.2, 0.3], [0.3, -0.3]])
    # tanh: low + (tanh(x) + 1) / 2 * (high - low) = 0.3 * tanh(x) here
    squashed = FlatPolicy(2, box, "linear", [], "relu", "tanh")
    np.testing.assert_allclose(
        squashed.actions(w, obs), 0.3 * np.tanh([[0.2, 0.5], [0.4, -0.5]]), rtol=1e-6
    )


def test_mlp_policy_by_hand():
    # 2 inputs -> 2 relu units -> 1 output: W1 = [[1, -1], [0.5, 2]], b1 = [0, -1],
    # W2 = [[2, 3]], b2 = [0.5]; layout W1, b1, W2, b2
    params = np.array([[1.0, -1.0, 0.5, 2.0, 0.0, -1.0, 2.0, 3.0, 0.5]])
    net = FlatPolicy(2, gym.spaces.Box(-10, 10, (1,)), "mlp", [2], "relu", "clip")
    assert net.size == 9
    # s = (1, 1): hidden relu(0, 1.5) = (0, 1.5); out 2 * 0 + 3 * 1.5 + 0.5 = 5
    # s = (2, 0): hidden relu(2, 0) = (2, 0); out 4 + 0.5 = 4.5
    obs = np.array([[1.0, 1.0], [2.0, 0.0]])
    np.testing.assert_allclose(net.outputs(np.repeat(params, 2, 0), obs), [[5.0], [4.5]])


def test_flat_policy_computes_what_torch_computes_from_the_same_weights():
    """The layout and the maths against torch's own layers, and the initialisation's bounds
    (nn.Linear's default: U(+-1/sqrt(fan_in)) for weights and biases)."""
    torch = pytest.importorskip("torch")
    net = FlatPolicy(3, gym.spaces.Box(-1, 1, (2,)), "mlp", [5, 4], "tanh", "clip")
    params = net.init(np.random.default_rng(0))
    assert net.size == len(params) == 5 * 3 + 5 + 4 * 5 + 4 + 2 * 4 + 2
    assert np.abs(params[:20]).max() <= 1 / np.sqrt(3) and np.abs(params[20:44]).max() <= 0.5
    layers = [torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 4), torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(4, 2)).double()
    offset = 0
    for layer in (model[0], model[2], model[4]):
        for tensor in (layer.weight, layer.bias):
            n = tensor.numel()
            tensor.data = torch.from_numpy(params[offset : offset + n]).reshape(tensor.shape)
            offset += n
    obs = np.random.default_rng(1).standard_normal((6, 3))
    expected = model(torch.from_numpy(obs)).detach().numpy()
    np.testing.assert_allclose(net.outputs(np.tile(params, (6, 1)), obs), expected, atol=1e-12)


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
    assert np.array_equal(agent.mean, np.zeros(8)) and agent.std.max() == 1.0
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


def test_ars_step_by_hand():
    theta = np.array([1.0, 0.0])
    deltas = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    plus, minus = np.array([3.0, 1.0, 0.0]), np.array([1.0, 4.0, 2.0])
    # best of each pair: 3, 4, 2 -> n_top=2 keeps directions 1 and 0 (in that order)
    # kept returns (1, 3, 4, 1): mean 2.25, sample std sqrt(8.75 / 3)
    sigma = np.sqrt(((1 - 2.25) ** 2 + 0.75**2 + 1.75**2 + 1.25**2) / 3)
    step = 0.1 / (2 * sigma + 1e-6)
    # sum (r+ - r-) delta: (1 - 4) * (0, 1) + (3 - 1) * (1, 0) = (2, -3)
    new, got_sigma, got_step = ars_step(theta, deltas, plus, minus, 0.1, n_top=2)
    assert got_sigma == pytest.approx(sigma) and got_step == pytest.approx(step)
    np.testing.assert_allclose(new, theta + step * np.array([2.0, -3.0]))
    # equal returns: no direction is better than its opposite, theta stays
    same, _, _ = ars_step(theta, deltas, np.ones(3), np.ones(3), 0.1, n_top=3)
    np.testing.assert_array_equal(same, theta)


def ars_for(num_envs: int, **cfg) -> ARS:
    env = make_vec_env(EnvConfig(id="CartPole-v1"), num_envs)
    return ARS(ARSConfig(**cfg), None, Spaces.of(env, 1000))


def test_ars_scores_antithetic_pairs_and_steps_once_all_are_in():
    agent = ars_for(2, n_delta=2, delta_std=0.5, learning_rate=0.1, n_top=1)
    theta, deltas = agent.theta.copy(), agent.deltas.copy()
    assert np.array_equal(theta, np.zeros(8))  # zero_policy
    np.testing.assert_allclose(agent.candidates, theta + 0.5 * deltas)  # +delta_0, +delta_1
    end_episodes(agent, [5.0, 2.0], [True, True])
    np.testing.assert_allclose(agent.candidates, theta - 0.5 * deltas)  # then their opposites
    assert agent.iterations == 0
    end_episodes(agent, [1.0, 3.0], [True, True])  # plus (5, 2), minus (1, 3)
    expected, _, _ = ars_step(theta, deltas, np.array([5.0, 2.0]), np.array([1.0, 3.0]), 0.1, 1)
    assert agent.iterations == 1
    np.testing.assert_allclose(agent.theta, expected)
    np.testing.assert_allclose(agent.candidates, expected + 0.5 * agent.deltas)  # next iteration


def test_ars_envs_without_a_candidate_run_the_policy_and_rejoin():
    agent = ars_for(3, n_delta=1, alive_bonus_offset=-1.0)
    theta, deltas = agent.theta.copy(), agent.deltas.copy()
    assert list(agent.searching) == [True, True, False]  # 2 candidates, 3 envs
    np.testing.assert_array_equal(agent.candidates[2], agent.theta)
    end_episodes(agent, [1.0, 1.0, 1.0], [False, False, False])
    end_episodes(agent, [1.0, 2.0, 7.0], [True, False, True])  # env 2: a policy episode
    assert agent.policy_returns == [8.0] and list(agent.searching) == [False, True, False]
    end_episodes(agent, [0.0, 1.0, 0.0], [False, True, False])
    # env 1's candidate (-delta) scored 4 - 3 steps = 1 (the alive offset); env 0's 2 - 2 = 0
    expected, _, _ = ars_step(theta, deltas, np.array([0.0]), np.array([1.0]), 0.02, 1)
    assert agent.iterations == 1
    np.testing.assert_allclose(agent.theta, expected)
    assert list(agent.searching) == [False, True, False]  # env 1 took the next +delta
    # envs 0 and 2 are in policy episodes while -delta waits: env 0 gives its up and takes it
    assert list(agent.restart()) == [True, False, False]
    np.testing.assert_allclose(agent.candidates[0], agent.theta - 0.05 * agent.deltas[0])
    assert list(agent.searching) == [True, True, False] and agent.returns[0] == 0.0
    assert agent.restart() is None  # nothing waits


def test_ars_v2_whitens_with_the_last_iterations_states():
    agent = ars_for(2, n_delta=1, normalize_obs=True)
    obs = np.array([[1.0, 2.0, 3.0, 4.0], [3.0, 2.0, 1.0, 0.0]], np.float32)
    # the first iteration sees observations as they are (mean 0, std 1)
    np.testing.assert_allclose(agent.normalize(obs.astype(np.float64)), obs, rtol=1e-6)
    n = 2
    t = Transition(obs, np.zeros(n, np.int64), np.ones(n), obs, np.ones(n, bool), np.zeros(n, bool))
    agent.observe(t, 2)  # both candidates end: the states' mean (2, 2, 2, 2), var (1, 0, 1, 4)
    rms = agent.normalizer.rms
    np.testing.assert_allclose(rms.mean, [2.0, 2.0, 2.0, 2.0], rtol=1e-3)
    np.testing.assert_allclose(rms.var, [1.0, 0.0, 1.0, 4.0], atol=1e-3)
    np.testing.assert_allclose(
        agent.normalize(obs.astype(np.float64))[0, [0, 3]], [-1.0, 1.0], rtol=1e-3
    )


@pytest.mark.parametrize(
    "overrides",
    [
        ("agent.n_delta=2",),  # the Zoo's CartPole preset
        (  # an MLP's weights need a larger step than the linear preset's 0.02 within 50k
            "agent.policy=mlp",
            "agent.net_arch=[16]",
            "agent.normalize_obs=true",
            "agent.n_delta=4",
            "agent.learning_rate=0.04",
        ),
    ],
)
def test_ars_solves_cartpole(tmp_path, overrides):
    for seed in range(3):
        trainer = train(
            tmp_path / str(seed),
            "agent=ars",
            "env=cartpole",
            *overrides,
            f"seed={seed}",
            "total_timesteps=50000",
            "eval.every_steps=10000",
        )
        assert trainer.result.best_eval_mean_return >= 475, (seed, overrides)
