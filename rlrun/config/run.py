"""The schema of a whole run: the env, evaluation, checkpoints, videos, logging, and the
components (agent, exploration, bonus, encoder) chosen from the registries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from omegaconf import MISSING

from rlrun.config.fields import param
from rlrun.config.registry import AgentConfig, BonusConfig, EncoderConfig, ExplorationConfig

SUCCESS_RULES = ("terminated", "positive_reward", "is_success")
VECTORIZATIONS = ("sync", "async")
APIS = ("gymnasium", "pettingzoo")


@dataclass
class EnvConfig:
    name: str = "custom"
    id: str = MISSING
    # gymnasium: a registered id, one agent; pettingzoo: a parallel (or parallelizable AEC) env
    # by import path, `module:function` or a module with `parallel_env`, one learner per agent
    api: str = param("gymnasium", choices=APIS)
    kwargs: dict[str, Any] = field(default_factory=dict)
    num_envs: int = param(1, gt=0)
    max_episode_steps: int | None = param(None, gt=0)  # overrides the registered time limit
    # Gymnasium wrappers applied to each sub-env, in order: {_target_: module.Class, **kwargs}.
    # Episode statistics are recorded beneath them, on the env's own reward.
    wrappers: list[dict[str, Any]] = field(default_factory=list)
    # sync: all sub-envs in this process; async: one process each (for envs slow to step)
    vectorization: str = param("sync", choices=VECTORIZATIONS)
    # How an episode counts as a success for eval/success_rate: terminated (reached the goal),
    # positive_reward (last reward > 0, e.g. FrozenLake), is_success (info key); null: none.
    success: str | None = param(None, choices=(*SUCCESS_RULES, None))
    # Info keys the env sets on an episode's last step (a trading env's Sharpe ratio, ...): logged
    # per training episode as charts/<key> and, averaged over the evaluation episodes, eval/<key>.
    episode_metrics: list[str] = field(default_factory=list)


@dataclass
class EvalConfig:
    every_steps: int | None = param(10_000, gt=0)  # null: only the final evaluation
    episodes: int = param(10, gt=0)
    num_envs: int = param(8, gt=0)  # eval episodes run this many at a time
    seed: int | None = param(None, ge=0)  # default: the run's seed + 10_000, apart from training
    # Merged over env.kwargs for the evaluation envs only: out-of-sample dates, held-out layouts.
    env_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckpointConfig:
    # checkpoints/step_<N>.pt every this many env steps, and last.pt at the end; null: end only
    every_steps: int | None = param(10_000, gt=0)
    keep: int = param(3, ge=1)  # how many step_<N>.pt files to keep (last.pt is one of them)
    save_replay_buffer: bool = False  # with it, a resumed run is bit-identical to a straight one
    best: bool = True  # best.pt: the agent at its best evaluation (the final one included)


VIDEO_FORMATS = ("gif", "mp4")


@dataclass
class VideoConfig:
    every_steps: int | None = param(None, gt=0)  # record an eval episode this often
    format: str = param("gif", choices=VIDEO_FORMATS)  # mp4 needs `pip install rlrun[video]`
    fps: int = param(30, gt=0)
    max_frames: int = param(1_000, gt=0)


@dataclass
class LoggerConfig:
    log_every_steps: int = param(1_000, gt=0)  # losses and charts are averaged over this window
    progress: bool = True  # console progress bar


@dataclass
class SweepConfig:
    # the same `rlrun -m` command and hydra.sweep.dir again: jobs that failed run again (true), or
    # are left as they were (false); finished jobs are skipped, interrupted ones resume
    rerun_failed: bool = True


@dataclass
class RunConfig:
    agent: AgentConfig
    env: EnvConfig
    exploration: ExplorationConfig
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    bonus: BonusConfig | None = None  # an intrinsic reward for learning; null: none
    seed: int = param(0, ge=0)
    device: str = "auto"
    total_timesteps: int = param(100_000, gt=0)
    torch_threads: int = param(1, gt=0)
    eval: EvalConfig = field(default_factory=EvalConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    resume: str | None = None  # a run directory to continue from its latest checkpoint, or a .pt
    demos: str | None = None  # demonstrations (rlrun-demos' file) for a learner that takes them
    reward: str | None = None  # learn from an inverse-RL run's recovered reward, not the env's
    # Multi-agent envs: per-agent overrides of the agent config, {agent_0: {learning_rate: 0.1}}
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def multiagent(self) -> bool:
        return self.env.api == "pettingzoo"

    @property
    def eval_seed(self) -> int:
        """Evaluation envs (and videos) are seeded apart from the training envs."""
        return self.eval.seed if self.eval.seed is not None else self.seed + 10_000

    @property
    def eval_env(self) -> EnvConfig:
        """The env config evaluation (and rlrun-eval, videos) builds its envs from."""
        if not self.eval.env_kwargs:
            return self.env
        return replace(self.env, kwargs={**self.env.kwargs, **self.eval.env_kwargs})


# What a resumed run (or a continued sweep's job) may change; anything else must match.
RESUMABLE = (
    "total_timesteps",
    "eval",
    "logger",
    "checkpoint",
    "video",
    "device",
    "torch_threads",
)

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
