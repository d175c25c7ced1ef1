"""Bandits (Sutton & Barto chapter 2): the testbed env, the update rules against hand-computed
values, UCB and Thompson sampling, and the testbed runner through Hydra and TensorBoard."""

import json
import math

import gymnasium as gym
import numpy as np
import pytest

import rlrun.envs  # noqa: F401  (registers rlrun/Bandit-v0)
from rlrun.agents.tabular.bandits import ActionValue, GradientBandit, gradient_bandit_step
from rlrun.agents.tabular.config import ActionValueConfig, GradientBanditConfig, TabularConfig
from rlrun.agents.tabular.td import QLearning
from rlrun.envs.bandits import BanditTestbed
from rlrun.errors import ConfigError
from rlrun.exploration.config import (
    EpsilonGreedyConfig,
    PolicySamplingConfig,
    ThompsonConfig,
    UCBConfig,
)
from rlrun.exploration.strategies import gaussian_posterior, ucb_scores
from rlrun.report import pool_testbed
from rlrun.transition import Spaces, Transition

from .conftest import read_scalars, run_cli, train


def spaces(runs: int = 1, k: int = 3) -> Spaces:
    return Spaces(gym.spaces.Discrete(1), gym.spaces.Discrete(k), runs, total_timesteps=100)


def pull(agent, actions, rewards, step=1) -> None:
    n = len(actions)
    zeros = np.zeros(n, dtype=np.int64)
    agent.observe(
        Transition(
            zeros,
            np.asarray(actions),
            np.asarray(rewards, dtype=np.float64),
            zeros,
            np.zeros(n, bool),
            np.zeros(n, bool),
        ),
        step,
    )


# --- update rules ---------------------------------------------------------------------------


def test_sample_average_and_constant_step_size():
    greedy = EpsilonGreedyConfig(name="epsilon_greedy", schedule="constant", start=0.0)
    avg = ActionValue(ActionValueConfig(learning_rate=None), greedy, spaces(runs=2))
    pull(avg, [0, 2], [1.0, -1.0])
    pull(avg, [0, 2], [3.0, 0.0])
    pull(avg, [0, 1], [8.0, 5.0])
    np.testing.assert_allclose(avg.q, [[4.0, 0, 0], [0, 5.0, -0.5]])  # (1+3+8)/3; (-1+0)/2
    const = ActionValue(ActionValueConfig(learning_rate=0.5, init_value=5.0), greedy, spaces())
    pull(const, [1], [1.0])
    pull(const, [1], [3.0])
    assert const.q[0].tolist() == [5.0, 5.0 + 0.5 * (1 - 5) + 0.5 * (3 - 3.0), 5.0]  # 3 then 3


def test_optimistic_greedy_tries_every_arm_first():
    greedy = EpsilonGreedyConfig(name="epsilon_greedy", schedule="constant", start=0.0)
    agent = ActionValue(ActionValueConfig(learning_rate=0.1, init_value=5.0), greedy, spaces(k=4))
    tried = []
    for _ in range(4):
        a = agent.act(np.zeros(1, np.int64), explore=True)
        tried.append(int(a[0]))
        pull(agent, a, [0.0])  # any real reward disappoints a value of 5
    assert sorted(tried) == [0, 1, 2, 3]


def test_ucb_scores_by_hand():
    q = np.array([[1.0, 2.0, 0.0]])
    counts = np.array([[2, 3, 0]])
    scores = ucb_scores(q, counts, c=2.0)
    # t = 5 visits + 1 = 6: 1 + 2 sqrt(ln 6 / 2), 2 + 2 sqrt(ln 6 / 3), untried: +inf
    assert scores[0, 0] == pytest.approx(1 + 2 * math.sqrt(math.log(6) / 2))
    assert scores[0, 1] == pytest.approx(2 + 2 * math.sqrt(math.log(6) / 3))
    assert scores[0, 2] == math.inf
    # c = 0 is greedy, yet an untried arm still goes first (no 0 * inf)
    assert ucb_scores(q, counts, c=0.0).tolist() == [[1.0, 2.0, math.inf]]


def test_ucb_counts_each_problem_and_picks_the_highest_bound():
    agent = ActionValue(ActionValueConfig(), UCBConfig(c=1.0), spaces(runs=2, k=2))
    obs = np.zeros(2, np.int64)
    first = agent.act(obs, explore=True)  # nothing tried: a random arm in each problem
    pull(agent, first, [1.0, 1.0])
    second = agent.act(obs, explore=True)
    assert (second == 1 - first).all()  # the untried arm next
    pull(agent, second, [0.0, 0.0])
    np.testing.assert_array_equal(agent.strategy.counts, [[1, 1], [1, 1]])
    # Q = 1 and 0, each tried once, t = 3: 1 + sqrt(ln 3) > 0 + sqrt(ln 3): the first arm
    assert (agent.act(obs, explore=True) == first).all()


def test_ucb_in_an_mdp_counts_states_by_table_row():
    s = Spaces(gym.spaces.Discrete(3, start=5), gym.spaces.Discrete(2), 1, 100)
    agent = QLearning(TabularConfig(learning_rate=0.5, gamma=0.9), UCBConfig(c=2.0), s)
    agent.observe(
        Transition(
            np.array([6]), np.array([1]), np.array([0.0]), np.array([7]), *np.zeros((2, 1), bool)
        ),
        1,
    )
    assert agent.strategy.counts.tolist() == [[0, 0], [0, 1], [0, 0]]
    assert agent.act(np.array([6]), explore=True).tolist() == [0]  # the untried action


def test_gaussian_posterior_by_hand():
    # prior N(0, 1), noise std 1, three rewards summing to 6: precision 1 + 3 = 4
    mean, std = gaussian_posterior(np.array(3), np.array(6.0), 0.0, 1.0, 1.0)
    assert (float(mean), float(std)) == pytest.approx((1.5, 0.5))
    # a prior N(1, 2^2) and noise std 2, one reward 3: precision 1/4 + 1/4, mean (1/4 + 3/4) / 0.5
    mean, std = gaussian_posterior(np.array(1), np.array(3.0), 1.0, 2.0, 2.0)
    assert (float(mean), float(std)) == pytest.approx((2.0, math.sqrt(2)))


def test_thompson_beta_draws_from_the_posterior_counts():
    cfg = ThompsonConfig(posterior="beta", prior_alpha=1.0, prior_beta=2.0)
    agent = ActionValue(ActionValueConfig(), cfg, spaces(k=3), seed=7)
    for a, r in [(0, 1.0), (0, 1.0), (0, 0.0), (2, 0.0)]:
        pull(agent, [a], [r])
    assert agent.strategy.successes.tolist() == [[2.0, 0.0, 0.0]]
    assert agent.strategy.counts.tolist() == [[3, 0, 1]]
    rng = np.random.default_rng(123)
    agent.rng = np.random.default_rng(123)
    # Beta(1 + 2, 2 + 1), Beta(1, 2), Beta(1, 2 + 1): the same generator's draws, argmax
    draws = rng.beta(np.array([[3.0, 1.0, 1.0]]), np.array([[3.0, 2.0, 3.0]]))
    assert agent.act(np.zeros(1, np.int64), explore=True).tolist() == [int(draws.argmax())]
    with pytest.raises(ConfigError, match=r"exploration\.posterior: beta needs rewards of 0 or 1"):
        pull(agent, [1], [0.5])


def test_thompson_gaussian_concentrates_on_the_best_arm():
    cfg = ThompsonConfig(posterior="gaussian")
    agent = ActionValue(ActionValueConfig(), cfg, spaces(runs=200, k=3), seed=0)
    means = np.array([0.0, 1.0, 0.5])
    rng = np.random.default_rng(0)
    for step in range(300):
        a = agent.act(np.zeros(200, np.int64), explore=True)
        pull(agent, a, means[a] + rng.standard_normal(200), step)
    assert (agent.act(np.zeros(200, np.int64), explore=True) == 1).mean() > 0.8


def test_gradient_bandit_step_by_hand():
    h = np.zeros((1, 3))
    # pi = 1/3 each; R - baseline = 1: H(A) += 0.1 * (2/3), the others -= 0.1 * (1/3)
    new = gradient_bandit_step(h, np.array([1]), np.array([2.0]), np.array([1.0]), lr=0.1)
    np.testing.assert_allclose(new, [[-0.1 / 3, 0.2 / 3, -0.1 / 3]])
    h = np.array([[0.0, math.log(3.0)]])  # pi = (1/4, 3/4)
    new = gradient_bandit_step(h, np.array([0]), np.array([-1.0]), np.array([1.0]), lr=0.5)
    np.testing.assert_allclose(new, [[0.0 - 0.5 * 2 * 0.75, math.log(3.0) + 0.5 * 2 * 0.75]])


def test_gradient_bandit_baseline_is_the_average_before_this_step():
    policy = PolicySamplingConfig()
    agent = GradientBandit(GradientBanditConfig(learning_rate=0.1), policy, spaces(k=2))
    pull(agent, [0], [4.0])  # R-bar_1 = R_1: R - baseline = 0
    assert agent.h.tolist() == [[0.0, 0.0]]
    pull(agent, [0], [6.0])  # baseline 4 (the rewards before): H(0) += 0.1 * 2 * 0.5
    np.testing.assert_allclose(agent.h, [[0.1, -0.1]])
    pull(agent, [1], [2.0])  # baseline (4 + 6) / 2 = 5; pi = softmax(0.1, -0.1)
    pi1 = 1 / (1 + np.exp(0.2))
    np.testing.assert_allclose(agent.h, [[0.1 - 0.1 * -3 * (1 - pi1), -0.1 + 0.1 * -3 * (1 - pi1)]])
    plain = GradientBandit(GradientBanditConfig(baseline=False), policy, spaces(k=2))
    pull(plain, [0], [4.0])  # no baseline: R itself
    np.testing.assert_allclose(plain.h, [[0.2, -0.2]])


# --- the testbed env ------------------------------------------------------------------------


def test_testbed_draws_problems_and_rewards_as_the_book():
    env = gym.make_vec("rlrun/Bandit-v0", 4000, vectorization_mode="vector_entry_point")
    assert isinstance(env, BanditTestbed)
    env.reset(seed=0)
    q = env.q_star.copy()
    assert abs(q.mean()) < 0.02 and abs(q.std() - 1) < 0.02  # q*(a) ~ N(0, 1)
    actions = np.arange(4000) % 10
    _, reward, terminated, truncated, info = env.step(actions)
    noise = reward - q[np.arange(4000), actions]
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1) < 0.05  # R ~ N(q*(a), 1)
    np.testing.assert_array_equal(info["optimal_action"], actions == q.argmax(axis=1))
    assert not terminated.any() and not truncated.any()
    again = gym.make_vec("rlrun/Bandit-v0", 4000, vectorization_mode="vector_entry_point")
    again.reset(seed=0)
    np.testing.assert_array_equal(again.q_star, q)  # the batch is the seed's


def test_testbed_variants():
    walk = BanditTestbed(num_envs=3000, q_std=0.0, walk_std=0.01)
    walk.reset(seed=1)
    assert (walk.q_star == 0).all()
    _, _, _, _, info = walk.step(np.zeros(3000, np.int64))
    assert info["optimal_action"].all()  # all arms tie at the start: any is optimal
    for _ in range(99):
        walk.step(np.zeros(3000, np.int64))
    assert walk.q_star.std() == pytest.approx(0.01 * math.sqrt(100), rel=0.05)  # a random walk
    coins = BanditTestbed(num_envs=5000, distribution="bernoulli")
    coins.reset(seed=2)
    assert (coins.q_star >= 0).all() and (coins.q_star <= 1).all()
    _, reward, _, _, _ = coins.step(np.zeros(5000, np.int64))
    assert set(np.unique(reward)) <= {0.0, 1.0}
    assert reward.mean() == pytest.approx(coins.q_star[:, 0].mean(), abs=0.03)
    limited = BanditTestbed(num_envs=2, max_episode_steps=2)
    limited.reset(seed=3)
    first = limited.q_star.copy()
    limited.step(np.zeros(2, np.int64))
    _, _, _, truncated, info = limited.step(np.zeros(2, np.int64))
    assert truncated.all() and info["_final_obs"].all()
    assert (limited.q_star != first).all()  # a fresh problem after the time limit


# --- the testbed runner, through Hydra ------------------------------------------------------


def test_epsilon_greedy_beats_greedy_and_ucb_beats_both(tmp_path):
    """Figures 2.2 and 2.4 in small: 2000 problems x 1000 steps each, the book's settings."""
    runs = {}
    for name, overrides in {
        "greedy": [
            "exploration=epsilon_greedy",
            "exploration.schedule=constant",
            "exploration.start=0",
        ],
        "eps0.1": ["exploration.start=0.1"],  # the agent's default: constant epsilon
        "ucb": ["exploration=ucb", "exploration.c=2"],
    }.items():
        runs[name] = train(tmp_path / name, "agent=action_value", "env=testbed", *overrides)
    curves = {name: r.curves for name, r in runs.items()}
    late = slice(500, 1000)  # steps 501..1000
    assert curves["eps0.1"].optimal[late].mean() > curves["greedy"].optimal[late].mean() + 0.3
    assert curves["eps0.1"].reward[late].mean() > curves["greedy"].reward[late].mean() + 0.2
    assert curves["ucb"].reward[late].mean() > curves["eps0.1"].reward[late].mean() + 0.05
    # the book: greedy ~1.0 and ~35% optimal at step 1000; epsilon 0.1 ~1.35 and ~80%
    assert 0.9 < curves["greedy"].reward[-100:].mean() < 1.15
    assert 1.25 < curves["eps0.1"].reward[-100:].mean() < 1.45
    assert 0.74 < curves["eps0.1"].optimal[-100:].mean() < 0.86


def test_gradient_bandit_with_baseline_beats_without_on_figure_2_5s_testbed(tmp_path):
    common = [
        "agent=gradient_bandit",
        "env=testbed",
        "env.kwargs.q_mean=4",
        "env.num_envs=500",
        "total_timesteps=250000",
    ]
    with_baseline = train(tmp_path / "b", *common).curves
    without = train(tmp_path / "n", *common, "agent.baseline=false").curves
    assert with_baseline.optimal[-100:].mean() > without.optimal[-100:].mean() + 0.2


def test_testbed_run_writes_curves_tensorboard_and_summary(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli(
        "agent=action_value",
        "env=bernoulli_bandit",
        "exploration=thompson",
        "exploration.posterior=beta",
        "env.num_envs=100",
        "total_timesteps=20000",
        "logger.progress=false",
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    rows = (run_dir / "curves.csv").read_text().splitlines()
    assert rows[0].startswith("step,average_reward,average_reward_ci95,optimal_action")
    assert len(rows) == 1 + 200  # 20000 steps / 100 problems
    step, reward, half, optimal, _ = map(float, rows[-1].split(","))
    assert step == 200 and 0 <= reward <= 1 and half > 0 and 0 <= optimal <= 1
    scalars = read_scalars(run_dir)
    pct = scalars["bandit/optimal_action_pct"]
    assert [s for s, _ in pct] == list(range(1, 201))  # x = step of each problem
    assert pct[-1][1] == pytest.approx(100 * optimal, abs=1e-3)
    low, high = (
        scalars["bandit/optimal_action_pct_ci_low"],
        scalars["bandit/optimal_action_pct_ci_high"],
    )
    assert all(lo <= v <= hi for (_, lo), (_, v), (_, hi) in zip(low, pct, high, strict=True))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 20000
    mean_reward = np.mean([float(r.split(",")[1]) for r in rows[1:]])
    assert summary["objective"] == pytest.approx(mean_reward, abs=1e-4)  # reward per step
    # Thompson on Bernoulli arms: pulls the best arm most of the time by step 200
    assert optimal > 0.5


def test_pool_testbed_by_hand():
    a = np.array([[1.0, 0.3, 0.5, 0.06], [2.0, 0.4, 0.6, 0.08], [9.0, 9.0, 9.0, 9.0]])
    b = np.array([[3.0, 0.4, 0.7, 0.08], [4.0, 0.3, 0.8, 0.06]])
    pooled = pool_testbed([a, b])  # the steps both ran; halves sqrt(h1^2 + h2^2) / 2
    np.testing.assert_allclose(pooled, [[2.0, 0.25, 0.6, 0.05], [3.0, 0.25, 0.7, 0.05]])


def test_a_bandit_sweep_is_one_command_and_its_report_draws_the_figure(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "-m",
        "agent=action_value",
        "env=testbed",
        "exploration.start=0,0.1",
        "seed=0,1",
        "env.num_envs=200",
        "total_timesteps=40000",
        "logger.progress=false",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = (sweep / "report.md").read_text()
    assert "![average reward and % optimal action per step](testbed.png)" in report
    assert (sweep / "testbed.png").stat().st_size > 10_000
    rows = (sweep / "report.csv").read_text().splitlines()
    by_config = {r.split(",")[0]: float(r.split(",")[4]) for r in rows[1:]}
    # the objective is the average reward per step: exploring beats greedy (2 seeds x 200 each)
    assert by_config["exploration.start=0.1"] > by_config["exploration.start=0"]


def test_the_agent_draws_apart_from_the_testbed(tmp_path):
    """A Gaussian Thompson sampler's first draws come from its N(0, 1) priors, as the testbed's
    q* do: from one stream they would be q* itself, and step 1 would be 100% optimal."""
    runner = train(
        tmp_path,
        "agent=action_value",
        "env=testbed",
        "exploration=thompson",
        "total_timesteps=4000",
    )
    assert runner.curves.optimal[0] < 0.2  # 1 arm in 10 by chance
