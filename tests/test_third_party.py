"""Third-party Gymnasium packages as users bring them: MiniGrid (Dict observations with a text
mission, flattened by the wrapper the RL Zoo uses) and gym-anytrading through `env=custom`,
unmodified. Both are extras (`pip install -e ".[minigrid,anytrading]"`), installed in CI."""

from __future__ import annotations

import pytest

from rlrun.config.run import EnvConfig
from rlrun.envs.vector import make_vec_env
from rlrun.errors import ConfigError
from rlrun.validate import validate

from .conftest import compose_config, read_scalars, train


def test_minigrid_without_a_wrapper_names_the_ones_that_fit():
    with pytest.raises(ConfigError) as err:
        make_vec_env(EnvConfig(id="minigrid:MiniGrid-Empty-5x5-v0"), 1)
    assert str(err.value).startswith(
        "env.wrappers: minigrid:MiniGrid-Empty-5x5-v0's key ['mission'] is a MissionSpace, which "
        "no network takes; add env.wrappers='[{_target_: minigrid.wrappers.FlatObsWrapper}]'"
    )


def test_minigrid_env_configs_carry_the_zoo_wrapper_and_preset():
    rc = validate(compose_config("agent=ppo", "env=minigrid_doorkey"))
    assert rc.env.wrappers == [{"_target_": "minigrid.wrappers.FlatObsWrapper"}]
    assert (rc.env.num_envs, rc.agent.n_steps, rc.agent.batch_size) == (8, 128, 64)
    env = make_vec_env(rc.env, 2)
    # FlatObsWrapper: the 7x7x3 view and a one-hot of the mission's 96 characters, as uint8
    assert env.single_observation_space.shape == (7 * 7 * 3 + 96 * 28,)


@pytest.mark.slow
def test_ppo_learns_minigrid_empty(tmp_path):
    """The Zoo's preset at a twelfth of its budget. A uniformly random policy over the three
    moves reaches the square in 75% of episodes, mean return 0.44 (300 episodes); the learned
    one every time, near the optimum 0.955 (5 steps: 1 - 0.9 * 5 / 100)."""
    trainer = train(
        tmp_path,
        "agent=ppo",
        "env=minigrid_empty",
        "total_timesteps=8192",
        "eval.every_steps=8192",
    )
    ev = trainer.result.final_eval
    assert ev.success_rate == 1.0 and ev.mean_return > 0.9


def test_gym_anytrading_runs_unmodified_through_env_custom(tmp_path):
    """`env.id=<module>:<id>` imports the package that registers the id; its episode-end info
    key `total_profit` is logged through env.episode_metrics."""
    train(
        tmp_path,
        "agent=ppo",
        "env=custom",
        "env.id=gym_anytrading:stocks-v0",
        "env.episode_metrics=[total_profit]",
        "+env.kwargs.frame_bound=[50,300]",
        "+env.kwargs.window_size=10",
        "total_timesteps=1024",
        "eval.every_steps=1024",
        "eval.episodes=2",
    )
    scalars = read_scalars(tmp_path)
    assert len(scalars["charts/total_profit"]) == 1024 // 249  # 249-step episodes
    assert len(scalars["eval/total_profit"]) == 1  # the final evaluation's
