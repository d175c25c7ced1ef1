"""Videos of deterministic episodes: a file in the run directory and an animated image in
TensorBoard (its Images tab plays GIFs; `add_video` would need moviepy 1.x, see shared/STACK.md)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rlrun.agents.base import Agent
from rlrun.agents.team import Team
from rlrun.config.run import EnvConfig, VideoConfig
from rlrun.envs.vector import make_kwargs, wrap_env
from rlrun.errors import ConfigError

if TYPE_CHECKING:
    from rlrun.envs.multiagent import ParallelVectorEnv

# pygame renders off-screen on machines without a display
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

TB_MAX_SIDE = 320  # TensorBoard gets a smaller copy: a GIF of full-size frames is megabytes


def render_env(env_cfg: EnvConfig, seed: int) -> tuple[gym.Env, Any, np.ndarray]:
    """The env made to render RGB frames, reset: (env, first observation, first frame)."""
    try:
        with warnings.catch_warnings():  # "render_mode not in render_modes": ours says more
            warnings.simplefilter("ignore", UserWarning)
            env = wrap_env(
                gym.make(env_cfg.id, render_mode="rgb_array", **make_kwargs(env_cfg)), env_cfg
            )
        obs, _ = env.reset(seed=seed)
        frame = env.render()
    except (gym.error.Error, TypeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(
            "video", f"{env_cfg.id} cannot render RGB frames ({first[:150]})"
        ) from None
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        env.close()
        raise ConfigError("video", f"{env_cfg.id} renders no RGB frames in rgb_array mode")
    return env, obs, frame


def render_parallel_env(env_cfg: EnvConfig, seed: int) -> tuple[ParallelVectorEnv, Any, np.ndarray]:
    """One copy of a PettingZoo env made to render RGB frames, reset, without autoreset:
    (env, first observations, first frame)."""
    from rlrun.envs.multiagent import ParallelVectorEnv, parallel_env_factory

    try:
        make = parallel_env_factory(env_cfg.id, {**env_cfg.kwargs, "render_mode": "rgb_array"})
    except ConfigError as e:
        raise ConfigError("video", f"{env_cfg.id} cannot render RGB frames ({e})") from None
    env = ParallelVectorEnv(make, 1, autoreset=False)
    obs, _ = env.reset(seed=seed)
    frame = env.envs[0].render()
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        env.close()
        raise ConfigError("video", f"{env_cfg.id} renders no RGB frames in rgb_array mode")
    return env, obs, frame


def record_episode(
    agent: Agent | Team, env_cfg: EnvConfig, seed: int, max_frames: int
) -> tuple[list[np.ndarray], float]:
    """The frames of one deterministic episode (at most `max_frames`) and its return (the env's
    own reward, as the episode statistics record it beneath any `env.wrappers`). The episode is
    the statistics' one: a whole Atari game, where the learner's episodes end at each lost life
    (EpisodicLife) and the game goes on after a reset. For a multi-agent env, the team's
    episode and its team return (the mean of the agents')."""
    if env_cfg.api == "pettingzoo":
        assert isinstance(agent, Team)
        return record_team_episode(agent, env_cfg, seed, max_frames)
    assert not isinstance(agent, Team)
    env, obs, frame = render_env(env_cfg, seed)
    one = np.ones(1, dtype=bool)
    agent.end_episodes(one)
    try:
        frames = [frame]
        total = None
        while total is None and len(frames) < max_frames:
            action = agent.act(np.asarray(obs)[None], explore=False)[0]
            obs, _, terminated, truncated, info = env.step(action)
            frames.append(np.asarray(env.render()))
            if "episode" in info:
                total = float(info["episode"]["r"])
            elif terminated or truncated:
                obs, _ = env.reset()
                agent.end_episodes(one)
        if total is None:  # cut at max_frames
            total = float(env.get_wrapper_attr("episode_returns"))
    finally:
        env.close()
    return [np.asarray(f, dtype=np.uint8) for f in frames], total


def record_team_episode(
    team: Team, env_cfg: EnvConfig, seed: int, max_frames: int
) -> tuple[list[np.ndarray], float]:
    env, obs, frame = render_parallel_env(env_cfg, seed)
    team.end_episodes(np.ones(1, dtype=bool))
    try:
        frames, returns = [frame], np.zeros(len(env.agents))
        while len(frames) < max_frames:
            j = env.step(team.act(obs, explore=False))
            obs, returns = j.obs, j.returns[0]  # the episode's so far, each agent's
            frames.append(np.asarray(env.envs[0].render()))
            if j.ended[0]:
                break
        total = float(returns.mean())
    finally:
        env.close()
    return [np.asarray(f, dtype=np.uint8) for f in frames], total


def write_video(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    """A GIF or (with imageio-ffmpeg) an MP4, chosen by the suffix of `path`."""
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise ConfigError(
                "video.format",
                'mp4 needs imageio-ffmpeg: pip install "rlrun[video]", or use gif',
            ) from None
        iio.imwrite(path, np.stack(frames), plugin="FFMPEG", fps=fps, macro_block_size=1)
    else:
        iio.imwrite(path, np.stack(frames), extension=".gif", duration=1000 / fps, loop=0)
    return path


def gif_bytes(frames: list[np.ndarray], fps: int, max_side: int = TB_MAX_SIDE) -> bytes:
    import imageio.v3 as iio

    stride = max(1, -(-max(frames[0].shape[:2]) // max_side))
    small = np.stack([f[::stride, ::stride] for f in frames])
    return iio.imwrite("<bytes>", small, extension=".gif", duration=1000 / fps, loop=0)


class VideoRecorder:
    """`video.every_steps` during training: videos/step_<N>.<format> and TensorBoard's
    `videos/eval` image at step N."""

    def __init__(
        self,
        cfg: VideoConfig,
        env_cfg: EnvConfig,
        seed: int,
        run_dir: Path,
        logger: Any,
    ) -> None:
        self.cfg, self.env_cfg, self.seed = cfg, env_cfg, seed
        self.dir = run_dir / "videos"
        self.logger = logger
        # an env that cannot render fails before training
        render = render_parallel_env if env_cfg.api == "pettingzoo" else render_env
        render(env_cfg, seed)[0].close()

    def record(self, agent: Agent | Team, step: int) -> Path:
        frames, _ = record_episode(agent, self.env_cfg, self.seed, self.cfg.max_frames)
        path = write_video(self.dir / f"step_{step}.{self.cfg.format}", frames, self.cfg.fps)
        self.logger.gif("videos/eval", gif_bytes(frames, self.cfg.fps), step)
        return path
