"""Fixes from the review against Sutton & Barto, SB3 and CleanRL: each fails without its fix."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import tests.envs  # noqa: F401  (registers the test envs)
from rlrun.agents.base import check_compatible
from rlrun.agents.tabular.config import TabularConfig
from rlrun.agents.tabular.td import QLearning
from rlrun.errors import ConfigError
from rlrun.exploration.config import EpsilonGreedyConfig
from rlrun.transition import Spaces, Transition
from rlrun.validate import validate

from .conftest import compose_config, read_scalars, train


def test_tabular_updates_from_many_envs_stay_convex():
    """8 envs, the same terminal transition (s=0, a=0, r=1): Q(0,0) moves towards 1 and never
    beyond it (all at once, 8 x alpha 0.5 made it 4, -8, 28, -80)."""
    spaces = Spaces(gym.spaces.Discrete(2), gym.spaces.Discrete(2), num_envs=8, total_timesteps=1)
    explore = EpsilonGreedyConfig(name="epsilon_greedy", schedule="constant", start=0.0)
    agent = QLearning(TabularConfig(learning_rate=0.5, gamma=0.9), explore, spaces, seed=0)
    zeros, ones = np.zeros(8, dtype=np.int64), np.ones(8)
    same = Transition(
        zeros, zeros, ones, np.ones(8, np.int64), ones.astype(bool), ~ones.astype(bool)
    )
    values = []
    for step in range(1, 4):
        agent.observe(same, step)
        values.append(agent.q[0, 0])
    assert all(0 <= v <= 1 for v in values)
    np.testing.assert_allclose(values, [1 - 0.5**8, 1 - 0.5**16, 1 - 0.5**24])
    # distinct pairs in one step are still updated together, each by one alpha step
    mixed = Transition(
        np.array([0, 1]),
        np.array([1, 1]),
        np.array([1.0, 2.0]),
        np.array([0, 0]),
        np.array([True, True]),
        np.array([False, False]),
    )
    two = QLearning(TabularConfig(learning_rate=0.5), explore, Spaces(*spaces_of(2)), seed=0)
    two.observe(mixed, 2)
    np.testing.assert_allclose(two.q[:, 1], [0.5, 1.0])


def spaces_of(num_envs: int):
    return gym.spaces.Discrete(2), gym.spaces.Discrete(2), num_envs, 1


@pytest.mark.parametrize("prioritized", ["false", "true"])
def test_n_step_dqn_never_trains_on_an_empty_buffer(tmp_path, prioritized):
    trainer = train(
        tmp_path,
        "agent=dqn",
        "env=cartpole",
        "agent.n_step=3",
        "agent.learning_starts=0",
        "agent.train_freq=1",
        "agent.gradient_steps=1",
        f"agent.prioritized_replay={prioritized}",
        "total_timesteps=300",
        "eval.every_steps=300",
        "eval.episodes=1",
        "logger.log_every_steps=100",
    )
    losses = [v for _, v in read_scalars(tmp_path)["losses/td_loss"]]
    assert len(losses) == 3 and np.isfinite(losses).all()
    assert all(torch.isfinite(p).all() for p in trainer.agent.q_net.parameters())


def test_ppo_target_kl_stops_before_the_step_that_crosses_it(tmp_path):
    """A tiny target_kl: the first minibatch (ratio 1, KL 0) steps; the second sees the moved
    policy's KL over 1.5 x target and stops the epochs before stepping, as SB3 does."""
    trainer = train(
        tmp_path,
        "agent=ppo",
        "env=cartpole",
        "env.num_envs=1",
        "agent.n_steps=64",
        "agent.batch_size=16",
        "agent.n_epochs=4",
        "agent.target_kl=1e-6",
        "agent.lr_schedule=constant",
        "total_timesteps=64",
        "eval.every_steps=64",
        "eval.episodes=1",
    )
    states = list(trainer.agent.optimizer.state.values())
    assert states and all(int(s["step"]) == 1 for s in states)  # 1 step of 4 epochs x 4 batches


def test_sac_losses_use_alpha_from_before_its_update(tmp_path):
    trainer = train(
        tmp_path,
        "agent=sac",
        "env=pendulum",
        "agent.learning_starts=50",
        "agent.batch_size=16",
        "agent.ent_coef=auto_0.5",
        "total_timesteps=51",
        "eval.every_steps=51",
        "eval.episodes=1",
        "logger.log_every_steps=51",
    )
    agent = trainer.agent
    assert agent.log_alpha.exp().item() != pytest.approx(0.5)  # one alpha update happened...
    alpha = read_scalars(tmp_path)["losses/alpha"]
    assert alpha == [(51, pytest.approx(0.5))]  # ...after the losses read the old value


def test_reinforce_normalizes_over_the_rows_it_keeps():
    from rlrun.agents.onpolicy.base import normalized

    adv = torch.tensor([1.0, 2.0, 3.0, 100.0, -50.0])
    mask = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0])  # the unfinished episode's rows
    out = normalized(adv, mask)
    torch.testing.assert_close(out[:3], torch.tensor([-1.0, 0.0, 1.0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(normalized(adv, None), (adv - adv.mean()) / (adv.std() + 1e-8))


def test_reinforce_without_baseline_trains_on_normalized_kept_rows(tmp_path):
    trainer = train(
        tmp_path,
        "agent=reinforce",
        "env=cartpole",
        "agent.baseline=false",
        "agent.n_steps=256",
        "total_timesteps=512",
        "eval.every_steps=512",
        "eval.episodes=1",
    )
    assert all(torch.isfinite(p).all() for p in trainer.agent.policy.parameters())


def test_dqn_acts_uniformly_before_learning_starts(tmp_path):
    """Greedy (epsilon 0) from the start, yet the warm-up's actions are uniform, as SB3's."""
    trainer = train(
        tmp_path,
        "agent=dqn",
        "env=custom",
        "env.id=CartPole-v1",
        "env.num_envs=4",
        "exploration=epsilon_greedy",
        "exploration.schedule=constant",
        "exploration.start=0",
        "agent.learning_starts=100000",
        "total_timesteps=8000",
        "eval.every_steps=8000",
        "eval.episodes=1",
    )
    buffer = trainer.agent.buffer
    actions = buffer.actions[: buffer.size]
    assert len(actions) == 8000
    assert np.mean(actions) == pytest.approx(0.5, abs=0.02)
    # the network never trained, so it is the one the warm-up had: a greedy warm-up would agree
    # with its argmax on every step, a uniform one on half of them
    greedy = trainer.agent.q_values(buffer.obs[: buffer.size]).argmax(-1)
    assert np.mean(actions == greedy) == pytest.approx(0.5, abs=0.02)


def test_discrete_actions_not_numbered_from_zero_are_refused_in_one_line():
    rc = validate(compose_config("agent=dqn", "env=cartpole"))
    shifted = Spaces(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2, start=1), 1, 100)
    with pytest.raises(ConfigError) as err:
        check_compatible(rc, shifted)
    assert "numbers its 2 actions from 1" in str(err.value) and "\n" not in str(err.value)
