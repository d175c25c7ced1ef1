"""The maths every agent relies on, against hand-computed values."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlrun.exploration.config import BoltzmannConfig, EpsilonGreedyConfig
from rlrun.exploration.schedules import Schedule, exponential_schedule, linear_schedule
from rlrun.exploration.strategies import Boltzmann, EpsilonGreedy, greedy
from rlrun.maths import polyak_update, td_target
from rlrun.transition import Spaces


def discrete(n_actions: int, num_envs: int = 1) -> Spaces:
    return Spaces(gym.spaces.Discrete(3), gym.spaces.Discrete(n_actions), num_envs, 1)


def test_td_target_bootstraps_unless_terminated():
    reward = np.array([1.0, 1.0, 0.5])
    next_value = np.array([10.0, 10.0, 4.0])
    terminated = np.array([0.0, 1.0, 0.0])
    # 1 + 0.9 * 10 = 10; terminated: just the reward; 0.5 + 0.9 * 4 = 4.1
    np.testing.assert_allclose(td_target(reward, next_value, terminated, 0.9), [10.0, 1.0, 4.1])


def test_td_target_on_tensors_matches_numpy():
    out = td_target(torch.tensor([2.0]), torch.tensor([3.0]), torch.tensor([0.0]), 0.5)
    assert out.item() == pytest.approx(3.5)


def test_polyak_update_soft_and_hard():
    online = [torch.full((2,), 4.0)]
    target = [torch.zeros(2)]
    polyak_update(online, target, 0.25)
    assert target[0].tolist() == [1.0, 1.0]  # 0.25 * 4 + 0.75 * 0
    polyak_update(online, target, 0.5)
    assert target[0].tolist() == [2.5, 2.5]  # 0.5 * 4 + 0.5 * 1
    polyak_update(online, target, 1.0)
    assert target[0].tolist() == [4.0, 4.0]


def test_linear_schedule():
    assert linear_schedule(1.0, 0.1, 100, 0) == 1.0
    assert linear_schedule(1.0, 0.1, 100, 50) == pytest.approx(0.55)
    assert linear_schedule(1.0, 0.1, 100, 100) == pytest.approx(0.1)
    assert linear_schedule(1.0, 0.1, 100, 10_000) == pytest.approx(0.1)


def test_exponential_schedule_is_geometric():
    assert exponential_schedule(1.0, 0.01, 100, 0) == 1.0
    assert exponential_schedule(1.0, 0.01, 100, 50) == pytest.approx(0.1)
    assert exponential_schedule(1.0, 0.01, 100, 100) == pytest.approx(0.01)
    assert exponential_schedule(1.0, 0.01, 100, 500) == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("schedule", "decay_steps", "fraction", "step", "expected"),
    [
        ("constant", None, 0.1, 500, 1.0),
        ("linear", None, 0.1, 50, 0.55),  # horizon = 0.1 * 1000 = 100 steps
        ("linear", 200, 0.1, 100, 0.55),  # decay_steps wins over fraction
        ("exponential", None, 0.5, 250, 0.1**0.5),
    ],
)
def test_schedule_horizon(schedule, decay_steps, fraction, step, expected):
    cfg = EpsilonGreedyConfig(
        name="epsilon_greedy",
        schedule=schedule,
        start=1.0,
        end=0.1,
        fraction=fraction,
        decay_steps=decay_steps,
    )
    assert Schedule(cfg, total_timesteps=1000)(step) == pytest.approx(expected)


def test_greedy_breaks_ties_at_random():
    rng = np.random.default_rng(0)
    q = np.zeros((2000, 3))
    q[:, 2] = -1.0  # action 2 is never greedy; 0 and 1 tie
    counts = np.bincount(greedy(q, rng), minlength=3)
    assert counts[2] == 0
    assert 900 < counts[0] < 1100


def epsilon(value: float) -> EpsilonGreedy:
    cfg = EpsilonGreedyConfig(name="epsilon_greedy", schedule="constant", start=value)
    return EpsilonGreedy(cfg, discrete(4))


def test_epsilon_greedy_probabilities():
    q = np.array([[0.0, 2.0, 1.0, 0.0], [3.0, 3.0, 0.0, 0.0]])
    p = epsilon(0.2).probs(np.zeros(2), q)
    np.testing.assert_allclose(p[0], [0.05, 0.85, 0.05, 0.05])
    np.testing.assert_allclose(p[1], [0.45, 0.45, 0.05, 0.05])  # ties share the greedy mass


def test_epsilon_greedy_action_frequencies():
    rng = np.random.default_rng(1)
    q = np.tile([0.0, 2.0, 1.0, 0.0], (20_000, 1))
    actions = epsilon(0.2).select(np.zeros(len(q)), lambda: q, rng)
    freq = np.bincount(actions, minlength=4) / len(q)
    np.testing.assert_allclose(freq, [0.05, 0.85, 0.05, 0.05], atol=0.01)


def test_epsilon_one_skips_the_value_computation():
    def fail():
        raise AssertionError("values were computed though every env explores")

    actions = epsilon(1.0).select(np.zeros(8), fail, np.random.default_rng(0))
    assert actions.shape == (8,) and actions.max() < 4


def test_boltzmann_probabilities_and_sampling():
    cfg = BoltzmannConfig(name="boltzmann", schedule="constant", start=0.5)
    strategy = Boltzmann(cfg, discrete(2))
    q = np.array([[0.0, np.log(3.0) * 0.5]])  # logits 0 and ln 3 -> probabilities 1/4, 3/4
    np.testing.assert_allclose(strategy.probs(np.zeros(1), q), [[0.25, 0.75]])
    rng = np.random.default_rng(2)
    actions = strategy.select(np.zeros(20_000), lambda: np.repeat(q, 20_000, axis=0), rng)
    assert actions.mean() == pytest.approx(0.75, abs=0.01)


def test_rmsprop_tf_like_starts_at_one_with_eps_inside_the_root():
    """Two steps on loss 0.5 p (gradient 0.5) from p = 1, lr 0.1, alpha 0.99, eps 1e-5:
    v1 = 0.99 + 0.01 * 0.25 = 0.9925, p1 = 1 - 0.05 / sqrt(0.99251) = 0.9498117;
    v2 = 0.99 v1 + 0.0025 = 0.985075, p2 = p1 - 0.05 / sqrt(0.985085) = 0.8994346."""
    from rlrun.networks.optim import RMSpropTFLike

    p = torch.nn.Parameter(torch.ones(1))
    opt = RMSpropTFLike([p], lr=0.1, alpha=0.99, eps=1e-5)
    for expected in (0.9498117, 0.8994346):
        opt.zero_grad()
        (0.5 * p).sum().backward()
        opt.step()
        assert p.item() == pytest.approx(expected, abs=1e-6)
    assert opt.state[p]["square_avg"].item() == pytest.approx(0.985075)
