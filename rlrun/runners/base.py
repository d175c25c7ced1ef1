"""What every runner shares: how a run's result is reported, deterministic evaluation, the
services it is given (logging, checkpoints, videos, an evaluation callback), and signal handling.

A runner drives agents through their episodes: the online single-agent loop today
(`online.py`); a multi-agent loop and an offline loop (learning from demonstrations) sit beside
it, chosen by the agent's registered `runner`, built by `experiment.build` with the same services.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from rlrun.agents.base import Agent
from rlrun.checkpoint import Checkpoints
from rlrun.config.run import EnvConfig, RunConfig
from rlrun.envs.vector import episode_metrics, finished, is_success
from rlrun.errors import ConfigError, requeue_handler
from rlrun.logger import TensorBoardLogger
from rlrun.video import VideoRecorder


@dataclass
class EvalResult:
    mean_return: float
    std_return: float
    mean_length: float
    success_rate: float | None
    episodes: int
    metrics: dict[str, float] = field(default_factory=dict)  # env.episode_metrics, averaged


@dataclass
class TrainResult:
    steps: int = 0
    episodes: int = 0
    wall_time_s: float = 0.0
    sps: float = 0.0
    final_eval: EvalResult | None = None
    best_eval_mean_return: float | None = None
    # (env step, seconds since training started, mean return) of every evaluation
    evaluations: list[tuple[int, float, float]] = field(default_factory=list)
    # set when an `on_eval` callback (e.g. a search's pruner) ended the run early
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_eval_spaces(train: tuple[Any, Any], evaluation: tuple[Any, Any]) -> None:
    """Refuse `eval.env_kwargs` that change the (observation, action) spaces (an agent's, or
    each agent's of a multi-agent env)."""
    for what, train_space, eval_space in zip(
        ("observation", "action"), train, evaluation, strict=True
    ):
        if train_space != eval_space:
            raise ConfigError(
                "eval.env_kwargs",
                f"the evaluation env's {what}s are {eval_space}, training's {train_space}: "
                "it may change the data evaluated on, not the spaces",
            )


def episode_shares(episodes: int, num_envs: int) -> np.ndarray:
    """How many of `episodes` each of `num_envs` evaluation envs runs (as even as can be)."""
    return np.array([(episodes + i) // num_envs for i in range(num_envs)])


def evaluate(
    agent: Agent,
    env: gym.vector.VectorEnv,
    episodes: int,
    seed: int,
    env_cfg: EnvConfig,
) -> EvalResult:
    """Run `episodes` deterministic episodes on `env`, reseeded with `seed` every time; success
    and `episode_metrics` as `env_cfg` defines them.

    Each env runs a fixed share of the episodes (as Stable-Baselines3's evaluate_policy does), so
    faster-ending episodes are not over-represented.
    """
    n = env.num_envs
    targets = episode_shares(episodes, n)
    counts = np.zeros(n, dtype=int)
    returns: list[float] = []
    lengths: list[int] = []
    successes: list[bool] = []
    metrics: dict[str, list[float]] = {key: [] for key in env_cfg.episode_metrics}
    obs, _ = env.reset(seed=seed)
    agent.end_episodes(np.ones(n, dtype=bool))
    while (counts < targets).any():
        obs, reward, terminated, _truncated, infos = env.step(agent.act(obs, explore=False))
        done = finished(infos)
        if done is None:
            continue
        agent.end_episodes(done.envs)
        success = is_success(env_cfg.success, reward, terminated, done)
        values = episode_metrics(env_cfg.episode_metrics, env_cfg.id, done)
        for i in np.flatnonzero(done.envs & (counts < targets)):
            returns.append(float(done.returns[i]))
            lengths.append(int(done.lengths[i]))
            if success is not None:
                successes.append(bool(success[i]))
            for key, value in values.items():
                metrics[key].append(float(value[i]))
            counts[i] += 1
    return EvalResult(
        mean_return=float(np.mean(returns)),
        std_return=float(np.std(returns)),
        mean_length=float(np.mean(lengths)),
        success_rate=float(np.mean(successes)) if successes else None,
        episodes=len(returns),
        metrics={key: float(np.mean(v)) for key, v in metrics.items()},
    )


@dataclass
class Services:
    """What `experiment.build` gives every runner: where to log, checkpoint and record videos, and
    `on_eval(step, result)`, called after each periodic evaluation, which stops training there by
    returning True (the final evaluation still runs), as a pruned search trial needs."""

    logger: TensorBoardLogger
    checkpoints: Checkpoints | None = None
    on_eval: Callable[[int, EvalResult], bool] | None = None
    recorder: VideoRecorder | None = None


class Runner(Protocol):
    """A training loop: built from the config, trained to the end, resumable from a checkpoint."""

    @property
    def step(self) -> int:
        """Env steps taken so far (where a resume would continue from)."""
        ...

    @classmethod
    def build(cls, rc: RunConfig, device: Any, services: Services) -> Runner: ...

    def train(self) -> TrainResult: ...

    def load_checkpoint(self, ckpt: dict[str, Any]) -> None: ...


@contextlib.contextmanager
def interrupts(handler: Callable[[int], None]) -> Iterator[None]:
    """Route SIGINT and SIGTERM to `handler` while training (main thread only: elsewhere, e.g.
    in a Ray worker, Python cannot install signal handlers and the defaults stay); SIGUSR2 too
    when a scheduler handles it (`requeue_handler`), so the run checkpoints before the scheduler
    requeues it (`rlrun.cli.app` hands the signal on once the run's records are written)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signums = [signal.SIGINT, signal.SIGTERM]
    if requeue_handler() is not None:
        signums.append(signal.SIGUSR2)
    previous = {n: signal.signal(n, lambda n, _frame: handler(n)) for n in signums}
    try:
        yield
    finally:
        for n, h in previous.items():
            signal.signal(n, h)
