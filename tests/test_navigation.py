"""rlrun/Navigation-v0: rays against hand-computed distances, how episodes end, layouts per seed
and split, rendering, and that an agent learns to reach the goal through rlrun."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rlrun.envs  # noqa: F401  (registers rlrun/Navigation-v0)
from rlrun.envs.navigation import Navigation, cast_rays

from .conftest import train

BOX = [[4.0, 4.0, 6.0, 6.0]]  # a 2 x 2 obstacle in the middle of the 10 x 10 arena


def placed(env: gym.Env, start, goal, obstacles=BOX) -> np.ndarray:
    obs, _ = env.reset(seed=0, options={"obstacles": obstacles, "start": start, "goal": goal})
    return obs


@pytest.mark.parametrize("continuous", [True, False])
def test_passes_gymnasiums_env_checker(continuous):
    env = gym.make("rlrun/Navigation-v0", continuous=continuous, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)


def test_rays_by_hand():
    env = Navigation(n_rays=8, max_range=10.0, frame="world")
    obs = placed(env, start=[2.0, 5.0], goal=[9.0, 9.0])
    # from (2, 5): east hits the box's face x = 4 after 2; north-east passes above its corner
    # (6, 6) and leaves through y = 10 at (7, 10): 5 sqrt 2; north and south the walls after 5;
    # north-west reaches x = 0 after 2 sqrt 2; west 2; south-west 2 sqrt 2; south-east y = 0 at
    # (7, 0): 5 sqrt 2
    r2 = np.sqrt(2)
    expected = np.array([2, 5 * r2, 5, 2 * r2, 2, 2 * r2, 5, 5 * r2]) / 10
    np.testing.assert_allclose(obs[:8], expected, rtol=1e-6)
    # goal vector (9 - 2, 9 - 5) / 10 in the world frame, and no velocity yet
    np.testing.assert_allclose(obs[8:], [0.7, 0.4, 0.0, 0.0], rtol=1e-6)


def test_the_goal_frame_turns_rays_goal_and_actions_toward_the_goal():
    env = Navigation(n_rays=8, max_range=10.0)  # frame="goal"
    obs = placed(env, start=[2.0, 5.0], goal=[2.0, 9.0])  # the goal due north
    r2 = np.sqrt(2)
    # ray 0 now points north (5 to the wall), ray 2 west (2), ray 6 east (2, the box's face)
    expected = np.array([5, 2 * r2, 2, 2 * r2, 5, 5 * r2, 2, 5 * r2]) / 10
    np.testing.assert_allclose(obs[:8], expected, rtol=1e-6)
    np.testing.assert_allclose(obs[8:], [0.4, 0.0, 0.0, 0.0], atol=1e-7)  # 4 ahead
    obs, *_ = env.step(np.array([0.0, 1.0]))  # "left" of the goal direction: west
    np.testing.assert_allclose(env.pos, [1.5, 5.0])
    # the goal, now at (0.5, 4) from the agent, is ahead again; the velocity turned with it
    heading = np.arctan2(4.0, 0.5)
    np.testing.assert_allclose(obs[8:10], [np.hypot(0.5, 4.0) / 10, 0.0], atol=1e-7)
    np.testing.assert_allclose(obs[10:], [-np.cos(heading), np.sin(heading)], atol=1e-6)


def test_rays_are_clipped_to_the_max_range_and_start_inside_an_obstacle_at_zero():
    east = np.array([[1.0, 0.0]])
    assert cast_rays(np.array([5.0, 5.0]), east, np.array(BOX)) == 0.0
    env = Navigation(n_rays=4, max_range=2.0, frame="world")
    obs = placed(env, start=[1.0, 1.0], goal=[9.0, 9.0], obstacles=[])
    # east 9 and north 9 are clipped to 2; west and south 1 of 2
    np.testing.assert_allclose(obs[:4], [1.0, 1.0, 0.5, 0.5])


def test_a_crash_terminates_with_the_penalty():
    env = gym.make("rlrun/Navigation-v0", continuous=False, gamma=0.9)
    placed(env, start=[3.0, 5.0], goal=[9.0, 5.0])
    # toward the goal (east) at 0.5 a step: x 3.5 clears the box face x = 4 by 0.5, x = 4.0
    # touches it
    _, reward, terminated, truncated, info = env.step(1)
    assert not (terminated or truncated or info["collision"])
    # shaping 0.9 * Phi(s') - Phi(s): Phi = -distance to (9, 5); time cost 0.01
    d0, d1 = 6.0, 5.5
    assert reward == pytest.approx(-0.9 * d1 + d0 - 0.01)
    _, reward, terminated, truncated, info = env.step(1)
    assert terminated and not truncated
    assert info["collision"] and not info["is_success"]
    assert info["path_length"] == pytest.approx(1.0)
    assert reward == pytest.approx(0 + d1 - 0.01 - 10)  # Phi(terminal) = 0, the penalty


def test_reaching_the_goal_terminates_with_the_bonus():
    env = gym.make("rlrun/Navigation-v0")
    placed(env, start=[1.0, 1.0], goal=[2.0, 1.0], obstacles=[])
    _, _, terminated, _, info = env.step(np.array([1.0, 0.0]))  # 0.5 from the goal: inside it
    assert terminated and info["is_success"] and not info["collision"]
    env.reset(options={"obstacles": [], "start": [1.0, 1.0], "goal": [2.0, 1.0]})
    # the norm of an action is clipped to 1: (1, 1) moves 0.5 along the diagonal
    env.step(np.array([1.0, 1.0]))
    np.testing.assert_allclose(env.unwrapped.pos, [1 + 0.5 / np.sqrt(2)] * 2)


def test_the_time_limit_truncates():
    env = gym.make("rlrun/Navigation-v0", continuous=False)
    env.reset(seed=3)
    for step in range(1, 201):
        _, _, terminated, truncated, info = env.step(0)  # stop: never crashes, never arrives
        assert not terminated
        assert truncated == (step == 200)
    assert not info["is_success"] and not info["collision"]


def test_reset_really_resets():
    env = gym.make("rlrun/Navigation-v0", continuous=False)
    env.reset(seed=0)
    nav = env.unwrapped
    first = nav.layout_seed
    for _ in range(200):
        _, _, terminated, truncated, _ = env.step(1)
        if terminated or truncated:
            break
    assert terminated  # toward the goal until the obstacle in the way is hit
    obs, info = env.reset()
    # a new layout, the agent at its start, still, with nothing travelled
    assert info["layout_seed"] != first
    np.testing.assert_array_equal(nav.pos, nav.start)
    assert info["path_length"] == 0.0 and not info["collision"]
    np.testing.assert_array_equal(obs[-2:], [0.0, 0.0])
    _, _, terminated, truncated, _ = env.step(0)
    assert not terminated and not truncated  # the time limit's count started again too


def layout_seeds(layouts: str, seed: int, n: int = 20, **kwargs) -> list[int]:
    env = Navigation(layouts=layouts, **kwargs)
    return [env.reset(seed=seed if i == 0 else None)[1]["layout_seed"] for i in range(n)]


def test_layouts_are_the_seeds_and_the_splits_are_disjoint():
    assert layout_seeds("train", 0) == layout_seeds("train", 0)
    assert layout_seeds("train", 0) != layout_seeds("train", 1)
    train_pool = set(layout_seeds("train", 0, n=200, n_layouts=10))
    held_out = set(layout_seeds("held_out", 0, n=200, n_layouts=10))
    assert len(train_pool) == len(held_out) == 10  # pools of 10 each, all met in 200 resets
    assert not train_pool & held_out
    nav = Navigation()
    a, b = nav.layout(4), nav.layout(4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(nav.layout(4)[0], nav.layout(6)[0])


def test_layouts_block_the_straight_line_and_keep_start_and_goal_free():
    nav = Navigation(continuous=False)
    for seed in range(30):
        obstacles, start, goal = nav.layout(seed)
        # the segment start -> goal, sampled finely, passes through an obstacle
        points = start + np.linspace(0, 1, 500)[:, None] * (goal - start)
        inside = (
            (points[:, None, :] >= obstacles[None, :, :2])
            & (points[:, None, :] <= obstacles[None, :, 2:])
        ).all(axis=2)
        assert inside.any()
        for p in (start, goal):
            assert not ((p >= obstacles[:, :2]) & (p <= obstacles[:, 2:])).all(axis=1).any()


def test_an_impossible_layout_is_an_error_not_a_hang():
    with pytest.raises(ValueError, match="no layout with 20 obstacles"):
        Navigation(n_obstacles=20).layout(0)  # 20 rectangles of 1-3 leave no path 6 long


def test_renders_an_rgb_array():
    env = gym.make("rlrun/Navigation-v0", render_mode="rgb_array")
    placed(env, start=[2.0, 5.0], goal=[8.0, 5.0])
    frame = env.render()
    assert frame.shape == (200, 200, 3) and frame.dtype == np.uint8
    # 20 pixels per unit, y up: the box [4, 6]^2 fills rows and columns 80..119
    assert (frame[85, 85] == (60, 60, 70)).all()
    assert (frame[100, 40] == (40, 90, 220)).all()  # the agent at (2, 5)
    assert (frame[100, 160] == (40, 170, 80)).all()  # the goal at (8, 5)


def test_works_in_rlruns_vector_env():
    from rlrun.config.run import EnvConfig
    from rlrun.envs.vector import make_vec_env

    cfg = EnvConfig(id="rlrun/Navigation-v0", kwargs={"continuous": False})
    env = make_vec_env(cfg, 3)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3, 20)
    ended = 0
    for _ in range(60):  # straight at the goal: every episode hits the blocker within 20 steps
        obs, _, terminated, _, infos = env.step(np.ones(3, dtype=np.int64))
        ended += int(terminated.sum())
        if terminated.any():
            assert infos["final_info"]["collision"][terminated].all()
    assert ended >= 6


@pytest.mark.slow
def test_ppo_learns_to_reach_held_out_goals(tmp_path):
    """No obstacles, a nearer goal: within 24,000 steps PPO (its preset) goes straight to every
    held-out goal; the untrained policy's deterministic action, its mean, is about zero: it
    stays near the start and never arrives."""
    trainer = train(
        tmp_path,
        "agent=ppo",
        "env=navigation",
        "env.kwargs.n_obstacles=0",
        "+env.kwargs.min_start_goal=3",
        "env.max_episode_steps=50",
        "total_timesteps=24000",
        "eval.every_steps=8000",
        "eval.episodes=16",
        "checkpoint.every_steps=null",
    )
    final = trainer.result.final_eval
    assert final.success_rate == 1.0
    assert final.metrics["collision"] == 0.0
    assert final.mean_length < 25  # straight there: 3 to 13 units at 0.5 a step
