"""MuJoCo through Gymnasium's v5 envs (the `mujoco` extra, installed in CI): every env config
makes its env, the Zoo's presets arrive, and SAC/TD3/PPO train a few hundred steps from the
command line with a video rendered off-screen (EGL)."""

from __future__ import annotations

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest

from rlrun.envs.vector import make_vec_env
from rlrun.validate import validate

from .conftest import compose_config, run_ok

pytest.importorskip("mujoco", reason='MuJoCo needs the extra: pip install -e ".[mujoco]"')

ENVS = {
    "halfcheetah": ("HalfCheetah-v5", 17, 6),
    "hopper": ("Hopper-v5", 11, 3),
    "walker2d": ("Walker2d-v5", 17, 6),
    "ant": ("Ant-v5", 105, 8),
    "humanoid": ("Humanoid-v5", 348, 17),
    "reacher": ("Reacher-v5", 10, 2),
    "inverted_pendulum": ("InvertedPendulum-v5", 4, 1),
    "swimmer": ("Swimmer-v5", 8, 2),
}


@pytest.mark.parametrize("name", ENVS)
def test_every_mujoco_config_makes_its_env(name):
    env_id, n_obs, n_act = ENVS[name]
    rc = validate(compose_config("agent=sac", f"env={name}"))
    assert rc.env.id == env_id
    env = make_vec_env(rc.env, 1)
    assert env.single_observation_space.shape == (n_obs,)
    assert env.single_observation_space.dtype == np.float32  # MuJoCo's float64, cast once
    assert isinstance(env.single_action_space, gym.spaces.Box)
    assert env.single_action_space.shape == (n_act,)


def test_mujoco_presets_are_the_zoos():
    sac = validate(compose_config("agent=sac", "env=swimmer"))
    assert (sac.agent.learning_starts, sac.agent.gamma, sac.total_timesteps) == (
        10_000,
        0.999,
        1_000_000,
    )
    td3 = validate(compose_config("agent=td3", "env=humanoid"))
    assert (td3.agent.net_arch, td3.exploration.start, td3.total_timesteps) == (
        [400, 300],
        0.1,
        2_000_000,
    )
    ppo = validate(compose_config("agent=ppo", "env=halfcheetah"))
    assert ppo.agent.normalize_obs and ppo.agent.normalize_reward and not ppo.agent.ortho_init
    assert (ppo.agent.learning_rate, ppo.agent.n_epochs, ppo.agent.net_arch) == (
        2.0633e-05,
        20,
        [256, 256],
    )


@pytest.mark.parametrize("agent", ["sac", "td3", "ppo"])
def test_agents_train_on_hopper_with_an_offscreen_video(tmp_path, agent):
    extra = {"ppo": ["agent.n_steps=64", "agent.batch_size=32"]}.get(
        agent, ["agent.learning_starts=100"]
    )
    run_dir = tmp_path / agent
    scalars = run_ok(
        f"agent={agent}",
        "env=hopper",
        "total_timesteps=256",
        *extra,
        "eval.every_steps=null",
        "eval.episodes=1",
        "eval.num_envs=1",
        "video.every_steps=256",
        "video.max_frames=20",
        "logger.log_every_steps=128",
        "logger.progress=false",
        run_dir=run_dir,
    )
    assert "eval/mean_return" in scalars
    frames = iio.imread(next((run_dir / "videos").glob("*.gif")))
    assert frames.shape[1:] == (480, 480, 3)
    assert np.ptp(frames[0].astype(int)) > 50  # a rendered scene, not a blank frame
