"""Atari through ale-py (the `atari` extra, installed in CI): the standard preprocessing stack on
a real game, the Nature CNN, and replay that keeps each frame once, checked against the plain
buffer on real Breakout transitions."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlrun.buffers import FrameReplayBuffer, ReplayBuffer
from rlrun.checkpoint import STRUCTURE, capture, restore
from rlrun.envs.vector import finished, frame_stack, make_vec_env, true_next_obs
from rlrun.networks.config import NatureCNNConfig
from rlrun.networks.encoders import NatureCNN, make_encoder
from rlrun.networks.layers import orthogonal_init
from rlrun.transition import Transition
from rlrun.validate import validate

from .conftest import FirstAction, compose_config, run_ok

pytest.importorskip("ale_py", reason='Atari needs the extra: pip install -e ".[atari]"')

CPU = torch.device("cpu")


def breakout(num_envs: int) -> gym.vector.VectorEnv:
    return make_vec_env(validate(compose_config("env=breakout")).env, num_envs)


def rollout(env: gym.vector.VectorEnv, steps: int, cut_at: int | None = None):
    """`steps` vector steps of uniformly random actions: (Transition, infos) each. At step
    `cut_at` the envs restart mid-episode, as on a resume that could not restore their state."""
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    for k in range(steps):
        if k == cut_at:
            obs, _ = env.reset(seed=1)
        action = rng.integers(0, env.single_action_space.n, env.num_envs)
        next_obs, reward, terminated, truncated, infos = env.step(action)
        yield (
            Transition(obs, action, reward, true_next_obs(next_obs, infos), terminated, truncated),
            infos,
        )
        obs = next_obs


def fill(buffers: list[ReplayBuffer], env: gym.vector.VectorEnv, steps: int, **kw) -> None:
    """The same random Breakout transitions into every buffer."""
    for t, _ in rollout(env, steps, **kw):
        for buf in buffers:
            buf.add(t, 0.99)


def test_breakout_is_preprocessed_as_sb3_and_cleanrl_do():
    rc = validate(compose_config("env=breakout"))
    assert frame_stack(rc.env) == 4
    env = make_vec_env(rc.env, 1)
    assert env.single_observation_space == gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    lives_lost, games, clipped = 0, [], 0.0
    for t, infos in rollout(env, 1500):
        assert set(np.unique(t.reward)) <= {0.0, 1.0}  # clipped to [-1, 1]
        clipped += float(t.reward[0])
        lives_lost += int(t.terminated[0])
        done = finished(infos)
        if done is not None:  # a whole game: five lives, scored in raw points
            games.append((lives_lost, float(done.returns[0]), clipped))
            lives_lost, clipped = 0, 0.0
    assert games, "a random policy loses five lives within 1500 steps"
    for lives, score, n_hits in games:
        assert lives == 5
        assert score >= n_hits  # bricks are worth 1, 4 or 7 points; a clipped hit counts 1


def test_fire_reset_starts_the_game():
    """Breakout waits for FIRE: without it no-ops leave the ball unlaunched and the frames
    still; with FireReset (conf/env/atari.yaml) the ball is in play right after reset."""
    env = breakout(1)
    obs, _ = env.reset(seed=0)
    frames = [obs[0, -1]]
    for _ in range(10):
        obs, *_ = env.step(np.zeros(1, dtype=np.int64))  # NOOP
        frames.append(obs[0, -1])
    assert any((a != b).any() for a, b in itertools.pairwise(frames))


@pytest.mark.parametrize("capacity", [10_000, 300])
def test_frame_replay_gives_back_the_observations_of_the_plain_buffer(capacity):
    """Real Breakout stacks through episode ends, a mid-episode reset and (capacity 300) the ring
    wrapping twice: every sampleable row's obs and next obs equal the plain buffer's."""
    env = breakout(2)
    space = env.single_observation_space
    plain = ReplayBuffer(capacity, space, env.single_action_space, CPU)
    frames = FrameReplayBuffer(capacity, space, env.single_action_space, CPU, 2, 4)
    fill([plain, frames], env, 400, cut_at=120)
    assert frames.ended.any() and len(frames) == len(plain)
    idx = np.unique(frames.sample_indices(4096, np.random.default_rng(0)))
    if capacity == 300:  # full: the oldest 3 steps' stacks reach into overwritten frames
        assert len(idx) == capacity - 3 * 2
    a, b = plain.get(idx), frames.get(idx)
    for name in ("obs", "next_obs", "actions", "rewards", "terminated", "discounts"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


def test_frame_replay_holds_an_eighth_of_the_plain_buffer():
    space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    plain = ReplayBuffer(1000, space, gym.spaces.Discrete(4), CPU)
    frames = FrameReplayBuffer(1000, space, gym.spaces.Discrete(4), CPU, 8, 4)
    assert frames.frames.nbytes == 1000 * 84 * 84
    assert plain.nbytes / frames.nbytes > 7.5


def test_frame_replay_refuses_observations_that_are_not_frame_stacks():
    space = gym.spaces.Box(0, 255, (4, 2), np.uint8)
    buf = FrameReplayBuffer(16, space, gym.spaces.Discrete(2), CPU, 1, 4)
    obs = np.arange(8, dtype=np.uint8).reshape(1, 4, 2)  # not a frame repeated
    t = Transition(obs, np.zeros(1), np.zeros(1), obs, np.zeros(1, bool), np.zeros(1, bool))
    with pytest.raises(ValueError, match=r"set agent\.optimize_memory_usage=false"):
        buf.add(t, 0.99)


def test_frame_replay_survives_a_checkpoint():
    env = breakout(1)
    space = env.single_observation_space
    buf = FrameReplayBuffer(200, space, env.single_action_space, CPU, 1, 4)
    fill([buf], env, 60)
    fresh = FrameReplayBuffer(200, space, env.single_action_space, CPU, 1, 4)
    restore(fresh, capture(buf, skip=STRUCTURE))
    idx = np.arange(len(buf))
    assert torch.equal(buf.get(idx).next_obs, fresh.get(idx).next_obs)
    assert fresh.final.keys() == buf.final.keys()


def test_nature_cnn_is_mnih_et_al_2015():
    space = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    cnn = make_encoder(validate(compose_config("env=breakout")).encoder, space)  # auto
    assert isinstance(cnn, NatureCNN)
    # conv 8x8x4 -> 32, 4x4x32 -> 64, 3x3x64 -> 64 (20x20, 9x9, 7x7), then 3136 -> 512
    n = (8 * 8 * 4 * 32 + 32) + (4 * 4 * 32 * 64 + 64) + (3 * 3 * 64 * 64 + 64) + 3136 * 512 + 512
    assert sum(p.numel() for p in cnn.parameters()) == n == 1_684_128
    pixels = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    expected = cnn.linear(cnn.cnn(pixels.float() / 255))  # scaled once, in the encoder
    assert torch.allclose(cnn(pixels), expected)
    last = make_encoder(NatureCNNConfig(), gym.spaces.Box(0, 255, (84, 84, 4), np.uint8))
    last.load_state_dict(cnn.state_dict())
    assert torch.allclose(last(pixels.permute(0, 2, 3, 1)), expected)  # channels last


def test_orthogonal_init_fills_the_channels_last_convolutions():
    """The CNN keeps its convolutions channels-last in memory (oneDNN's fast path); SB3's
    orthogonal init must still give each layer orthogonal rows of norm `gain`."""
    cnn = NatureCNN(gym.spaces.Box(0, 255, (4, 84, 84), np.uint8))
    orthogonal_init(cnn, np.sqrt(2))
    for layer in [*cnn.cnn[::2][:3], cnn.linear[0]]:
        w = layer.weight.detach()
        if w.dim() == 4:
            assert w.is_contiguous(memory_format=torch.channels_last)
        rows = w.reshape(len(w), -1)
        assert torch.allclose(rows @ rows.T, 2.0 * torch.eye(len(w)), atol=1e-4)
        assert not layer.bias.detach().any()


@pytest.mark.parametrize("agent", ["dqn", "ppo", "a2c", "deep_option_critic"])
def test_agents_train_on_breakout_from_the_command_line(tmp_path, agent):
    extra = {
        "dqn": ["agent.learning_starts=100", "agent.buffer_size=1000"],
        "deep_option_critic": ["agent.learning_starts=100", "agent.buffer_size=1000"],
        "ppo": ["env.num_envs=2", "agent.n_steps=64", "agent.batch_size=64", "agent.n_epochs=1"],
        "a2c": ["env.num_envs=2"],
    }[agent]
    scalars = run_ok(
        f"agent={agent}",
        "env=breakout",
        "total_timesteps=256",
        *extra,
        "eval.every_steps=null",
        "eval.episodes=1",
        "eval.num_envs=1",
        "logger.log_every_steps=128",
        "logger.progress=false",
        run_dir=tmp_path / agent,
    )
    assert "eval/mean_return" in scalars
    loss = next(tag for tag in scalars if tag.startswith("losses/"))
    assert all(np.isfinite(v) for _, v in scalars[loss])


def test_atari_presets_are_the_zoos():
    dqn = validate(compose_config("agent=dqn", "env=pong"))
    assert dqn.agent.optimize_memory_usage and dqn.agent.net_arch == []
    assert (dqn.agent.buffer_size, dqn.agent.learning_starts, dqn.exploration.end) == (
        100_000,
        100_000,
        0.01,
    )
    ppo = validate(compose_config("agent=ppo", "env=breakout"))
    assert (ppo.env.num_envs, ppo.agent.n_steps, ppo.agent.batch_size, ppo.agent.n_epochs) == (
        8,
        128,
        256,
        4,
    )
    assert (ppo.agent.lr_schedule, ppo.agent.clip_range_schedule) == ("linear", "linear")
    a2c = validate(compose_config("agent=a2c", "env=atari", "env.id=ale_py:ALE/Pong-v5"))
    assert (a2c.env.num_envs, a2c.agent.vf_coef, a2c.agent.ent_coef) == (16, 0.25, 0.01)
    oc = validate(compose_config("agent=deep_option_critic", "env=pong"))  # the reference's
    assert (oc.agent.n_options, oc.agent.net_arch, oc.agent.target_update_interval) == (
        8,
        [],
        10_000,
    )
    assert (oc.agent.buffer_size, oc.exploration.decay_steps) == (1_000_000, 3_000_000)


def test_videos_record_a_whole_game_not_one_life():
    """EpisodicLife ends the learner's episode at each lost life; a video (training's and
    rlrun-eval's) goes on to the end of the game, as the episode statistics count it."""
    from rlrun.video import record_episode

    rc = validate(compose_config("env=breakout"))
    frames, score = record_episode(FirstAction(), rc.env, seed=0, max_frames=10_000)  # type: ignore[arg-type]
    env = breakout(1)
    env.reset(seed=0)
    life = 0
    while True:  # the first life's length, NOOPs after the FIRE of FireReset
        life += 1
        _, _, terminated, truncated, _ = env.step(np.zeros(1, dtype=np.int64))
        if terminated[0] or truncated[0]:
            break
    assert len(frames) > 3 * life  # five lives
    assert score >= 0
