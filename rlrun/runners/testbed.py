"""The bandit testbed's loop (Sutton & Barto, 2nd ed., chapter 2): env.num_envs independent
problems stepped together for total_timesteps / env.num_envs steps each, one agent keeping every
problem's estimates. What it reports is the book's curves: at each step, the reward and whether
the optimal arm was pulled, averaged over the problems, each with its 95% confidence band.

In TensorBoard these curves are on the step of each problem (the book's x-axis), not on the
global env step other runs use; `curves.csv` in the run directory holds the same numbers. A run
takes seconds, so it keeps no checkpoints: one that is interrupted runs again from the start
(as a continued sweep does with a job without checkpoints).
"""

from __future__ import annotations

import io
import logging
import signal
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from rlrun.agents.base import Agent, check_compatible, make_agent
from rlrun.config.run import EnvConfig, RunConfig
from rlrun.errors import ConfigError, Interrupted, RlrunError
from rlrun.logger import TensorBoardLogger
from rlrun.records import EVAL_SCALARS, write_text
from rlrun.runners.base import EvalResult, Services, TrainResult, interrupts
from rlrun.runtime import seed_everything
from rlrun.transition import Spaces, Transition

log = logging.getLogger(__name__)

Z95 = 1.959963984540054  # two-sided 95% quantile of the standard normal


def mean_ci95(x: np.ndarray) -> tuple[float, float]:
    """Mean over the problems and the half-width of its normal 95% confidence interval."""
    n = len(x)
    half = Z95 * float(np.std(x, ddof=1)) / np.sqrt(n) if n > 1 else 0.0
    return float(np.mean(x)), half


def make_testbed(cfg: EnvConfig, num_envs: int) -> gym.vector.VectorEnv:
    """The env's batched form (its registered `vector_entry_point`): every copy its own problem,
    none of them ever truncated (the run length is the runner's)."""
    for key, value, why in (
        ("env.wrappers", cfg.wrappers, "the testbed's copies are stepped in one array"),
        (
            "env.max_episode_steps",
            cfg.max_episode_steps,
            "each problem runs total_timesteps / env.num_envs steps: set total_timesteps",
        ),
    ):
        if value:
            raise ConfigError(key, f"a testbed run takes none ({why}); remove it")
    try:
        return gym.make_vec(
            cfg.id,
            num_envs,
            vectorization_mode="vector_entry_point",
            max_episode_steps=None,
            **cfg.kwargs,
        )
    except gym.error.Error as e:
        raise ConfigError(
            "env.id",
            f"{cfg.id} has no batched testbed ({e}); bandit agents run on env=testbed, "
            "testbed_nonstationary or bernoulli_bandit",
        ) from None
    except (TypeError, ValueError) as e:
        raise ConfigError("env.kwargs", f"{cfg.id} rejected {dict(cfg.kwargs)}: {e}") from None


@dataclass
class Curves:
    """Per step of each problem: mean over problems and 95% half-width."""

    reward: np.ndarray
    reward_ci95: np.ndarray
    optimal: np.ndarray  # fraction of problems whose optimal arm was pulled
    optimal_ci95: np.ndarray

    @classmethod
    def empty(cls, steps: int) -> Curves:
        return cls(*(np.zeros(steps) for _ in range(4)))

    def csv(self, steps: int) -> str:
        out = io.StringIO()
        out.write("step,average_reward,average_reward_ci95,optimal_action,optimal_action_ci95\n")
        for t in range(steps):
            out.write(
                f"{t + 1},{self.reward[t]:.6g},{self.reward_ci95[t]:.6g},"
                f"{self.optimal[t]:.6g},{self.optimal_ci95[t]:.6g}\n"
            )
        return out.getvalue()


# TensorBoard tags: each curve with its band (a Custom Scalars margin chart shows them together)
CHARTS = {
    "average reward": "bandit/average_reward",
    "% optimal action": "bandit/optimal_action_pct",
}


def log_step(logger: TensorBoardLogger, curves: Curves, t: int) -> None:
    for tag, mean, half, scale in (
        (CHARTS["average reward"], curves.reward[t], curves.reward_ci95[t], 1.0),
        (CHARTS["% optimal action"], curves.optimal[t], curves.optimal_ci95[t], 100.0),
    ):
        logger.scalar(tag, scale * mean, t + 1)
        logger.scalar(f"{tag}_ci_low", scale * (mean - half), t + 1)
        logger.scalar(f"{tag}_ci_high", scale * (mean + half), t + 1)


class TestbedRunner:
    def __init__(
        self, cfg: RunConfig, agent: Agent, env: gym.vector.VectorEnv, services: Services
    ) -> None:
        self.cfg, self.agent, self.env = cfg, agent, env
        self.logger = services.logger
        self.run_dir = services.logger.run_dir
        self.steps = cfg.total_timesteps // env.num_envs  # of each problem
        self.curves = Curves.empty(self.steps)
        self.t = 0
        self._signal: int | None = None

    @classmethod
    def build(cls, rc: RunConfig, device: Any, services: Services) -> TestbedRunner:
        seed_everything(rc.seed)
        env = make_testbed(rc.env, rc.env.num_envs)
        spaces = Spaces.of(env, rc.total_timesteps)
        check_compatible(rc, spaces)
        return cls(rc, make_agent(rc, spaces, device), env, services)

    @property
    def step(self) -> int:
        return self.t * self.env.num_envs

    def train(self) -> TrainResult:
        cfg, agent, env, curves, n = self.cfg, self.agent, self.env, self.curves, self.env.num_envs
        run_reward = np.zeros(n)  # each problem's summed reward and optimal pulls
        run_optimal = np.zeros(n)
        start = time.perf_counter()
        obs, _ = env.reset(seed=cfg.seed)
        bar = tqdm(total=self.steps, unit="step", disable=not cfg.logger.progress)
        with interrupts(self._on_signal):
            for t in range(self.steps):
                action = agent.act(obs, explore=True)
                next_obs, reward, terminated, truncated, infos = env.step(action)
                self.t = t + 1
                agent.observe(
                    Transition(obs, action, reward, next_obs, terminated, truncated), self.step
                )
                agent.update(self.step)
                obs = next_obs
                best = infos["optimal_action"].astype(np.float64)
                run_reward += reward
                run_optimal += best
                curves.reward[t], curves.reward_ci95[t] = mean_ci95(reward)
                curves.optimal[t], curves.optimal_ci95[t] = mean_ci95(best)
                log_step(self.logger, curves, t)
                bar.update()
                if self._signal is not None and t + 1 < self.steps:
                    bar.close()
                    raise Interrupted(self._signal)
        bar.close()
        wall = time.perf_counter() - start
        self.logger.scalar("charts/SPS", self.step / wall, self.step)
        self.logger.margin_charts(
            "bandit", {k: (v, f"{v}_ci_low", f"{v}_ci_high") for k, v in CHARTS.items()}
        )
        write_text(self.run_dir / "curves.csv", curves.csv(self.steps))
        per_step = run_reward / self.steps  # each problem's average reward
        optimal_rate = float(run_optimal.sum() / (n * self.steps))
        ev = EvalResult(
            mean_return=float(per_step.mean()),
            std_return=float(per_step.std()),
            mean_length=float(self.steps),
            success_rate=optimal_rate,
            episodes=n,
        )
        mean, half = mean_ci95(per_step)
        log.info(
            "%d problems x %d steps: average reward %.4f +/- %.4f (95%%), optimal action %.1f%%, "
            "last step %.4f and %.1f%%; curves in %s",
            n,
            self.steps,
            mean,
            half,
            100 * optimal_rate,
            curves.reward[-1],
            100 * curves.optimal[-1],
            self.run_dir / "curves.csv",
        )
        for name in EVAL_SCALARS:
            self.logger.scalar(f"eval/{name}", getattr(ev, name), self.step)
        return TrainResult(
            steps=self.step,
            episodes=n,
            wall_time_s=wall,
            sps=self.step / wall,
            final_eval=ev,
            best_eval_mean_return=ev.mean_return,
            evaluations=[(self.step, round(wall, 3), ev.mean_return)],
        )

    def _on_signal(self, signum: int) -> None:
        if self._signal is not None:
            raise Interrupted(signum)
        self._signal = signum
        log.warning("%s: stopping after this step", signal.Signals(signum).name)

    def load_checkpoint(self, ckpt: dict[str, Any]) -> None:
        raise RlrunError("a testbed run keeps no checkpoints (it takes seconds): run it again")
