"""Videos of deterministic episodes: a file in the run directory and an animated image in
TensorBoard (its Images tab plays GIFs; `add_video` would need moviepy 1.x, see shared/STACK.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlrun.agents.base import Agent
from rlrun.envs import make_kwargs
from rlrun.errors import ConfigError
from rlrun.schema import EnvConfig, VideoConfig

# pygame renders off-screen on machines without a display
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

TB_MAX_SIDE = (
    320  # TensorBoard gets a smaller copy: a GIF of full-size frames is megabytes
)


def record_episode(
    agent: Agent, env_cfg: EnvConfig, seed: int, max_frames: int
) -> tuple[list[np.ndarray], float]:
    """The frames of one deterministic episode (at most `max_frames`) and its return."""
    try:
        env = gym.make(env_cfg.id, render_mode="rgb_array", **make_kwargs(env_cfg))
    except gym.error.Error as e:
        raise ConfigError("video", f"{env_cfg.id} cannot render: {e}") from None
    try:
        obs, _ = env.reset(seed=seed)
        frames = [env.render()]
        total, done = 0.0, False
        while not done and len(frames) < max_frames:
            action = agent.act(np.asarray(obs)[None], explore=False)[0]
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            frames.append(env.render())
            done = terminated or truncated
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
        iio.imwrite(
            path, np.stack(frames), plugin="FFMPEG", fps=fps, macro_block_size=1
        )
    else:
        iio.imwrite(
            path, np.stack(frames), extension=".gif", duration=1000 / fps, loop=0
        )
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

    def record(self, agent: Agent, step: int) -> Path:
        frames, _ = record_episode(agent, self.env_cfg, self.seed, self.cfg.max_frames)
        path = write_video(
            self.dir / f"step_{step}.{self.cfg.format}", frames, self.cfg.fps
        )
        self.logger.gif("videos/eval", gif_bytes(frames, self.cfg.fps), step)
        return path
